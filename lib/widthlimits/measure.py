r"""Measurements on sweep results: power-law fits in width, with honest error bars.

A width exponent is the least-squares slope of :math:`\log_2 y` against :math:`\log_2 d`. Its uncertainty
comes from resampling seeds (:func:`bootstrap_slope`), because the seeds, not the widths, are the random
part of an experiment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from widthlimits import _validate


class PowerLaw(NamedTuple):
    """``y ~ 2**intercept * d**slope``; ``stderr`` is the slope's standard error (NaN if not estimable)."""

    slope: float
    intercept: float
    stderr: float


def _real_array(name: str, values: object, *, ndim: int | None = None) -> np.ndarray:
    """``values`` as a float64 array; strings, booleans, objects and complex numbers are rejected by name."""
    if isinstance(values, str | bytes) or not (
        isinstance(values, Sequence | np.ndarray) or hasattr(values, "__array__")
    ):
        raise TypeError(f"{name} must be an array or sequence of real numbers, got {type(values).__name__}")
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):  # ragged nesting
        raise TypeError(f"{name} must be a rectangular array of real numbers") from None
    if arr.dtype.kind not in "iuf":  # 'b' booleans, 'U' strings, 'O' None or mixed, 'c' complex
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    return arr.astype(float)


def _log2_widths(widths: object) -> np.ndarray:
    """``log2(widths)`` after checking: 1-D, finite, > 0, at least two distinct (else no slope is defined)."""
    w = _real_array("widths", widths, ndim=1)
    if not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError(f"widths must be finite real numbers > 0, got {w}")
    if len(np.unique(w)) < 2:
        raise ValueError(f"widths must hold at least two distinct widths to fit a slope, got {w}")
    return np.log2(w)


def _check_values(name: str, y: np.ndarray) -> None:
    if not np.all(np.isfinite(y) & (y > 0)):
        raise ValueError(
            f"{name} must be finite and > 0 to fit a power law (a diverged run must be reported, not fitted), got {y}"
        )


def _fit(x: np.ndarray, y: np.ndarray) -> PowerLaw:
    """Least squares of ``log2 y`` on ``x = log2 d``, both checked."""
    y = np.log2(y)
    A = np.stack([x, np.ones_like(x)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(A, y, rcond=None)
    if len(x) > 2:
        resid = y - A @ np.array([slope, intercept])
        stderr = float(np.sqrt(resid @ resid / (len(x) - 2) / np.sum((x - x.mean()) ** 2)))
    else:
        stderr = float("nan")
    return PowerLaw(float(slope), float(intercept), stderr)


def fit_power_law(widths: Sequence[float], values: Sequence[float]) -> PowerLaw:
    """Least-squares fit of ``log2(values)`` on ``log2(widths)``; ``(W,), (W,) -> PowerLaw``.

    Raises ``ValueError`` if fewer than two distinct widths are given, a width is not finite and positive, or a
    value is not finite and positive (a diverged run must be reported, not fitted); ``TypeError`` for
    non-numbers (strings, booleans).
    """
    x = _log2_widths(widths)
    y = _real_array("values", values)
    if x.shape != y.shape:
        raise ValueError(f"widths and values must be 1-D of equal length >= 2, got {x.shape} and {y.shape}")
    _check_values("values", y)
    return _fit(x, y)


def bootstrap_slope(
    widths: Sequence[float],
    samples: np.ndarray,
    *,
    statistic: Callable[[np.ndarray], float] = np.mean,
    n_boot: int = 1000,
    seed: int = 0,
) -> PowerLaw:
    """Slope of ``statistic(samples[w])`` versus width, with a seed-bootstrap standard error.

    Args:
      widths: ``(W,)``.
      samples: ``(W, S, ...)``: per width, ``S >= 2`` independent seeds (trailing axes are passed to
        ``statistic`` together with the seed axis, e.g. test points). One seed has no spread to resample.
      statistic: reduces ``(S, ...)`` to a positive number (default: the mean).
      n_boot: bootstrap resamples of the seeds (independently per width), ``>= 2``.
      seed: seed of the resampling, an integer ``>= 0``.
    """
    x = _log2_widths(widths)
    samples = _real_array("samples", samples)
    if samples.ndim < 2 or samples.shape[0] != len(x):
        raise ValueError(f"samples must have shape (W={len(x)}, S, ...) (one row per width), got {samples.shape}")
    n_seeds = samples.shape[1]
    if n_seeds < 2:
        raise ValueError(f"samples must hold at least 2 seeds (axis 1) to estimate a spread, got {n_seeds}")
    if not callable(statistic):
        raise TypeError(f"statistic must be callable as statistic(samples[w]) -> float, got {statistic!r}")
    n_boot = _validate.integer("n_boot", n_boot, low=2)
    seed = _validate.integer("seed", seed, low=0)

    def stat(s: np.ndarray) -> float:
        v = statistic(s)
        kind = getattr(np.asarray(v), "dtype", np.dtype(object)).kind if not isinstance(v, str | bytes) else "U"
        if kind not in "iuf" or np.ndim(v) != 0:
            raise TypeError(f"statistic must reduce samples[w] to one real number, got {v!r}")
        return v

    values = np.asarray([stat(s) for s in samples], dtype=float)
    _check_values("statistic(samples[w])", values)
    fit = _fit(x, values)
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(n_boot):
        resampled = np.asarray([stat(s[rng.integers(0, n_seeds, n_seeds)]) for s in samples], dtype=float)
        _check_values("statistic(samples[w]) of a seed resample", resampled)
        slopes.append(_fit(x, resampled).slope)
    return PowerLaw(fit.slope, fit.intercept, float(np.std(slopes)))


def sup_distance(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """``max |a - b|`` along ``axis`` (e.g. over training steps); NaN if either side is not finite.

    ``a`` and ``b`` must broadcast together and be non-empty along ``axis``.
    """
    a_, b_ = _real_array("a", a), _real_array("b", b)
    try:
        shape = np.broadcast_shapes(a_.shape, b_.shape)
    except ValueError:
        raise ValueError(f"a and b must have broadcastable shapes, got {a_.shape} and {b_.shape}") from None
    if not shape:
        raise ValueError("a and b must have at least one axis to take the maximum along")
    axis = _validate.integer("axis", axis, low=-len(shape), high=len(shape) - 1)
    if shape[axis] == 0:
        raise ValueError(f"a and b must be non-empty along axis {axis}, got broadcast shape {shape}")
    diff = np.abs(a_ - b_)
    return np.where(np.all(np.isfinite(diff), axis=axis), np.max(np.nan_to_num(diff), axis=axis), np.nan)


def rms(values: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    r"""Root mean square :math:`\sqrt{\operatorname{mean}(x^2)}` along ``axis`` (all axes if ``None``), in the
    dtype of ``values``: the size of a logit or pre-activation, or a distance between two sets of logits."""
    arr = np.asarray(_validate.array("values", values, kinds="fiu", finite=False, min_size=1))
    if axis is not None:
        for a in axis if isinstance(axis, tuple) else (axis,):
            _validate.integer("axis", a, low=-max(arr.ndim, 1), high=max(arr.ndim, 1) - 1)
    return np.sqrt(np.mean(arr**2, axis=axis))


def kernel_change(kernel: np.ndarray, step: int) -> np.ndarray:
    r"""Relative change of the tangent kernel by step ``k``,
    :math:`\mathbb E_x|\Theta^{(k)}(x,x)/\Theta^{(0)}(x,x) - 1|`.

    ``kernel (..., T+1, L+1, n)`` is ``History.kernel``: the learning-rate-weighted diagonal of each layer, summed
    here over the layers (the kernel of the whole net); returns ``(...)``. ``step`` in ``-(T+1)..T``. The
    initial diagonal must be positive (a kernel that starts at zero has no relative change).
    """
    k = np.asarray(_validate.array("kernel", kernel, kinds="f", finite=False))
    if k.ndim < 3:
        raise ValueError(f"kernel must have shape (..., T+1, L+1, n), got {k.shape}")
    n_steps = k.shape[-3] - 1
    step = _validate.integer("step", step, low=-(n_steps + 1), high=n_steps)
    total = k.sum(-2)
    if not np.all(total[..., 0, :] > 0):
        raise ValueError("kernel must be positive at step 0 (the relative change divides by it)")
    return np.abs(total[..., step, :] / total[..., 0, :] - 1).mean(-1)


def exponent_verdict(slope: float, *, keep: float, lose: float) -> bool | None:
    """Whether a width exponent that a property needs at 0 keeps it: ``True`` if ``|slope| <= keep``, ``False`` if
    ``|slope| >= lose``, ``None`` in between (not decided at these widths); ``0 <= keep < lose``."""
    slope = _validate.real("slope", slope)
    keep = _validate.real("keep", keep, low=0)
    lose = _validate.real("lose", lose, low=keep, open_low=True)
    return True if abs(slope) <= keep else False if abs(slope) >= lose else None


class AffineFit(NamedTuple):
    """``y ~ intercept + slope * x`` with a seed-bootstrap standard error of the intercept, and the largest
    relative residual ``max |fit(x) / y - 1|`` of the seed means."""

    slope: float
    intercept: float
    intercept_se: float
    max_residual: float


def affine_fit(x: Sequence[float], samples: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> AffineFit:
    r"""Least-squares line through the seed means of ``samples (X, S)`` against ``x (X,)``.

    The bootstrap resamples the seeds *jointly* at every ``x``: seed ``s`` is the same draw at every width, so its
    errors at neighbouring widths are correlated and an intercept is only as certain as the draws behind it.
    ``S >= 2``, ``X >= 2`` distinct finite ``x``; ``n_boot >= 2``; ``seed >= 0``. The seed means must be non-zero.
    """
    xs = _real_array("x", x, ndim=1)
    if not np.all(np.isfinite(xs)) or len(np.unique(xs)) < 2:
        raise ValueError(f"x must hold at least two distinct finite values, got {xs}")
    s = _real_array("samples", samples, ndim=2)
    if s.shape[0] != len(xs) or s.shape[1] < 2 or not np.all(np.isfinite(s)):
        raise ValueError(f"samples must be finite, of shape (X={len(xs)}, S >= 2 seeds), got {s.shape}")
    n_boot = _validate.integer("n_boot", n_boot, low=2)
    seed = _validate.integer("seed", seed, low=0)
    means = s.mean(1)
    if not np.all(means != 0):
        raise ValueError("samples must have non-zero seed means (the residual is relative to them)")
    c1, c0 = np.polyfit(xs, means, 1)
    rng, n_s = np.random.default_rng(seed), s.shape[1]
    boot = np.array([np.polyfit(xs, s[:, rng.integers(0, n_s, n_s)].mean(1), 1)[1] for _ in range(n_boot)])
    residual = np.abs(np.polyval([c1, c0], xs) / means - 1).max()
    return AffineFit(float(c1), float(c0), float(boot.std()), float(residual))


def relative_error(measured: np.ndarray, reference: np.ndarray) -> float:
    """``max |measured - reference| / max |reference|``: how far a computation is from a formula, as a fraction
    of the formula's largest value. Shapes must broadcast; ``reference`` must not be all zero."""
    m, r = _real_array("measured", measured), _real_array("reference", reference)
    try:
        np.broadcast_shapes(m.shape, r.shape)
    except ValueError:
        raise ValueError(f"measured and reference must broadcast together, got {m.shape} and {r.shape}") from None
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(r))) or not np.abs(r).max() > 0:
        raise ValueError("measured and reference must be finite, and reference not all zero")
    return float(np.abs(m - r).max() / np.abs(r).max())
