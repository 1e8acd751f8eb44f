"""Regenerate the paper-profile results of Figure 2 (Golikov 2020a, arXiv:2003.05884): one command, one small JSON file.

Three panels, each a sweep over widths x {MF, NTK, SP} x seeds: deep bias-free nets with leaky ReLU 0.1, CIFAR2
training subset of 1000, every test image of the data source, full batch, 50 steps, reference width 128.

* ``gd_2``: 2 hidden layers, GD, reference learning rate 0.02, widths 2^7 ... 2^14;
* ``gd_3``: 3 hidden layers, GD, 0.02, widths 2^7 ... 2^13;
* ``rmsprop_3``: 3 hidden layers, RMSProp (PyTorch defaults), 0.0002, widths 2^7 ... 2^13.

Train and test loss and accuracy and the hat-weight moves of every layer are recorded at every step, plus the
RMS test logit at every step and, for every width, the factor by which PyTorch's RMSProp epsilon shrinks the
first step of each layer. Usage, from the repository root::

    python scripts/run_figure2.py                                      # the paper profile (a GPU job)
    python scripts/run_figure2.py --max-log2-width 11 --note "CPU run"   # widest widths a CPU allows
    python scripts/run_figure2.py --max-log2-width 8 --seeds 2 --out /tmp/figure2_small.json   # a test run

``--max-log2-width`` caps every panel. Finished widths are cached (``$WIDTHLIMITS_CACHE``), so an interrupted
run resumes where it stopped. The file records the command, the device, the library and JAX versions, the date,
the settings actually run, whether they are the paper's, and the time each width took; the book's chapter
"Reproducing Figure 2" loads it from the package with ``widthlimits.results_files.load_panels``, which checks it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from _provenance import device_description, run_record, write_atomic

from widthlimits import data, experiments, models, optimizers, profiles, results_files, scalings, training

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "lib" / "widthlimits" / "_assets" / "figure2_paper.json"
#: name -> (hidden layers, optimiser, log2 of the widest width in the paper)
PANELS = {"gd_2": (2, "gd", 14), "gd_3": (3, "gd", 13), "rmsprop_3": (3, "rmsprop", 13)}
FAMILY_NAMES = {"MF": "mf", "NTK": "ntk", "SP": "sp"}
FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "hat_distance")


def rounded(a, digits: int = 6) -> list:
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"))(np.asarray(a, dtype=float)).tolist()


@functools.partial(jax.jit, static_argnames=("mlp", "width"))
def _first_step_eps_factor(mlp, width, scaling, key, x, y):
    """Per layer, :func:`~widthlimits.optimizers.rmsprop_eps_factor` of the gradient at init (1: eps negligible)."""
    p0 = models.init(mlp, width, scaling, key=key)
    g = jax.grad(lambda p: training.logistic_loss(models.apply_batch(mlp, p, x), y))(p0)
    return optimizers.rmsprop_eps_factor(g)


def run_panel(name: str, widths: list[int], seeds: list[int], n_steps: int, ds, precision: str) -> dict:
    depth, optimizer, _ = PANELS[name]
    mlp = models.MLP(depth=depth)
    families = {k: scalings.preset(v, optimizer=optimizer) for k, v in FAMILY_NAMES.items()}
    sw = experiments.sweep(mlp, widths, families, ds, seeds=seeds, n_steps=n_steps, precision=precision)
    panel = experiments.sweep_to_json(
        sw,
        fields=FIELDS,
        meta=dict(
            depth=depth,
            optimizer=optimizer,
            ref_lr=scalings.REF_LR[optimizer],
            families={k: dataclasses.asdict(s) for k, s in families.items()},
            timing=dict(per_width_seconds=list(sw.seconds), cached_widths=list(sw.cached)),
            diverged=sw.diverged(),
        ),
    )
    logits = np.asarray(sw.history.test_logits, dtype=np.float64)  # (W, K, 1, S, T+1, n_test)
    panel["extra"] = dict(test_logit_rms=rounded(np.sqrt(np.mean(logits**2, axis=-1))))
    if optimizer == "rmsprop":  # only seed 0 and the MF family: one gradient per width
        x, y = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
        factors = [_first_step_eps_factor(mlp, w, families["MF"], jax.random.PRNGKey(seeds[0]), x, y) for w in widths]
        panel["extra"]["mf_eps_factor_seed0"] = rounded(np.stack(factors))
    return panel


def main(argv=None) -> Path:
    paper = profiles.get("paper")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-log2-width", type=int, default=7)
    ap.add_argument("--max-log2-width", type=int, default=14, help="caps every panel (the paper: 14, 13, 13)")
    ap.add_argument("--seeds", type=int, default=paper.n_seeds)
    ap.add_argument("--steps", type=int, default=paper.n_steps)
    ap.add_argument("--n-train", type=int, default=paper.n_train)
    ap.add_argument("--panels", default=",".join(PANELS), help=f"comma-separated subset of {list(PANELS)}")
    ap.add_argument("--precision", default="highest", help="matmul precision (see widthlimits.training.PRECISIONS)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--note", default="", help="free text stored in the file")
    args = ap.parse_args(argv)
    names = [p for p in args.panels.split(",") if p]
    if not names or any(p not in PANELS for p in names):
        ap.error(f"--panels must be a comma-separated subset of {list(PANELS)}, got {args.panels!r}")
    if not 1 <= args.min_log2_width <= args.max_log2_width:
        ap.error("--min-log2-width must be >= 1 and <= --max-log2-width")

    ds = data.load_cifar2(args.n_train, paper.n_test)
    seeds = list(range(args.seeds))
    widths = {p: [2**k for k in range(args.min_log2_width, min(PANELS[p][2], args.max_log2_width) + 1)] for p in names}
    is_paper = (
        names == list(PANELS)
        and all(widths[p] == [2**k for k in range(7, PANELS[p][2] + 1)] for p in names)
        and args.seeds == paper.n_seeds
        and args.steps == paper.n_steps
        and args.n_train == paper.n_train
    )
    device = device_description()  # before the run: its load average is the one at the start
    start = time.perf_counter()
    panels = {}
    for p in names:
        print(f"panel {p}: widths {widths[p]}", flush=True)
        panels[p] = run_panel(p, widths[p], seeds, args.steps, ds, args.precision)
    total = time.perf_counter() - start
    meta = dict(
        **run_record("run_figure2.py", argv, device),
        settings=dict(
            widths=widths,
            seeds=seeds,
            n_steps=args.steps,
            n_train=len(ds.y_train),
            n_test=len(ds.y_test),
            ref_width=scalings.REF_WIDTH,
            activation="leaky_relu",
            negative_slope=models.MLP().negative_slope,
            data=data.fingerprint(ds),
            data_source=os.environ.get(data.ENV_FILE) or "bundled",
            precision=args.precision,
        ),
        paper_profile=is_paper,
        note=args.note
        or ("" if is_paper else "REDUCED settings (not the paper profile): a stand-in until the full run is made"),
        timing=dict(total_seconds=total),
    )
    blob = json.dumps(dict(format=results_files.PANELS_FORMAT, meta=meta, panels=panels), separators=(",", ":"))
    results_files.panels_from_json(json.loads(blob))  # the chapter's reader accepts it, or nothing is written
    write_atomic(args.out, blob + "\n")  # never a half-written results file
    print(f"{len(names)} panels in {total:.0f} s -> {args.out} ({len(blob) / 1e6:.2f} MB)")
    for p in names:
        for w, sec, hit in zip(widths[p], *panels[p]["meta"]["timing"].values()):
            print(f"  {p} width {w:6d}: {sec:8.1f} s{' (from cache)' if hit else ''}")
    return args.out


if __name__ == "__main__":
    main()
