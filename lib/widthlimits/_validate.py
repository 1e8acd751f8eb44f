"""Argument checks shared by the public API, run on concrete values before anything is traced.

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, wrong value) with a
message that names the parameter and the valid range, so a bad call fails at the call site with a sentence a
reader can act on, never deep inside XLA or, worse, with a plausible wrong number.

Traced values (inside ``jit``/``vmap``) cannot be inspected; the scalar checks let them through unchanged, so
the same function can be called eagerly (checked) and from traced code (the caller checked before tracing).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

#: Widest hidden layer the library accepts. A ``(2**20, 3072)`` float32 input layer is 12 GiB; beyond this a
#: request cannot fit a workstation's memory, and XLA aborts the process (killing a notebook's kernel) instead
#: of raising, so the cap is checked before anything is allocated.
MAX_WIDTH = 2**20


def is_traced(value: Any) -> bool:
    """Whether ``value`` is (or holds) a JAX tracer, i.e. cannot be checked concretely."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(value))


def _interval(low, high, open_low: bool, open_high: bool) -> str:
    def fmt(v) -> str:  # integers in full (2**20 reads 1048576, not 1.04858e+06)
        return str(int(v)) if float(v).is_integer() and abs(v) < 2**63 else f"{v:g}"

    lo = "-inf" if low is None else fmt(low)
    hi = "inf" if high is None else fmt(high)
    return f"{'(' if open_low or low is None else '['}{lo}, {hi}{')' if open_high or high is None else ']'}"


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a Python ``int`` in ``[low, high]``; booleans, floats and strings are rejected.

    NumPy integer scalars and 0-d integer arrays are accepted (``np.int64(64)`` is a valid size).
    """
    if isinstance(value, np.ndarray | jax.Array) and value.ndim == 0 and not is_traced(value):
        value = value.item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer in {_interval(low, high, False, False)}, got {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be an integer in {_interval(low, high, False, False)}, got {v}")
    return v


def real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> Any:
    """``value`` as a finite Python ``float`` in the given interval; a traced value is returned unchanged.

    Accepts Python and NumPy reals and 0-d real arrays (``jnp.float32(0.02)``); rejects booleans, strings,
    complex numbers, NaN and infinities.
    """
    if is_traced(value):
        return value
    span = _interval(low, high, open_low, open_high)
    if isinstance(value, np.ndarray | jax.Array):
        if value.ndim != 0 or value.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a real number in {span}, got an array of shape {value.shape}")
        value = value.item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in {span}, got {value!r}")
    v = float(value)
    ok = math.isfinite(v)
    ok = ok and (low is None or (v > low if open_low else v >= low))
    ok = ok and (high is None or (v < high if open_high else v <= high))
    if not ok:
        raise ValueError(f"{name} must be a finite real number in {span}, got {value!r}")
    return v


def choice(name: str, value: Any, options: Sequence[Any]) -> Any:
    """``value`` if it is one of ``options`` (compared with ``==``, strings only to strings)."""
    if not isinstance(value, str | int | float | type(None)) or value not in tuple(options):
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def boolean(name: str, value: Any) -> bool:
    """A real ``bool`` (or NumPy bool); ``0``/``1`` and strings such as ``"False"`` are rejected."""
    if isinstance(value, np.ndarray | jax.Array) and value.ndim == 0 and value.dtype == bool and not is_traced(value):
        value = value.item()
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def integers(
    name: str, values: Any, *, low: int | None = None, high: int | None = None, distinct: bool = True
) -> tuple[int, ...]:
    """A non-empty sequence of integers in ``[low, high]``, distinct unless ``distinct=False``."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a sequence of integers, got {type(values).__name__}")
    out = tuple(integer(f"{name}[{i}]", v, low=low, high=high) for i, v in enumerate(values))
    if not out:
        raise ValueError(f"{name} must hold at least one integer, got an empty sequence")
    if distinct and len(set(out)) != len(out):
        dup = sorted({v for v in out if out.count(v) > 1})
        raise ValueError(f"{name} must be distinct (repeats would count one configuration twice), got repeats {dup}")
    return out


def reals(name: str, values: Any, **bounds: Any) -> tuple[float, ...]:
    """A non-empty sequence of finite reals, each checked by :func:`real` with ``bounds``."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a sequence of real numbers, got {type(values).__name__}")
    out = tuple(real(f"{name}[{i}]", v, **bounds) for i, v in enumerate(values))
    if not out:
        raise ValueError(f"{name} must hold at least one number, got an empty sequence")
    return out


def width(name: str, value: Any) -> int:
    """A hidden width: an integer in ``[1, MAX_WIDTH]``."""
    return integer(name, value, low=1, high=MAX_WIDTH)


def array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    kinds: str = "f",
    finite: bool = True,
    min_size: int = 0,
) -> Any:
    """Check a concrete array's rank, shape (``None`` entries are free), dtype kind and finiteness.

    Returns ``value`` unchanged (a traced array is not inspected beyond its shape and dtype).
    """
    if not hasattr(value, "shape") or not hasattr(value, "dtype"):
        try:
            value = np.asarray(value)
        except Exception:
            raise TypeError(f"{name} must be an array, got {type(value).__name__}") from None
    want = f"{ndim}-D " if ndim is not None else ""
    if ndim is not None and len(value.shape) != ndim:
        raise ValueError(f"{name} must be a {want}array, got shape {tuple(value.shape)}")
    if shape is not None:
        if len(value.shape) != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape)):
            spec = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {spec}, got {tuple(value.shape)}")
    if np.dtype(value.dtype).kind not in kinds:
        kind_names = {"f": "floating", "i": "signed integer", "u": "unsigned integer", "b": "boolean"}
        raise TypeError(
            f"{name} must have a {' or '.join(kind_names.get(k, k) for k in kinds)} dtype, got {value.dtype}"
        )
    if value.shape and int(np.prod(value.shape)) < min_size:
        raise ValueError(f"{name} must hold at least {min_size} entries, got shape {tuple(value.shape)}")
    if finite and not is_traced(value) and np.dtype(value.dtype).kind == "f":
        if not np.all(np.isfinite(np.asarray(value))):
            raise ValueError(f"{name} must be finite, but it holds NaN or inf")
    return value


def labels(name: str, value: Any, n: int) -> Any:
    """Binary labels: shape ``(n,)``, every entry exactly 0 or 1 (not ±1, not one-hot, not a column)."""
    array(name, value, shape=(n,), kinds="fiub")
    if not is_traced(value):
        v = np.asarray(value)
        if not np.isin(v, (0, 1)).all():
            found = np.unique(v)[:5]
            raise ValueError(f"{name} must hold labels in {{0, 1}} (class index, not ±1), got values {found}")
    return value
