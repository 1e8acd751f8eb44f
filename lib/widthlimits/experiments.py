"""Sweeps over widths x families x learning rates x seeds, cached on disk.

:func:`sweep` compiles one training program per width (and optimiser), runs every family, learning rate and
seed of that width as one vmapped batch, and stores the result of each width in the cache directory under a
key that hashes the *whole* configuration: architecture, width, exponents, learning rates, seeds, steps,
the data's contents, the library's source code and the JAX version. A changed configuration therefore never
reads a stale entry, and a finished width survives an interrupted sweep. Entries are written atomically.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from widthlimits import data as data_mod
from widthlimits import models, scalings, training

#: Upper bound on ``batch x width x n_in`` floats of input-layer weights held at once by the direct engine
#: (about 1 GB of weights; the engine's working memory is a few times that).
MAX_BATCH_FLOATS = 2**28
#: Upper bound on the working memory of one batch of the Gram engine, by the model of :func:`_gram_chunking`.
MAX_GRAM_BATCH_BYTES = 10 * 2**30
_CODE_MODULES = ("data", "scalings", "models", "training", "experiments")


class DivergenceWarning(RuntimeWarning):
    """Some runs of a sweep produced NaN or inf."""


@dataclasses.dataclass(frozen=True)
class Family:
    """A named family of nets: a scaling, and whether the initialisation-corrected model is trained."""

    scaling: scalings.Scaling
    init_corrected: bool = False


@dataclasses.dataclass(frozen=True)
class Sweep:
    """Results of :func:`sweep`.

    ``history`` is a :class:`~widthlimits.training.History` of numpy arrays whose leaves carry the leading
    axes ``(width, family, lr, seed)`` before the per-run axes documented there.
    """

    widths: tuple[int, ...]
    families: tuple[str, ...]
    ref_lrs: tuple[float | None, ...]
    seeds: tuple[int, ...]
    n_steps: int
    history: training.History
    #: Wall-clock seconds spent on each width (near zero where it came from the cache) and whether it did.
    seconds: tuple[float, ...] = dataclasses.field(default=(), compare=False)
    cached: tuple[bool, ...] = dataclasses.field(default=(), compare=False)

    def get(self, *, width: int | None = None, family: str | None = None, lr: float | None = None) -> training.History:
        """The history with the named axes indexed away (``None`` keeps an axis)."""
        index = (
            slice(None) if width is None else self.widths.index(width),
            slice(None) if family is None else self.families.index(family),
            slice(None) if lr is None else self.ref_lrs.index(lr),
        )
        return jax.tree.map(lambda a: a[index], self.history)

    def diverged(self) -> list[dict]:
        """One record per run that produced NaN/inf: width, family, lr, seed and the first bad step."""
        bad = self.history.nonfinite_step
        return [
            dict(
                width=self.widths[i],
                family=self.families[j],
                lr=self.ref_lrs[k],
                seed=self.seeds[s],
                step=int(bad[i, j, k, s]),
            )
            for i, j, k, s in zip(*np.nonzero(bad >= 0))
        ]


def _code_fingerprint() -> str:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _CODE_MODULES:
        h.update((here / f"{name}.py").read_bytes())
    return h.hexdigest()[:16]


def _cache_key(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _save(path: Path, hist: training.History, config: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, config=np.array(json.dumps(config, sort_keys=True, default=str)), **hist._asdict())
    data_mod._atomic_write(path, buf.getvalue())


def _load(path: Path) -> training.History | None:
    try:
        with np.load(path) as f:
            return training.History(**{k: f[k] for k in training.History._fields})
    except Exception as err:  # a corrupt entry is recomputed, never trusted
        warnings.warn(f"ignoring unreadable cache entry {path}: {err}", stacklevel=3)
        return None


def _as_family(value: Family | scalings.Scaling) -> Family:
    if isinstance(value, Family):
        return value
    if isinstance(value, scalings.Scaling):
        return Family(value)
    raise ValueError(f"families must map names to Family or Scaling objects, got {type(value).__name__}")


def _gram_chunking(mlp, width: int, data, n_runs: int, per_seed: int) -> tuple[int, int]:
    """``(chunk, runs_per_key)`` for the Gram engine within ``MAX_GRAM_BATCH_BYTES``.

    Memory model (float32, measured with XLA's memory analysis): about ``4.5 (n + n_test)`` floats per hidden
    unit and run (state, projected init, pre-activations, gradient), plus ``2 n_in`` per unit and initial draw
    (the draw and its random bits). Runs of one seed share their draw when a whole group fits.
    """
    run_bytes = 4 * width * 4.5 * (data.x_train.shape[0] + data.x_test.shape[0])
    key_bytes = 4 * width * 2 * mlp.n_in
    fits = [
        g for g in range(1, per_seed + 1) if per_seed % g == 0 and g * run_bytes + key_bytes <= MAX_GRAM_BATCH_BYTES
    ]
    per_key = max(fits, default=1)
    groups = max(1, int(MAX_GRAM_BATCH_BYTES // (per_key * run_bytes + key_bytes)))
    return min(n_runs, groups * per_key), per_key


def _run_width(mlp, width, runs: list[tuple], data, n_steps, n_kernel, ref_width, loss, engine, precision, bar):
    """Train ``runs`` (tuples of family, lr, seed) at one width, in equal-size vmapped chunks.

    With the Gram engine the runs are regrouped seed by seed, so that the families of one seed share one
    initial draw and its projection onto the data (``runs_per_key``); results come back in the given order.
    """
    seeds = sorted({seed for _, _, seed in runs})
    order = sorted(range(len(runs)), key=lambda i: seeds.index(runs[i][2]))  # stable: seed-major
    per_seed = len(runs) // len(seeds)
    if engine == "gram" and all(sum(r[2] == s for r in runs) == per_seed for s in seeds):
        chunk, per_key = _gram_chunking(mlp, width, data, len(runs), per_seed)
    else:
        chunk = max(1, min(len(runs), MAX_BATCH_FLOATS // (width * (mlp.n_in + width * (mlp.depth - 1) + 1))))
        per_key = 1
    ordered = [runs[i] for i in order]
    padded = ordered + ordered[: (-len(ordered)) % chunk]  # equal chunks (whole groups): one compilation per width
    out = []
    for start in range(0, len(padded), chunk):
        part = padded[start : start + chunk]
        batch = training.Run(
            scalings.stack([fam.scaling for fam, _, _ in part]),
            jnp.array([lr for _, lr, _ in part], jnp.float32),
            jnp.array([float(fam.init_corrected) for fam, _, _ in part], jnp.float32),
            jnp.stack([jax.random.PRNGKey(seed) for _, _, seed in part]),
        )
        hist = training.train_runs(
            mlp,
            width,
            batch,
            data,
            n_steps=n_steps,
            n_kernel=n_kernel,
            ref_width=ref_width,
            loss=loss,
            engine=engine,
            precision=precision,
            runs_per_key=per_key,
        )
        out.append(jax.tree.map(np.asarray, hist))
        bar.update(width * min(len(part), len(ordered) - start))
    done = jax.tree.map(lambda *xs: np.concatenate(xs)[: len(runs)], *out)
    inverse = np.argsort(order)
    return jax.tree.map(lambda a: a[inverse], done)


def sweep(
    mlp: models.MLP,
    widths: Sequence[int],
    families: Mapping[str, Family | scalings.Scaling],
    data: data_mod.Dataset,
    *,
    seeds: Sequence[int],
    n_steps: int,
    ref_lrs: Sequence[float] | None = None,
    n_kernel: int = 10,
    ref_width: int = scalings.REF_WIDTH,
    loss: str = "logistic",
    cache: bool = True,
    progress: bool = True,
    engine: str = "auto",
    precision: str = "highest",
) -> Sweep:
    """Train every ``(width, family, ref_lr, seed)`` combination; see :class:`Sweep` for the layout.

    Args:
      mlp: the architecture.
      widths: hidden widths.
      families: name -> :class:`Family` (or a bare :class:`~widthlimits.scalings.Scaling`). Families may mix
        optimisers; each optimiser is one batch.
      data: the dataset (full batch).
      seeds: integer seeds; seed ``s`` gives the same underlying initial draw in every family.
      n_steps: optimisation steps.
      ref_lrs: reference learning rates; ``None`` uses each family's optimiser default (one lr axis entry).
      loss: ``"logistic"`` (the papers') or ``"mse"``.
      cache: read and write the on-disk cache (``$WIDTHLIMITS_CACHE/runs``).
      progress: show a progress bar on stderr (work done, weighted by width, and the time left).
      engine: ``"auto"``, ``"gram"`` or ``"direct"`` (see :func:`~widthlimits.training.train_runs`).
      precision: matmul precision, one of :data:`~widthlimits.training.PRECISIONS`; the default
        ``"highest"`` is full float32 on every backend (a GPU would otherwise use TF32).

    Exponents, learning rates and seeds are traced: each width compiles once (per optimiser), and all its
    runs go through one vmapped program in as few memory-bounded chunks as possible.
    """
    widths, seeds = tuple(int(w) for w in widths), tuple(int(s) for s in seeds)
    for w in widths:
        scalings._check_width("widths[i]", w)
    if not families:
        raise ValueError("families must name at least one family")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    if precision not in training.PRECISIONS:
        raise ValueError(f"precision must be one of {training.PRECISIONS}, got {precision!r}")
    fams = {name: _as_family(f) for name, f in families.items()}
    lrs = (None,) if ref_lrs is None else tuple(float(lr) for lr in ref_lrs)
    runs = [(fam, lr, seed) for fam in fams.values() for lr in lrs for seed in seeds]
    resolved = [(fam, scalings.REF_LR[fam.scaling.optimizer] if lr is None else lr, seed) for fam, lr, seed in runs]
    fp_data, fp_code = data_mod.fingerprint(data), _code_fingerprint()
    root = data_mod.cache_dir() / "runs"

    engines = {
        opt: training.resolve_engine(mlp, opt, data.x_train.shape[0], engine)
        for opt in {f.scaling.optimizer for f in fams.values()}
    }
    per_width = []
    bar = tqdm(
        total=sum(widths) * len(resolved),
        disable=not progress,
        leave=False,
        desc="sweep",
        bar_format="{desc}{percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
    )
    seconds, cached = [], []
    for width in widths:
        bar.set_description(f"sweep, width {width}")
        start = time.perf_counter()
        config = dict(
            mlp=dataclasses.asdict(mlp),
            width=width,
            ref_width=ref_width,
            n_steps=n_steps,
            n_kernel=n_kernel,
            loss=loss,
            runs=[(dataclasses.asdict(f.scaling), f.init_corrected, lr, s) for f, lr, s in resolved],
            data=fp_data,
            code=fp_code,
            jax=jax.__version__,
            engines=engines,
            precision=precision,
        )
        path = root / f"{_cache_key(config)}.npz"
        hist = _load(path) if cache and path.exists() else None
        cached.append(hist is not None)
        if hist is not None:
            bar.update(width * len(resolved))
        else:
            by_opt: dict[str, list[int]] = {}
            for i, (fam, _, _) in enumerate(resolved):
                by_opt.setdefault(fam.scaling.optimizer, []).append(i)
            parts = {}
            for opt, idx in by_opt.items():
                part = _run_width(
                    mlp,
                    width,
                    [resolved[i] for i in idx],
                    data,
                    n_steps,
                    n_kernel,
                    ref_width,
                    loss,
                    engines[opt],
                    precision,
                    bar,
                )
                parts.update({i: jax.tree.map(lambda a, k=k: a[k], part) for k, i in enumerate(idx)})
            hist = jax.tree.map(lambda *xs: np.stack(xs), *(parts[i] for i in range(len(resolved))))
            if cache:
                _save(path, hist, config)
        per_width.append(hist)
        seconds.append(time.perf_counter() - start)
    bar.close()

    shape = (len(fams), len(lrs), len(seeds))
    stacked = jax.tree.map(lambda *xs: np.stack(xs).reshape(len(widths), *shape, *xs[0].shape[1:]), *per_width)
    result = Sweep(widths, tuple(fams), lrs, seeds, n_steps, stacked, tuple(seconds), tuple(cached))
    bad = result.diverged()
    if bad:
        shown = ", ".join(
            f"{b['family']} d={b['width']} lr={b['lr']} seed={b['seed']} step {b['step']}" for b in bad[:5]
        )
        warnings.warn(
            f"{len(bad)} run(s) produced NaN/inf: {shown}{' ...' if len(bad) > 5 else ''}",
            DivergenceWarning,
            stacklevel=2,
        )
    return result


class InitStats(NamedTuple):
    """Statistics of fresh initialisations (no training): leading axes ``(width, family, seed)``.

    Attributes:
      logits: ``(W, K, S, n)`` logits on the probe inputs.
      kernel: ``(W, K, S, L+1, n)`` learning-rate-weighted tangent-kernel diagonal of each layer.
    """

    logits: np.ndarray
    kernel: np.ndarray


@functools.partial(jax.jit, static_argnames=("mlp", "width", "ref_width", "seed_batch"))
def _at_init(mlp, width, scaling, keys, xs, ref_width, seed_batch):
    def one_seed(key):
        p_ref = models.init_reference(mlp, width, key=key)

        def one_scaling(s):  # the input layer does not depend on s, so vmap computes xs @ W.T once
            hp = scalings.hyperparams(s, width, ref_width=ref_width)
            p = models.rescale(p_ref, hp.init_factor)
            lr = jnp.stack([hp.lr_w, *([hp.lr_v] * (mlp.depth - 1)), hp.lr_a])
            return models.apply_batch(mlp, p, xs), lr[:, None] * models.layer_kernel_diag(mlp, p, xs)

        return jax.vmap(one_scaling)(scaling)

    logits, kernel = jax.lax.map(one_seed, keys, batch_size=seed_batch)  # (S, K, ...): seeds in small batches
    return jnp.swapaxes(logits, 0, 1), jnp.swapaxes(kernel, 0, 1)


def at_init(
    mlp: models.MLP,
    widths: Sequence[int],
    families: Mapping[str, scalings.Scaling],
    xs: np.ndarray,
    *,
    seeds: Sequence[int],
    ref_width: int = scalings.REF_WIDTH,
) -> InitStats:
    """Logits and per-layer kernels of many fresh draws, ``xs (n, n_in)``; one compilation per width.

    Seed ``s`` gives the same underlying draw for every family, as in :func:`sweep`.
    """
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    stacked = scalings.stack(list(families.values()))
    keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in seeds])
    out = []
    for width in widths:
        scalings._check_width("widths[i]", width)
        batch = max(1, min(len(seeds), MAX_BATCH_FLOATS // (8 * width * (mlp.n_in + width * (mlp.depth - 1) + 1))))
        out.append(
            jax.tree.map(np.asarray, _at_init(mlp, int(width), stacked, keys, jnp.asarray(xs), ref_width, batch))
        )
    return InitStats(*(np.stack(parts) for parts in zip(*out)))


def clear_cache() -> int:
    """Delete every cached sweep entry; returns how many files were removed."""
    root = data_mod.cache_dir() / "runs"
    files = list(root.glob("*.npz")) if root.exists() else []
    for f in files:
        os.remove(f)
    return len(files)


def sweep_to_json(sw: Sweep, *, fields: Sequence[str], meta: Mapping, digits: int = 6) -> dict:
    """A JSON-ready dict of a sweep: its axes, the chosen history ``fields`` (rounded to ``digits`` significant
    digits) and ``meta`` (command, device, versions, ...). :func:`sweep_from_json` reads it back."""
    bad = set(fields) - set(training.History._fields)
    if bad:
        raise ValueError(f"fields must be History fields {training.History._fields}, got {sorted(bad)}")

    def rounded(a):
        a = np.asarray(a)
        return a.tolist() if a.dtype.kind in "iub" else np.vectorize(lambda v: float(f"{v:.{digits}g}"))(a).tolist()

    axes = dict(widths=sw.widths, families=sw.families, ref_lrs=sw.ref_lrs, seeds=sw.seeds, n_steps=sw.n_steps)
    hist = {f: rounded(getattr(sw.history, f)) for f in (*fields, "nonfinite_step")}
    return dict(format="widthlimits.sweep/1", meta=dict(meta), axes=axes, history=hist)


def sweep_from_json(obj: Mapping) -> tuple[Sweep, dict]:
    """``(Sweep, meta)`` from :func:`sweep_to_json`'s dict; history fields that were not stored are ``None``."""
    if obj.get("format") != "widthlimits.sweep/1":
        raise ValueError(f"obj must be a widthlimits.sweep/1 dict, got format {obj.get('format')!r}")
    ax, h = obj["axes"], obj["history"]
    hist = training.History(**{f: np.asarray(h[f]) if f in h else None for f in training.History._fields})
    sw = Sweep(
        tuple(ax["widths"]), tuple(ax["families"]), tuple(ax["ref_lrs"]), tuple(ax["seeds"]), ax["n_steps"], hist
    )
    return sw, dict(obj["meta"])


def load_asset(name: str) -> tuple[Sweep, dict]:
    """A sweep results file shipped in the package (``widthlimits/_assets/<name>``): ``(Sweep, meta)``."""
    ref = resources.files("widthlimits") / "_assets" / name
    if not ref.is_file():
        raise ValueError(f"name must be a results file in widthlimits/_assets, got {name!r}")
    return sweep_from_json(json.loads(ref.read_text()))
