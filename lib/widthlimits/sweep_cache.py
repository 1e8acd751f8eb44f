"""The on-disk cache of sweeps: one entry per width, trusted only if it proves to be the requested one.

:func:`widthlimits.experiments.sweep` stores the result of each width in ``$WIDTHLIMITS_CACHE/runs`` under a
key that hashes the *whole* configuration: architecture, width, exponents, learning rates, seeds, steps, the
data's contents, the library's source code (:data:`_CODE_MODULES`, this module included), the JAX version and
JAX's random-number and precision flags. A changed configuration therefore never reads a stale entry, and a
finished width survives an interrupted sweep. Entries are written atomically.

An entry is trusted only if it proves to be the requested one: its stored configuration must equal the
request's, every field must have the shape and dtype the request implies, and its divergence flags must agree
with its numbers. Anything else is reported with a :class:`CacheWarning` and recomputed (and overwritten).
A cache that cannot be written is reported the same way; the results are returned regardless.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path

import jax
import numpy as np

from widthlimits import data as data_mod
from widthlimits import models, training

#: The modules whose source decides a sweep's numbers or the entries' format; their bytes are part of every key.
_CODE_MODULES = (
    "_validate",
    "numerics",
    "divergence",
    "cifar10",
    "data",
    "scalings",
    "models",
    "losses",
    "optimizers",
    "runs",
    "engines",
    "training",
    "sweep_cache",
    "experiments",
)
#: JAX flags that change the numbers a sweep produces (random bits, or the precision of the arithmetic);
#: they are part of every cache key.
_JAX_FLAGS = ("jax_default_prng_impl", "jax_threefry_partitionable", "jax_enable_x64")


class CacheWarning(RuntimeWarning):
    """A cache entry was ignored (unreadable, or not the requested one) or could not be written."""


def runs_dir() -> Path:
    """The folder of the sweep entries, ``$WIDTHLIMITS_CACHE/runs`` (it may not exist yet)."""
    return data_mod.cache_dir() / "runs"


def _code_fingerprint() -> str:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _CODE_MODULES:
        h.update((here / f"{name}.py").read_bytes())
    return h.hexdigest()[:16]


def _jax_flag(name: str):
    """The value of a JAX config flag, as JSON-ready data; ``None`` where this JAX version lacks it."""
    # Flags with a context manager are read as attributes (``jax.config.read`` refuses them in recent JAX);
    # older versions only offer ``read``. Either way the value enters a cache key, so it must not raise.
    try:
        value = getattr(jax.config, name)
    except AttributeError:
        try:
            value = jax.config.read(name)
        except Exception:
            return None
    return value if isinstance(value, bool | int | float | str | type(None)) else str(value)


def _environment() -> dict:
    """What besides the configuration decides a sweep's numbers: JAX's version and its PRNG/precision flags."""
    return dict(jax=jax.__version__, **{name: _jax_flag(name) for name in _JAX_FLAGS})


def _canonical(config: dict):
    """``config`` as it reads back from JSON (tuples become lists), the form stored in an entry."""
    return json.loads(json.dumps(config, sort_keys=True, default=str))


def _cache_key(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _save(path: Path, hist: training.History, config: dict) -> bool:
    """Write an entry; on an OS error (no disk space, no permission, the directory is a file) warn and go on.

    The results are in memory and are returned by the caller either way: a cache must never lose them.
    """
    buf = io.BytesIO()
    np.savez(buf, config=np.array(json.dumps(config, sort_keys=True, default=str)), **hist._asdict())
    try:
        data_mod._atomic_write(path, buf.getvalue())
    except OSError as err:
        warnings.warn(
            f"could not write the cache entry {path} ({type(err).__name__}: {err}); the results are returned "
            "but not cached",
            CacheWarning,
            stacklevel=3,
        )
        return False
    return True


def _expected_layout(mlp: models.MLP, n_runs: int, n_steps: int, n_kernel: int, n_test: int) -> dict:
    """``field -> (shape, allowed dtypes)`` of an entry of ``n_runs`` runs, as :func:`training.train_runs` makes it.

    Derived from the request only (never from the file), following :class:`~widthlimits.training.History`.
    Without x64 every float is float32; with it, some records come out float64, so both are allowed.
    """
    t1, depth, n_k = n_steps + 1, mlp.depth, min(n_kernel, n_test)
    floats = (np.dtype(np.float32), np.dtype(np.float64)) if _jax_flag("jax_enable_x64") else (np.dtype(np.float32),)
    shapes = dict(
        train_loss=(t1,),
        train_acc=(t1,),
        test_loss=(t1,),
        test_acc=(t1,),
        test_logits=(t1, n_test),
        kernel=(t1, depth + 1, n_k),
        preact_rms=(t1, depth),
        hat_distance=(t1, depth + 1),
        nonfinite_step=(),
    )
    return {
        k: ((n_runs, *shape), (np.dtype(np.int32),) if k == "nonfinite_step" else floats) for k, shape in shapes.items()
    }


def _short(value, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _config_problems(stored, requested: dict) -> list[str]:
    if not isinstance(stored, dict):
        return [f"its stored config is a {type(stored).__name__}, not a dict"]
    return [
        f"config[{k!r}] is {_short(stored.get(k))} in the file but {_short(requested.get(k))} in the request"
        for k in sorted(set(stored) | set(requested))
        if stored.get(k) != requested.get(k)
    ]


def _layout_problems(arrays: dict, layout: dict) -> list[str]:
    problems = []
    for k, (shape, dtypes) in layout.items():
        a = arrays[k]
        if a.shape != shape:
            problems.append(f"{k} has shape {a.shape}, expected {shape}")
        elif a.dtype not in dtypes:
            problems.append(f"{k} has dtype {a.dtype}, expected {' or '.join(map(str, dtypes))}")
    return problems


def _nonfinite_problems(arrays: dict, n_steps: int) -> list[str]:
    """Whether ``nonfinite_step`` agrees with the numbers it summarises (shapes already checked).

    If the loss or a test logit of a run is NaN/inf at step ``k``, its ``nonfinite_step`` must be in ``[0, k]``
    (training may flag a run earlier, e.g. for a finite overflow, never later); otherwise in ``[-1, n_steps]``.
    An entry that hides NaNs behind ``-1`` would pass divergent runs off as converged ones.
    """
    bad = ~np.isfinite(arrays["train_loss"]) | ~np.all(np.isfinite(arrays["test_logits"]), axis=-1)  # (runs, T+1)
    first = np.where(bad.any(axis=1), bad.argmax(axis=1), -1)
    flag = arrays["nonfinite_step"]
    wrong = np.where(first >= 0, (flag < 0) | (flag > first), (flag < -1) | (flag > n_steps))
    return [
        f"run {r} has nonfinite_step {int(flag[r])} but its loss/test logits are "
        + (f"first non-finite at step {int(first[r])}" if first[r] >= 0 else f"finite at all {n_steps + 1} steps")
        for r in np.flatnonzero(wrong)
    ]


def _load(path: Path, config: dict, layout: dict, n_steps: int) -> training.History | None:
    """The entry at ``path`` if it is exactly the requested one; ``None`` (recompute) if absent or not.

    An entry is not trusted because of its name: it may be a copy of another entry, written by another
    version, truncated, or edited. Its stored config, its layout and its divergence flags are all checked.
    """
    try:
        if not path.exists():
            return None
        with np.load(path) as f:
            stored = json.loads(f["config"].item())
            arrays = {k: f[k] for k in training.History._fields}
    except Exception as err:  # a corrupt entry is recomputed, never trusted
        warnings.warn(
            f"ignoring unreadable cache entry {path} ({type(err).__name__}: {err}); recomputing it",
            CacheWarning,
            stacklevel=3,
        )
        return None
    problems = _config_problems(stored, _canonical(config)) or _layout_problems(arrays, layout)
    if not problems:  # flags are compared with the numbers only once the shapes are known to be right
        problems = _nonfinite_problems(arrays, n_steps)
    if problems:
        shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
        warnings.warn(
            f"ignoring cache entry {path}, which is not the requested one: {shown}; recomputing and overwriting it",
            CacheWarning,
            stacklevel=3,
        )
        return None
    return training.History(**arrays)


def clear_cache() -> int:
    """Delete every cached sweep entry and every orphan; returns how many files were removed.

    Orphans are the ``.*.tmp`` files of atomic writes killed before their rename
    (:func:`~widthlimits.data._atomic_write`): they are never read, only take space. An entry being written
    by another process at this moment loses its temporary file; that write then fails with a
    :class:`CacheWarning`, and its results are still returned.
    """
    root = runs_dir()
    if not root.is_dir():
        return 0
    removed = 0
    for f in [*root.glob("*.npz"), *root.glob(".*.tmp")]:
        try:
            f.unlink()
            removed += 1
        except FileNotFoundError:  # removed meanwhile by another process: not counted, not an error
            pass
    return removed
