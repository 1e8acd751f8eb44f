"""Regenerate the paper-profile results of Figure 1 (Golikov 2020a, arXiv:2003.05884): one command, one small JSON file.

The sweep: one hidden layer, leaky ReLU 0.1, CIFAR2 training subset of 1000, every test image of the data
source, full-batch GD for 50 steps, reference width 128 with reference learning rate 0.02, the MF, NTK and
intermediate (q_sigma = -3/4) scalings, widths 2^7 ... 2^16, 5 seeds. Train and test loss and accuracy, and the
hat-weight moves of both layers, are recorded at every step. Usage, from the repository root::

    python scripts/run_figure1.py      # the paper profile (52 min on an idle 2-core AVX-512 CPU)
    python scripts/run_figure1.py --max-log2-width 10 --seeds 2 --out /tmp/figure1_small.json   # a test run

Finished widths are cached (``$WIDTHLIMITS_CACHE``), so an interrupted run resumes where it stopped. The file
records the command, the device, the library and JAX versions, the date, the settings, whether they are the
paper's, and the time each width took; the book's chapter "Reproducing Figure 1" loads it from the package.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

from _provenance import device_description, run_record, write_atomic

from widthlimits import data, experiments, models, profiles, scalings

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "lib" / "widthlimits" / "_assets" / "figure1_paper.json"
FAMILIES = {"MF": scalings.preset("mf"), "NTK": scalings.preset("ntk"), "intermediate": scalings.preset("intermediate")}
FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "hat_distance")


def main(argv=None) -> Path:
    paper = profiles.get("paper")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-log2-width", type=int, default=7)
    ap.add_argument("--max-log2-width", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=paper.n_seeds)
    ap.add_argument("--steps", type=int, default=paper.n_steps)
    ap.add_argument("--n-train", type=int, default=paper.n_train)
    ap.add_argument("--precision", default="highest", help="matmul precision (see widthlimits.training.PRECISIONS)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--note", default="", help="free text stored in the file")
    args = ap.parse_args(argv)

    ds = data.load_cifar2(args.n_train, paper.n_test)
    mlp = models.MLP()
    widths = [2**k for k in range(args.min_log2_width, args.max_log2_width + 1)]
    seeds = list(range(args.seeds))
    settings = dict(
        widths=widths,
        seeds=seeds,
        n_steps=args.steps,
        n_train=len(ds.y_train),
        n_test=len(ds.y_test),
        ref_lr=scalings.REF_LR["gd"],
        ref_width=scalings.REF_WIDTH,
        families={name: dataclasses.asdict(s) for name, s in FAMILIES.items()},
        mlp=dataclasses.asdict(mlp),
        data=data.fingerprint(ds),
        data_source=os.environ.get(data.ENV_FILE) or "bundled",
        precision=args.precision,
    )
    is_paper = widths == list(paper.widths) and args.seeds == paper.n_seeds and args.steps == paper.n_steps
    device = device_description()  # before the run: its load average is the one at the start
    start = time.perf_counter()
    sw = experiments.sweep(
        mlp, widths, FAMILIES, ds, seeds=seeds, n_steps=args.steps, precision=args.precision, progress=True
    )
    total = time.perf_counter() - start
    meta = dict(
        **run_record("run_figure1.py", argv, device),
        settings=settings,
        paper_profile=is_paper,
        note=args.note
        or ("" if is_paper else "REDUCED settings (not the paper profile): a stand-in until the full run is made"),
        timing=dict(total_seconds=total, per_width_seconds=list(sw.seconds), cached_widths=list(sw.cached)),
        diverged=sw.diverged(),
    )
    blob = json.dumps(experiments.sweep_to_json(sw, fields=FIELDS, meta=meta), separators=(",", ":"))
    experiments.sweep_from_json(json.loads(blob))  # the chapter's reader accepts it, or nothing is written
    write_atomic(args.out, blob + "\n")  # never a half-written results file
    print(f"{len(widths)} widths x {len(FAMILIES)} families x {len(seeds)} seeds in {total:.0f} s -> {args.out}")
    for w, sec, hit in zip(widths, sw.seconds, sw.cached):
        print(f"  width {w:6d}: {sec:8.1f} s{' (from cache)' if hit else ''}")
    return args.out


if __name__ == "__main__":
    main()
