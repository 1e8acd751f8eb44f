"""Benchmark: the Figure 1 sweep with ``widthlimits`` against a straightforward PyTorch loop.

Both sides train the same nets (same initial draw, same scalings, same data, full-batch GD on the logistic
loss, train and test loss/accuracy recorded at every step) in one process, on the same device, in float32 with
TF32 disabled, interleaved width by width so that load from other processes hits both alike:

* **PyTorch** in the style of the papers' reference code: one run at a time, ``nn.Linear`` layers, a Python
  loop over steps, autograd and ``torch.optim.SGD`` with one parameter group per layer.
* **widthlimits**: ``experiments.sweep`` (one compiled program per width, every run of that width vmapped,
  steps under ``lax.scan``, the exact Gram-matrix engine). Each width is run twice: the first call includes
  compilation (measured with ``jax.monitoring``), the second does not; compile time is reported separately.

The script checks that both give the same losses and accuracies within tolerance, and writes
``benchmarks/results/<name>.json``. Usage (from the repository root)::

    pip install -r benchmarks/requirements.txt
    python benchmarks/figure1_benchmark.py                      # widths 2^7..2^11, 2 seeds, 50 steps
    python benchmarks/figure1_benchmark.py --max-log2-width 9   # a quick smoke run
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np
import torch

import widthlimits
from widthlimits import data, experiments, models, scalings

FAMILIES = {"MF": "mf", "NTK": "ntk", "intermediate": "intermediate"}
LOSS_TOL, ACC_TOL = 1e-4, 2.5e-3  # float32 rounding over 50 steps; accuracy: at most 2 of 1000 points flip


class FCNet(torch.nn.Module):
    """The reference code's bias-free one-hidden-layer net with leaky ReLU(0.1) and one logit."""

    def __init__(self, width: int, n_in: int):
        super().__init__()
        self.input_layer = torch.nn.Linear(n_in, width, bias=False)
        self.output_layer = torch.nn.Linear(width, 1, bias=False)

    def forward(self, x):
        return self.output_layer(torch.nn.functional.leaky_relu(self.input_layer(x), 0.1)).view(-1)


def torch_run(width, scaling, seed, ds, n_steps, device):
    """One run, one step at a time: returns ``(4, n_steps + 1)`` train/test loss and accuracy at every step."""
    mlp = models.MLP()
    hp = scalings.hyperparams(scaling, width)
    p = models.init_reference(mlp, width, key=jax.random.PRNGKey(seed))  # the draw widthlimits uses
    net = FCNet(width, mlp.n_in).to(device)
    with torch.no_grad():
        net.input_layer.weight.copy_(torch.from_numpy(np.array(p["w"])))
        net.output_layer.weight.copy_(torch.from_numpy(float(hp.init_factor) * np.array(p["a"]))[None])
    opt = torch.optim.SGD(
        [
            {"params": net.input_layer.parameters(), "lr": float(hp.lr_w)},
            {"params": net.output_layer.parameters(), "lr": float(hp.lr_a)},
        ],
        lr=float(hp.lr_w),
    )
    x, y, xt, yt = (torch.from_numpy(np.asarray(a)).to(device) for a in ds)
    bce = torch.nn.BCEWithLogitsLoss()
    out = np.zeros((4, n_steps + 1))
    for step in range(n_steps + 1):
        logits = net(x)
        loss = bce(logits, y)
        with torch.no_grad():
            logits_t = net(xt)
            out[:, step] = [
                loss.item(),
                ((2 * y - 1) * logits > 0).float().mean().item(),
                bce(logits_t, yt).item(),
                ((2 * yt - 1) * logits_t > 0).float().mean().item(),
            ]
        if step < n_steps:
            opt.zero_grad()
            loss.backward()
            opt.step()
    return out


def flops_per_run(width, n, n_test, n_in, n_steps):
    """Matmul flops of one run: direct (PyTorch) and Gram engine (init projection shared by the 3 families)."""
    direct = n_steps * 2 * (2 * n + n_test) * n_in * width + 2 * (n + n_test) * n_in * width
    gram = (n_steps + 1) * 2 * (n + n_test) * n * width + 2 * (n + n_test) * n_in * width / len(FAMILIES)
    return direct, gram


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-log2-width", type=int, default=7)
    ap.add_argument("--max-log2-width", type=int, default=11)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--name", default=None, help="results file name (default: figure1_<device>)")
    args = ap.parse_args(argv)

    on_gpu = jax.default_backend() == "gpu" and torch.cuda.is_available()
    device = "cuda" if on_gpu else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False  # same precision on both sides: full float32
    torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(os.cpu_count() or 1)
    ds = data.load_cifar2(args.n_train, args.n_test)
    mlp = models.MLP()
    fams = {name: scalings.preset(p) for name, p in FAMILIES.items()}
    widths = [2**k for k in range(args.min_log2_width, args.max_log2_width + 1)]
    seeds = list(range(args.seeds))
    n, n_test = len(ds.y_train), len(ds.y_test)
    load_before = os.getloadavg()

    torch_run(widths[0], fams["MF"], 0, ds, 2, device)  # warm-up: PyTorch's one-off start-up is not timed
    compile_s = [0.0]
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, secs, **_: compile_s.__setitem__(0, compile_s[0] + secs) if "/jax/core/compile/" in name else None
    )
    runs = [(f, s) for s in seeds for f in fams]
    rows, worst_loss, worst_acc = [], 0.0, 0.0
    for width in widths:
        # Interleaved: half the PyTorch runs, widthlimits (first call: compiles), the other half, widthlimits again.
        # Both sides thus sample the same stretch of machine load; widthlimits' run time is the faster of its two
        # calls (the first minus its measured compile time, or the second).
        ref, t_torch, t_jax, t_compile = {}, 0.0, [], 0.0
        for half in (runs[: len(runs) // 2], runs[len(runs) // 2 :]):
            t0 = time.perf_counter()
            ref.update({(f, s): torch_run(width, fams[f], s, ds, args.steps, device) for f, s in half})
            t_torch += time.perf_counter() - t0
            compile_s[0] = 0.0
            t0 = time.perf_counter()
            sw = experiments.sweep(mlp, [width], fams, ds, seeds=seeds, n_steps=args.steps, cache=False, progress=False)
            jax.block_until_ready(sw.history.test_loss)
            t_jax.append(time.perf_counter() - t0 - compile_s[0])
            t_compile += compile_s[0]
        h = sw.history
        for (f, s), r in ref.items():
            j, k = sw.families.index(f), seeds.index(s)
            ours = np.stack(
                [h.train_loss[0, j, 0, k], h.train_acc[0, j, 0, k], h.test_loss[0, j, 0, k], h.test_acc[0, j, 0, k]]
            )
            worst_loss = max(worst_loss, float(np.abs(ours[[0, 2]] - r[[0, 2]]).max()))
            worst_acc = max(worst_acc, float(np.abs(ours[[1, 3]] - r[[1, 3]]).max()))
        direct, gram = flops_per_run(width, n, n_test, mlp.n_in, args.steps)
        n_runs = len(runs)
        t_run = min(t_jax)
        rows.append(
            dict(
                width=width,
                torch_s=t_torch,
                jax_run_s=t_run,
                jax_run_s_both_calls=t_jax,
                jax_compile_s=t_compile,
                speedup=t_torch / t_run,
                torch_gflops=n_runs * direct / t_torch / 1e9,
                jax_gflops=n_runs * gram / t_run / 1e9,
                load_average=os.getloadavg()[0],
            )
        )
        print(
            f"width {width:6d}: torch {t_torch:7.2f} s | widthlimits {t_run:6.2f} s run + {t_compile:5.2f} s compile"
            f" | speed-up {rows[-1]['speedup']:.2f}x | GFLOP/s torch {rows[-1]['torch_gflops']:.0f}, "
            f"widthlimits {rows[-1]['jax_gflops']:.0f} | load {rows[-1]['load_average']:.1f}",
            flush=True,
        )

    total = {k: sum(r[k] for r in rows) for k in ("torch_s", "jax_run_s", "jax_compile_s")}
    result = dict(
        benchmark="figure1_sweep",
        command="python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        device=dict(
            backend=jax.default_backend(),
            jax_devices=[str(d) for d in jax.devices()],
            torch_device=device,
            cpu=platform.processor() or platform.machine(),
            cpu_count=os.cpu_count(),
            load_average_before=load_before,
            load_average_after=os.getloadavg(),
        ),
        versions=dict(widthlimits=widthlimits.__version__, jax=jax.__version__, torch=torch.__version__),
        precision="float32 (JAX matmul precision 'highest'; torch TF32 disabled)",
        setting=dict(
            widths=widths,
            families=list(FAMILIES),
            seeds=seeds,
            n_steps=args.steps,
            n_train=n,
            n_test=n_test,
            ref_lr=scalings.REF_LR["gd"],
            data=data.fingerprint(ds),
        ),
        per_width=rows,
        total=total,
        speedup_run=total["torch_s"] / total["jax_run_s"],
        speedup_including_compile=total["torch_s"] / (total["jax_run_s"] + total["jax_compile_s"]),
        agreement=dict(max_abs_loss_diff=worst_loss, max_abs_acc_diff=worst_acc, loss_tol=LOSS_TOL, acc_tol=ACC_TOL),
    )
    out = Path(__file__).parent / "results" / f"{args.name or 'figure1_' + device}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"total: torch {total['torch_s']:.1f} s, widthlimits {total['jax_run_s']:.1f} s run "
        f"(+{total['jax_compile_s']:.1f} s compile): {result['speedup_run']:.2f}x "
        f"({result['speedup_including_compile']:.2f}x including compilation); wrote {out}"
    )
    print(
        f"agreement: max |loss diff| {worst_loss:.2e} (tol {LOSS_TOL}), max |acc diff| {worst_acc:.2e} (tol {ACC_TOL})"
    )
    if worst_loss > LOSS_TOL or worst_acc > ACC_TOL:
        raise SystemExit("the two implementations disagree beyond tolerance")


if __name__ == "__main__":
    main()
