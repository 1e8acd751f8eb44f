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
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from widthlimits import data as data_mod
from widthlimits import models, scalings, training

#: Upper bound on ``batch x width x n_in`` floats of input-layer weights held at once (about 1 GB).
MAX_BATCH_FLOATS = 2**28
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


def _run_width(mlp, width, runs: list[tuple], data, n_steps, n_kernel, ref_width, loss) -> training.History:
    """Train ``runs`` (tuples of family, lr, seed) at one width, in equal-size vmapped chunks."""
    chunk = max(1, min(len(runs), MAX_BATCH_FLOATS // (width * (mlp.n_in + width * (mlp.depth - 1) + 1))))
    padded = runs + runs[: (-len(runs)) % chunk]  # equal chunks: one compilation per width
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
            mlp, width, batch, data, n_steps=n_steps, n_kernel=n_kernel, ref_width=ref_width, loss=loss
        )
        out.append(jax.tree.map(np.asarray, hist))
    return jax.tree.map(lambda *xs: np.concatenate(xs)[: len(runs)], *out)


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
      progress: show a progress bar on stderr.
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
    fams = {name: _as_family(f) for name, f in families.items()}
    lrs = (None,) if ref_lrs is None else tuple(float(lr) for lr in ref_lrs)
    runs = [(fam, lr, seed) for fam in fams.values() for lr in lrs for seed in seeds]
    resolved = [(fam, scalings.REF_LR[fam.scaling.optimizer] if lr is None else lr, seed) for fam, lr, seed in runs]
    fp_data, fp_code = data_mod.fingerprint(data), _code_fingerprint()
    root = data_mod.cache_dir() / "runs"

    per_width = []
    for width in tqdm(widths, desc="sweep", unit="width", disable=not progress, leave=False):
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
        )
        path = root / f"{_cache_key(config)}.npz"
        hist = _load(path) if cache and path.exists() else None
        if hist is None:
            by_opt: dict[str, list[int]] = {}
            for i, (fam, _, _) in enumerate(resolved):
                by_opt.setdefault(fam.scaling.optimizer, []).append(i)
            parts = {}
            for idx in by_opt.values():
                part = _run_width(mlp, width, [resolved[i] for i in idx], data, n_steps, n_kernel, ref_width, loss)
                parts.update({i: jax.tree.map(lambda a, k=k: a[k], part) for k, i in enumerate(idx)})
            hist = jax.tree.map(lambda *xs: np.stack(xs), *(parts[i] for i in range(len(resolved))))
            if cache:
                _save(path, hist, config)
        per_width.append(hist)

    shape = (len(fams), len(lrs), len(seeds))
    stacked = jax.tree.map(lambda *xs: np.stack(xs).reshape(len(widths), *shape, *xs[0].shape[1:]), *per_width)
    result = Sweep(widths, tuple(fams), lrs, seeds, n_steps, stacked)
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
