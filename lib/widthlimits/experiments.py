"""Sweeps over widths x families x learning rates x seeds, cached on disk.

:func:`sweep` compiles one training program per width (and optimiser), runs every family, learning rate and
seed of that width as one vmapped batch, and stores the result of each width in the on-disk cache of
:mod:`widthlimits.sweep_cache`, under a key that hashes the *whole* configuration (architecture, width,
exponents, learning rates, seeds, steps, the data, the library's code, JAX's version and flags); an entry is
trusted only if it proves to be the requested one. :func:`at_init` gathers statistics of fresh draws.

The results, a :class:`Sweep`, and their JSON files live in :mod:`widthlimits.results_files`; ``Sweep``,
``sweep_to_json``, ``sweep_from_json``, ``load_asset``, ``clear_cache`` and ``CacheWarning`` are re-exported
here, where callers have always found them.

Every public function checks its concrete arguments before anything is traced or allocated, and raises
``TypeError``/``ValueError`` naming the parameter and its valid range.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from widthlimits import _validate, models, scalings, training
from widthlimits import data as data_mod
from widthlimits import sweep_cache as cache_mod
from widthlimits.results_files import (  # noqa: F401  (re-exported: callers use experiments.load_asset, ...)
    Sweep,
    load_asset,
    sweep_from_json,
    sweep_to_json,
)
from widthlimits.sweep_cache import CacheWarning, clear_cache  # noqa: F401  (re-exported)

#: Upper bound on ``batch x width x n_in`` floats of input-layer weights held at once by the direct engine
#: (about 1 GB of weights; the engine's working memory is a few times that).
MAX_BATCH_FLOATS = 2**28
#: Upper bound on the working memory of one batch of the Gram engine, by the model of :func:`_gram_chunking`.
MAX_GRAM_BATCH_BYTES = 10 * 2**30
#: Seeds are ``jax.random.PRNGKey`` seeds; without x64 JAX keeps only their low 32 bits, so ``-1`` and
#: ``2**32 - 1`` (or ``0`` and ``2**32``) would silently be the same draw. The range keeps distinct seeds distinct.
MAX_SEED = 2**32 - 1


class DivergenceWarning(RuntimeWarning):
    """Some runs of a sweep produced NaN or inf."""


@dataclasses.dataclass(frozen=True)
class Family:
    """A named family of nets: a scaling, and whether the initialisation-corrected model is trained."""

    scaling: scalings.Scaling
    init_corrected: bool = False

    def __post_init__(self):
        if not isinstance(self.scaling, scalings.Scaling):
            raise TypeError(
                f"scaling must be a Scaling (from scalings.preset, from_hat or from_raw), got "
                f"{type(self.scaling).__name__}"
            )
        # 0/1 or "False" would select a model silently; only a real bool is accepted (frozen: set through object)
        object.__setattr__(self, "init_corrected", _validate.boolean("init_corrected", self.init_corrected))


def _as_family(name: str, value: Family | scalings.Scaling) -> Family:
    if isinstance(value, Family):
        return value
    if isinstance(value, scalings.Scaling):
        return Family(value)
    raise TypeError(f"families must map names to Family or Scaling objects, got {type(value).__name__} for {name!r}")


def _check_families(families) -> None:
    """A non-empty mapping with string keys (the values are checked by the caller)."""
    if not isinstance(families, Mapping):
        raise TypeError(f"families must be a mapping of names to families, got {type(families).__name__}")
    if not families:
        raise ValueError("families must name at least one family, got an empty mapping")
    for name in families:
        if not isinstance(name, str):
            raise TypeError(f"families must have string names, got the key {name!r}")


def _check_seeds(seeds) -> tuple[int, ...]:
    return _validate.integers("seeds", seeds, low=0, high=MAX_SEED, distinct=True)


def _check_widths(widths) -> tuple[int, ...]:
    # Before any allocation: a width beyond MAX_WIDTH makes XLA abort the process instead of raising.
    return _validate.integers("widths", widths, low=1, high=_validate.MAX_WIDTH, distinct=True)


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


def _balanced_chunks(n_runs: int, chunk: int, per_key: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the fewest chunks of at most ``chunk`` runs, whole groups of ``per_key``, near-equal.

    Chunk sizes differ by at most one group, so a width compiles at most twice; nothing is padded (padding the
    last chunk up to ``chunk`` trained duplicate runs: 3 of 18 at 2^14 and 1 of 16 at 2^16 in Figure 1's paper
    profile, about 5% of its time, where a second compilation costs seconds).
    """
    n_groups, per_chunk = n_runs // per_key, max(1, chunk // per_key)
    parts = np.array_split(np.arange(n_runs).reshape(n_groups, per_key), -(-n_groups // per_chunk))  # larger first
    return [(int(p[0, 0]), int(p[-1, -1]) + 1) for p in parts]


def _run_width(mlp, width, runs: list[tuple], data, config: training.TrainConfig, engine: str, bar):
    """Train ``runs`` (tuples of family, lr, seed) at one width, in vmapped chunks (see :func:`_balanced_chunks`).

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
    out = []
    for start, stop in _balanced_chunks(len(ordered), chunk, per_key):
        part = ordered[start:stop]
        batch = training.Run(
            scalings.stack([fam.scaling for fam, _, _ in part]),
            jnp.array([lr for _, lr, _ in part], jnp.float32),
            jnp.array([float(fam.init_corrected) for fam, _, _ in part], jnp.float32),
            jnp.stack([jax.random.PRNGKey(seed) for _, _, seed in part]),
        )
        hist = training.train_runs(mlp, width, batch, data, config.replace(engine=engine), runs_per_key=per_key)
        out.append(jax.tree.map(np.asarray, hist))
        bar.update(width * len(part))
    done = jax.tree.map(lambda *xs: np.concatenate(xs), *out)
    inverse = np.argsort(order)
    return jax.tree.map(lambda a: a[inverse], done)


def sweep(
    mlp: models.MLP,
    widths: Sequence[int],
    families: Mapping[str, Family | scalings.Scaling],
    data: data_mod.Dataset,
    config: training.TrainConfig | None = None,
    *,
    seeds: Sequence[int],
    ref_lrs: Sequence[float] | None = None,
    cache: bool = True,
    progress: bool = True,
    **settings,
) -> Sweep:
    """Train every ``(width, family, ref_lr, seed)`` combination; see :class:`Sweep` for the layout.

    Args:
      mlp: the architecture.
      widths: hidden widths.
      families: name -> :class:`Family` (or a bare :class:`~widthlimits.scalings.Scaling`). Families may mix
        optimisers; each optimiser is one batch.
      data: the dataset (full batch).
      config: the static training settings (:class:`~widthlimits.training.TrainConfig`: steps, loss,
        engine, precision, ...); ``**settings`` (``n_steps=200``, ``loss="mse"``, ...) override its fields.
      seeds: integer seeds; seed ``s`` gives the same underlying initial draw in every family.
      ref_lrs: reference learning rates; ``None`` uses each family's optimiser default (one lr axis entry).
      cache: read and write the on-disk cache (``$WIDTHLIMITS_CACHE/runs``).
      progress: show a progress bar on stderr (work done, weighted by width, and the time left).

    Exponents, learning rates and seeds are traced: each width compiles once (per optimiser), and all its
    runs go through one vmapped program in as few memory-bounded chunks as possible.
    """
    # Every argument is checked here, before anything is traced, allocated or read from the cache: each would
    # otherwise fail deep inside XLA, or worse, run a plausible wrong sweep (int(8.7) is a width of 8).
    mlp = models._check_mlp(mlp)
    widths = _check_widths(widths)
    _check_families(families)
    fams = {name: _as_family(name, f) for name, f in families.items()}
    data = data_mod.check_dataset(data, mlp.n_in, name="data")
    seeds = _check_seeds(seeds)
    cfg = training._config(config, settings)
    lrs = _check_ref_lrs(ref_lrs)
    cache = _validate.boolean("cache", cache)
    progress = _validate.boolean("progress", progress)
    runs = [
        (fam, scalings.REF_LR[fam.scaling.optimizer] if lr is None else lr, seed)
        for fam in fams.values()
        for lr in lrs
        for seed in seeds
    ]
    engines = {
        opt: training.resolve_engine(mlp, opt, data.x_train.shape[0], cfg.engine)
        for opt in {f.scaling.optimizer for f in fams.values()}
    }
    bar_format = "{desc}{percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"
    bar = tqdm(total=sum(widths) * len(runs), disable=not progress, leave=False, desc="sweep", bar_format=bar_format)
    shared = dict(
        mlp=dataclasses.asdict(mlp),
        runs=[(dataclasses.asdict(f.scaling), f.init_corrected, lr, s) for f, lr, s in runs],
        data=data_mod.fingerprint(data),
        code=cache_mod._code_fingerprint(),
        engines=engines,
        **cache_mod._environment(),
    )
    per_width, seconds, cached = [], [], []
    for width in widths:
        bar.set_description(f"sweep, width {width}")
        start = time.perf_counter()
        hist, hit = _width_results(mlp, width, runs, data, cfg, engines, shared, cache, bar)
        per_width.append(hist)
        cached.append(hit)
        seconds.append(time.perf_counter() - start)
    bar.close()

    shape = (len(fams), len(lrs), len(seeds))
    stacked = jax.tree.map(lambda *xs: np.stack(xs).reshape(len(widths), *shape, *xs[0].shape[1:]), *per_width)
    result = Sweep(widths, tuple(fams), lrs, seeds, cfg.n_steps, stacked, tuple(seconds), tuple(cached))
    _warn_if_diverged(result)
    return result


def _check_ref_lrs(ref_lrs) -> tuple[float | None, ...]:
    """``(None,)`` for each family's default rate, else distinct rates in ``(0, inf)``."""
    if ref_lrs is None:
        return (None,)
    lrs = _validate.reals("ref_lrs", ref_lrs, low=0, open_low=True)
    if len(set(lrs)) != len(lrs):
        dup = sorted({v for v in lrs if lrs.count(v) > 1})
        raise ValueError(f"ref_lrs must be distinct (repeats would count one configuration twice), got {dup}")
    return lrs


def _width_results(mlp, width, runs, data, cfg, engines, shared, cache, bar) -> tuple[training.History, bool]:
    """The histories of ``runs`` at one width, ``(R, ...)`` leaves, from the cache if a verified entry exists.

    The cache key hashes everything that decides the numbers (``shared``: architecture, runs, data, code,
    engines, JAX flags; plus the width and the static settings); the entry is checked against it on load.
    """
    config = dict(
        shared,
        width=width,
        ref_width=cfg.ref_width,
        n_steps=cfg.n_steps,
        n_kernel=cfg.n_kernel,
        loss=cfg.loss,
        precision=cfg.precision,
    )
    path = cache_mod.runs_dir() / f"{cache_mod._cache_key(config)}.npz"
    if cache:
        layout = cache_mod._expected_layout(mlp, len(runs), cfg.n_steps, cfg.n_kernel, data.x_test.shape[0])
        hist = cache_mod._load(path, config, layout, cfg.n_steps)
        if hist is not None:
            bar.update(width * len(runs))
            return hist, True
    by_opt: dict[str, list[int]] = {}  # one compiled program per optimiser
    for i, (fam, _, _) in enumerate(runs):
        by_opt.setdefault(fam.scaling.optimizer, []).append(i)
    parts = {}
    for opt, idx in by_opt.items():
        part = _run_width(mlp, width, [runs[i] for i in idx], data, cfg, engines[opt], bar)
        parts.update({i: jax.tree.map(lambda a, k=k: a[k], part) for k, i in enumerate(idx)})
    hist = jax.tree.map(lambda *xs: np.stack(xs), *(parts[i] for i in range(len(runs))))
    if cache:
        cache_mod._save(path, hist, config)
    return hist, False


def _warn_if_diverged(result: Sweep) -> None:
    bad = result.diverged()
    if bad:
        shown = ", ".join(
            f"{b['family']} d={b['width']} lr={b['lr']} seed={b['seed']} step {b['step']}" for b in bad[:5]
        )
        warnings.warn(
            f"{len(bad)} run(s) diverged (NaN, inf or a logit above the divergence bound): {shown}"
            + (" ..." if len(bad) > 5 else ""),
            DivergenceWarning,
            stacklevel=3,
        )


class InitArrays(NamedTuple):
    """Logits ``(..., n)`` and per-layer kernels ``(..., L+1, n)`` of :meth:`InitStats.sel`."""

    logits: np.ndarray
    kernel: np.ndarray


@dataclasses.dataclass(frozen=True)
class InitStats:
    """Statistics of fresh initialisations (no training), labelled by ``(width, family, seed)``.

    Attributes:
      logits: ``(W, K, S, n)`` logits on the probe inputs.
      kernel: ``(W, K, S, L+1, n)`` learning-rate-weighted tangent-kernel diagonal of each layer.
      widths, families, seeds: the labels of the three leading axes.
    """

    logits: np.ndarray
    kernel: np.ndarray
    widths: tuple[int, ...] = ()
    families: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()

    def sel(self, *, width=None, family=None, seed=None) -> InitArrays:
        """The arrays at the named labels: a single value indexes its axis away, a list keeps it with those
        entries, ``None`` keeps it whole; the remaining axes keep the order ``(width, family, seed)``."""
        picked = [self.logits, self.kernel]
        axis = 0
        for name, value, options in (
            ("width", width, self.widths),
            ("family", family, self.families),
            ("seed", seed, self.seeds),
        ):
            if value is None:
                axis += 1
                continue
            many = isinstance(value, list | tuple)
            idx = [Sweep._index_of(name, v, options) for v in value] if many else Sweep._index_of(name, value, options)
            picked = [np.take(a, idx, axis=axis) for a in picked]
            axis += many
        return InitArrays(*picked)


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

    Seed ``s`` gives the same underlying draw for every family, as in :func:`sweep`. ``families`` maps names
    to scalings of one optimiser (their learning rates weight the kernels); a :class:`Family` is accepted if
    it is not initialisation-corrected (a corrected net starts as the SP net, not as its own scaling).
    """
    mlp = models._check_mlp(mlp)
    widths = _check_widths(widths)
    _check_families(families)
    scales = []
    for name, f in families.items():
        if isinstance(f, Family):
            if f.init_corrected:
                raise ValueError(f"families must not hold init-corrected families at initialisation, got {name!r}")
            f = f.scaling
        if not isinstance(f, scalings.Scaling):
            raise TypeError(f"families must map names to Scaling objects, got {type(f).__name__} for {name!r}")
        scales.append(f)
    optimizers = sorted({s.optimizer for s in scales})
    if len(optimizers) > 1:
        raise ValueError(f"families must share one optimizer (call at_init once per optimizer), got {optimizers}")
    xs = data_mod.check_inputs(xs, mlp.n_in, name="xs")
    seeds = _check_seeds(seeds)
    ref_width = _validate.width("ref_width", ref_width)
    stacked = scalings.stack(scales)
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
    out = []
    for width in widths:
        batch = max(1, min(len(seeds), MAX_BATCH_FLOATS // (8 * width * (mlp.n_in + width * (mlp.depth - 1) + 1))))
        out.append(
            jax.tree.map(np.asarray, _at_init(mlp, int(width), stacked, keys, jnp.asarray(xs), ref_width, batch))
        )
    logits, kernel = (np.stack(parts) for parts in zip(*out))
    return InitStats(logits, kernel, widths, tuple(families), seeds)
