r"""Measurements on sweep results: power-law fits in width, with honest error bars.

A width exponent is the least-squares slope of :math:`\log_2 y` against :math:`\log_2 d`. Its uncertainty
comes from resampling seeds (:func:`bootstrap_slope`), because the seeds, not the widths, are the random
part of an experiment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np


class PowerLaw(NamedTuple):
    """``y ~ 2**intercept * d**slope``; ``stderr`` is the slope's standard error (NaN if not estimable)."""

    slope: float
    intercept: float
    stderr: float


def fit_power_law(widths: Sequence[float], values: Sequence[float]) -> PowerLaw:
    """Least-squares fit of ``log2(values)`` on ``log2(widths)``; ``(W,), (W,) -> PowerLaw``.

    Raises ``ValueError`` if fewer than two widths are given or a value is not finite and positive (a
    diverged run must be reported, not fitted).
    """
    x = np.log2(np.asarray(widths, dtype=float))
    y = np.asarray(values, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"widths and values must be 1-D of equal length >= 2, got {x.shape} and {y.shape}")
    if not np.all(np.isfinite(y) & (y > 0)):
        raise ValueError(f"values must be finite and > 0 to fit a power law, got {y}")
    y = np.log2(y)
    A = np.stack([x, np.ones_like(x)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(A, y, rcond=None)
    if len(x) > 2:
        resid = y - A @ np.array([slope, intercept])
        stderr = float(np.sqrt(resid @ resid / (len(x) - 2) / np.sum((x - x.mean()) ** 2)))
    else:
        stderr = float("nan")
    return PowerLaw(float(slope), float(intercept), stderr)


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
      samples: ``(W, S, ...)``: per width, ``S`` independent seeds (trailing axes are passed to ``statistic``
        together with the seed axis, e.g. test points).
      statistic: reduces ``(S, ...)`` to a positive number (default: the mean).
      n_boot: bootstrap resamples of the seeds (independently per width).
    """
    samples = np.asarray(samples, dtype=float)
    fit = fit_power_law(widths, [statistic(s) for s in samples])
    rng = np.random.default_rng(seed)
    n_seeds = samples.shape[1]
    slopes = [
        fit_power_law(widths, [statistic(s[rng.integers(0, n_seeds, n_seeds)]) for s in samples]).slope
        for _ in range(n_boot)
    ]
    return PowerLaw(fit.slope, fit.intercept, float(np.std(slopes)))


def sup_distance(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """``max |a - b|`` along ``axis`` (e.g. over training steps); NaN if either side is not finite."""
    diff = np.abs(np.asarray(a, float) - np.asarray(b, float))
    return np.where(np.all(np.isfinite(diff), axis=axis), np.max(np.nan_to_num(diff), axis=axis), np.nan)
