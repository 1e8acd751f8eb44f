"""Benchmark: the training engines against this machine's own matmul limit, measured in the same run.

For each case (engine, batch of runs, test-set size) and width, in one process and interleaved so that load from
other processes hits every side alike, the script measures:

* **engine**: ``training.train_runs`` on the batch the sweep would give it at that width (``experiments``'s memory
  chunking), steps under ``lax.scan``. Time per step is ``(t(T steps) - t(0 steps)) / T``, so the initial draw and
  its projection are not counted; the first call's compile time is reported separately (``jax.monitoring``).
* **limit**: the same step's matrix products, timed alone at the best of three libraries on this machine (XLA's
  own dot, NumPy's BLAS, PyTorch), each product at the best rate any of them reaches for its shape. The engine's
  ``fraction_of_limit`` is limit time over engine time for the same work; ``fraction_of_xla_dot`` is the same with
  XLA's dot alone as the limit (what a JAX program can reach without another BLAS).
* **plain jit loop**: the public step API (``training.engine``) with one ``jax.jit`` step per call and a Python loop
  over steps, one run at a time.
* **PyTorch loop** (one hidden layer only): ``figure1_benchmark.torch_run``, the papers' reference-code style.

Flops are the exact matmul flops of each algorithm's step: ``2 (n + n_test) n d`` per run for the Gram engine;
for the direct engine the forward pass on train and test points, the weight gradients and the hidden-layer
input gradients. Elementwise work and the observations on ``n_kernel`` points are not counted (they are what
separates an engine from its limit). Usage, from the repository root::

    pip install -r benchmarks/requirements.txt
    python benchmarks/engine_limit.py --name engine_limit_cpu          # all cases (about 45 min on 2 CPU cores)
    python benchmarks/engine_limit.py --quick --name smoke             # small widths only (about 1 min)
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import operator
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import torch

import widthlimits
from widthlimits import data, experiments, models, scalings, training

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).parent))
from _provenance import write_atomic  # the results scripts' atomic write
from figure1_benchmark import torch_run  # the reference-style loop, written once

FAMILIES = ("mf", "ntk", "intermediate")
#: (name, depth, optimiser, seeds, n_test, widths, quick widths): the book's Figure 1 batch, the paper's Figure 1
#: batch (15 runs, every test image) and the Figure 2 panels' shapes (3 families of one seed).
CASES = (
    ("gram_6runs_ntest1000", 1, "gd", 2, 1000, (128, 512, 2048, 8192), (128, 512)),
    ("gram_paper_15runs_ntest2000", 1, "gd", 5, 2000, (4096, 16384, 65536), (1024,)),
    ("direct_gd_2layers", 2, "gd", 1, 2000, (256, 1024, 4096), (256,)),
    ("direct_rmsprop_3layers", 3, "rmsprop", 1, 2000, (256, 1024, 2048), (256,)),
)


def _best_time(fn, reps: int) -> float:
    fn()  # warm-up (compiles where it must)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def products(depth: int, n: int, n_test: int, n_in: int, width: int, engine: str) -> list[tuple[int, int, int, int]]:
    """The matrix products of one step of one run, as ``(count, m, k, p)``: ``count`` times an ``(m, k) @ (k, p)``."""
    if engine == "gram":
        return [(1, n + n_test, n, width)]
    hidden = depth - 1
    return [
        (1, n + n_test, n_in, width),  # input layer, train and test points
        (hidden, n + n_test, width, width),  # hidden layers, forward
        (1, width, n, n_in),  # input-layer weight gradient
        (2 * hidden, width, n, width),  # hidden weight gradients and hidden-input gradients (same flops)
    ]


def flops(prods) -> float:
    return float(sum(c * 2 * m * k * p for c, m, k, p in prods))


@jax.jit
def _dot(a, b):
    return a @ b


def _xla_dot(a, b):
    return _dot(a, b).block_until_ready()


def limit_seconds(prods, batch: int, reps: int) -> tuple[float, dict]:
    """Time of ``batch`` runs' products at the best rate of XLA, NumPy and PyTorch for each shape."""
    rng = np.random.default_rng(0)
    total, xla_total, rates = 0.0, 0.0, {}
    for count, m, k, p in prods:
        if count == 0:
            continue
        # The batch's runs side by side as one wide product: the most favourable layout for the limit.
        a, b = rng.standard_normal((m, k), np.float32), rng.standard_normal((k, p * batch), np.float32)
        aj, bj = jnp.asarray(a), jnp.asarray(b)
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        times = {
            "xla": _best_time(functools.partial(_xla_dot, aj, bj), reps),
            "numpy": _best_time(functools.partial(np.matmul, a, b), reps),
            "torch": _best_time(functools.partial(torch.matmul, at, bt), reps),
        }
        gflop = 2 * m * k * p * batch / 1e9
        rates[f"{m}x{k}@{k}x{p * batch}"] = {lib: gflop / t for lib, t in times.items()}
        total += count * min(times.values())
        xla_total += count * times["xla"]
    return total, dict(rates_gflops=rates, xla_seconds=xla_total)


def _batch(depth: int, optimizer: str, width: int, n_seeds: int, ds) -> tuple[training.Run, int]:
    """The first chunk of runs the sweep trains together at this width, and its runs_per_key."""
    fams = [scalings.preset(f, optimizer=optimizer) for f in FAMILIES]
    mlp = models.MLP(depth=depth)
    n_runs = len(fams) * n_seeds
    if depth == 1 and optimizer == "gd":
        chunk, per_key = experiments._gram_chunking(mlp, width, ds, n_runs, len(fams))
    else:
        per_key = 1
        chunk = max(1, min(n_runs, experiments.MAX_BATCH_FLOATS // (width * (mlp.n_in + width * (depth - 1) + 1))))
    part = [(fams[i % 3], i // 3) for i in range(chunk)]
    run = training.Run(
        scalings.stack([f for f, _ in part]),
        jnp.full((chunk,), scalings.REF_LR[optimizer], jnp.float32),
        jnp.zeros((chunk,), jnp.float32),
        jnp.stack([jax.random.PRNGKey(s) for _, s in part]),
    )
    return run, per_key


def _plain_step(eng: training.Engine, state):
    obs = eng.observe(state)  # every metric is returned, so that XLA computes what the engine computes
    return obs.metrics, eng.update(state, obs)


def plain_loop(mlp, width, runs: training.Run, ds, n_steps: int) -> tuple[np.ndarray, float]:
    """One run at a time: a jitted step per call, a Python loop over steps.

    Returns the train losses ``(B, T+1)`` and the seconds per step of the whole batch, the first call of each
    run (which compiles) not timed.
    """
    losses, seconds = [], 0.0
    for i in range(runs.ref_lr.shape[0]):
        run = jax.tree.map(operator.itemgetter(i), runs)
        eng = training.engine(mlp, width, run, ds)
        step = jax.jit(functools.partial(_plain_step, eng))
        metrics, state = jax.block_until_ready(step(eng.init()))
        out = [metrics["train_loss"]]
        t0 = time.perf_counter()
        for _ in range(n_steps):
            metrics, state = step(state)
            out.append(metrics["train_loss"])
        jax.block_until_ready(state)
        seconds += (time.perf_counter() - t0) / n_steps
        losses.append(np.asarray(jnp.stack(out)))
    return np.stack(losses), seconds


def measure(case, width: int, ds, n_steps: int, reps: int, compile_s: list) -> dict:
    name, depth, optimizer, n_seeds, n_test, _, _ = case
    mlp = models.MLP(depth=depth)
    runs, per_key = _batch(depth, optimizer, width, n_seeds, ds)
    batch = runs.ref_lr.shape[0]
    engine = training.resolve_engine(mlp, optimizer, ds.x_train.shape[0])
    cfg = training.TrainConfig(n_steps=n_steps)

    def engine_call(t):
        out = training.train_runs(mlp, width, runs, ds, cfg.replace(n_steps=t), runs_per_key=per_key)
        return jax.block_until_ready(out)

    compile_s[0] = 0.0
    t0 = time.perf_counter()
    hist = engine_call(n_steps)
    first_call = time.perf_counter() - t0
    compiled = compile_s[0]
    engine_call(0)
    # Interleaved: the limit's products, the engine's T-step and 0-step calls, the plain loop, PyTorch.
    prods = products(depth, ds.x_train.shape[0], n_test, mlp.n_in, width, engine)
    limit_s, limit_info = limit_seconds(prods, batch, reps)
    t_steps = [float("inf")] * 2
    for _ in range(reps):
        for j, t in enumerate((n_steps, 0)):
            t0 = time.perf_counter()
            engine_call(t)
            t_steps[j] = min(t_steps[j], time.perf_counter() - t0)
    engine_step = (t_steps[0] - t_steps[1]) / n_steps
    again_s, again_info = limit_seconds(prods, batch, reps)  # after as well as before: the faster one is the limit
    if again_s < limit_s:
        limit_s, limit_info = again_s, again_info
    plain_losses, plain_step = plain_loop(mlp, width, runs, ds, n_steps)
    row = dict(
        case=name,
        width=width,
        engine=engine,
        batch=batch,
        runs_per_key=per_key,
        gflop_per_step=batch * flops(prods) / 1e9,
        engine_step_s=engine_step,
        engine_fixed_s=t_steps[1],
        engine_first_call_s=first_call,
        compile_s=compiled,
        limit_step_s=limit_s,
        fraction_of_limit=limit_s / engine_step,
        fraction_of_xla_dot=limit_info["xla_seconds"] / engine_step,
        engine_gflops=batch * flops(prods) / engine_step / 1e9,
        limit_gflops=batch * flops(prods) / limit_s / 1e9,
        plain_jit_loop_step_s=plain_step,
        plain_jit_loop_fraction_of_limit=limit_s / plain_step,
        max_abs_loss_diff_plain_vs_engine=float(np.max(np.abs(plain_losses - np.asarray(hist.train_loss)))),
        load_average=os.getloadavg()[0],
        **limit_info,
    )
    if depth == 1:  # PyTorch's reference loop: one run, the same steps, the direct O(n D d) algorithm
        fam = scalings.preset(FAMILIES[0])
        t0 = time.perf_counter()
        torch_run(width, fam, 0, ds, n_steps, "cpu")
        row["torch_loop_step_s"] = (time.perf_counter() - t0) / (n_steps + 1) * batch  # the batch's runs, per step
        row["engine_vs_torch_speedup"] = row["torch_loop_step_s"] / engine_step
    return row


def write_results(args, argv, load_before, rows: list[dict]) -> Path:
    """Write every row measured so far (called after each one, so that an interrupted run keeps them)."""
    result = dict(
        benchmark="engine_limit",
        command="python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        device=dict(
            backend=jax.default_backend(),
            cpu=platform.processor() or platform.machine(),
            cpu_count=os.cpu_count(),
            xla_flags=os.environ.get("XLA_FLAGS", ""),
            load_average_before=load_before,
            load_average_after=os.getloadavg(),
        ),
        versions=dict(
            widthlimits=widthlimits.__version__, jax=jax.__version__, torch=torch.__version__, numpy=np.__version__
        ),
        steps_timed=args.steps,
        per_width=rows,
    )
    out = Path(__file__).parent / "results" / f"{args.name}.json"
    write_atomic(out, json.dumps(result, indent=2) + "\n")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the small widths of each case only")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per call (the first call compiles)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--cases", default=",".join(c[0] for c in CASES))
    ap.add_argument("--name", default="engine_limit_cpu")
    args = ap.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    compile_s = [0.0]
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, secs, **_: compile_s.__setitem__(0, compile_s[0] + secs) if "/jax/core/compile/" in name else None
    )
    load_before, rows = os.getloadavg(), []
    torch_run(128, scalings.preset("mf"), 0, data.load_cifar2(1000, 1000), 2, "cpu")  # PyTorch's start-up, untimed
    for case in CASES:
        if case[0] not in args.cases.split(","):
            continue
        ds = data.load_cifar2(1000, case[4])
        for width in case[6] if args.quick else case[5]:
            row = measure(case, width, ds, args.steps, args.reps, compile_s)
            rows.append(row)
            write_results(args, argv, load_before, rows)
            speedup = row.get("engine_vs_torch_speedup")
            torch_txt = "" if speedup is None else f" | vs PyTorch {speedup:.1f}x"
            print(
                f"{row['case']:28s} d={width:6d} B={row['batch']:2d}: engine {row['engine_gflops']:5.0f} GF/s, "
                f"limit {row['limit_gflops']:5.0f} -> {row['fraction_of_limit']:.2f} (of XLA dot "
                f"{row['fraction_of_xla_dot']:.2f}) | compile {row['compile_s']:.1f} s | plain loop "
                f"{row['plain_jit_loop_fraction_of_limit']:.2f} of limit{torch_txt} | load {row['load_average']:.1f}",
                flush=True,
            )
    print(f"wrote {write_results(args, argv, load_before, rows)}")


if __name__ == "__main__":
    main()
