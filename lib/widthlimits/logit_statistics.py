r"""How close the law of one family's logits across seeds is to the reference's: Gaussian KLs, with jackknife errors.

A *logit law* is the distribution, over independent seeds, of a net's logit at a test point after ``k`` steps.
Every function here takes logits with the seeds on the leading axis, ``(S, T+1, n)`` (steps, test points).

* :func:`per_point_kl` fits a normal to each test point across seeds and averages
  :math:`\mathrm{KL}(\text{model}\,\|\,\text{reference})` over the points (the reference code's measure of
  :cite:t:`golikov2020dynamically`). With a handful of seeds each fitted variance is very noisy, so this estimate
  is far above zero even for an exact replica of the reference.
* :func:`pooled_kl` pools the points first. With :math:`v_F = \mathbb E_x\operatorname{Var}_{\text{seeds}} f(x)`,
  the noise-corrected squared distance of the mean logits
  :math:`m_F = \mathbb E_x(\bar f_F(x) - \bar f_R(x))^2 - v_F/S_F - v_R/S_R` (the two subtracted terms are the
  expected value of the squared distance between two sample means of equal laws) and :math:`v = v_F / v_R`,

  .. math::

     \mathrm{KL}_{\text{pooled}} = \tfrac12\Big(v + \frac{m_F}{v_R} - 1 - \ln v\Big),

  the divergence of two normals with these variances and this mean distance (:func:`limits.gaussian_kl
  <widthlimits.limits.gaussian_kl>` with the mean term replaced by its unbiased estimate, which can dip
  slightly below zero for a family with the reference's law).
* :func:`jackknife_se` is the delete-one-seed jackknife of any such statistic of several independent seed
  samples; :func:`paired_kl_difference_se` the one of a difference of two families that share their seeds.
  The jackknife, not the bootstrap: a bootstrap resample repeats seeds, which ruins a variance fitted to four.

The pooled statistics are computed in the dtype of the logits (float32 histories stay float32), so that a
chapter's numbers do not depend on where this code lives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from widthlimits import _validate, limits


def _seeds(name: str, logits: Any) -> np.ndarray:
    """``logits`` as a finite real array with a leading seed axis of length >= 2 and a trailing point axis."""
    arr = np.asarray(_validate.array(name, logits, kinds="fiu"))
    if arr.ndim < 2 or arr.shape[0] < 2:
        raise ValueError(f"{name} must have shape (S >= 2 seeds, ..., n points), got {arr.shape}")
    return arr


def _pair(f: Any, g: Any) -> tuple[np.ndarray, np.ndarray]:
    f, g = _seeds("f", f), _seeds("g", g)
    if f.shape[1:] != g.shape[1:]:
        raise ValueError(f"f and g must agree after the seed axis, got shapes {f.shape} and {g.shape}")
    return f, g


def per_point_kl(f: np.ndarray, g: np.ndarray) -> np.ndarray:
    r"""Mean over points of :math:`\mathrm{KL}(\mathcal N(\bar f, s_f^2)\,\|\,\mathcal N(\bar g, s_g^2))`, the normals
    fitted across seeds (unbiased variances); ``(S_f, ..., n), (S_g, ..., n) -> (...)`` in float64."""
    f, g = _pair(f, g)
    kl = limits.gaussian_kl(f.mean(0), f.var(0, ddof=1), g.mean(0), g.var(0, ddof=1))
    return np.mean(kl, axis=-1)


class PooledKL(NamedTuple):
    """:func:`pooled_kl` of two logit laws, each ``(...)`` (one value per step for ``(S, T+1, n)`` logits).

    Attributes:
      kl: the pooled, noise-corrected KL (module docstring).
      spread_ratio: :math:`v_F / v_R`, the spread of the family's logits across seeds relative to the reference's.
      mean_distance: :math:`m_F / v_R`, the noise-corrected squared distance of the mean logits, standardised.
    """

    kl: np.ndarray
    spread_ratio: np.ndarray
    mean_distance: np.ndarray


def pooled_kl(f: np.ndarray, g: np.ndarray) -> PooledKL:
    """The pooled KL of the law of ``f`` from that of ``g`` (module docstring); ``(S_f, ..., n), (S_g, ..., n)``.

    Both need at least two seeds and must agree after the seed axis; ``g``'s spread must be positive.
    """
    f, g = _pair(f, g)
    vf, vg = f.var(0, ddof=1).mean(-1), g.var(0, ddof=1).mean(-1)
    if not np.all(vg > 0):
        raise ValueError("g must vary across seeds (its pooled variance is 0): a deterministic reference has no law")
    m = np.mean((f.mean(0) - g.mean(0)) ** 2, -1) - vf / len(f) - vg / len(g)
    v = vf / vg
    return PooledKL(0.5 * (v + m / vg - 1 - np.log(v)), v, m / vg)


def _check_steps(steps: object) -> slice:
    if not isinstance(steps, slice):
        raise TypeError(f"steps must be a slice of the step axis (e.g. slice(1, None)), got {steps!r}")
    return steps


def mean_pooled_kl(f: np.ndarray, g: np.ndarray, steps: slice = slice(1, None)) -> float:
    """:func:`pooled_kl` of ``(S_f, T+1, n)`` and ``(S_g, T+1, n)`` logits averaged over ``steps`` (default: every
    step after the initialisation, where the laws are set by the scalings alone)."""
    kl = pooled_kl(f, g).kl[_check_steps(steps)]
    if kl.size == 0:
        raise ValueError(f"steps must select at least one step, got {steps!r} of {pooled_kl(f, g).kl.shape[0]}")
    return float(kl.mean())


def jackknife_se(statistic: Callable[..., float], *samples: np.ndarray | tuple[np.ndarray, ...]) -> float:
    r"""Delete-one jackknife standard error of ``statistic(*samples)`` over independent seed samples.

    Each sample is an array with the seeds on axis 0, or a tuple of such arrays that share their seeds (a paired
    comparison: deleting seed ``i`` deletes it from every array of the tuple). The variances of the samples add:

    .. math::

       \mathrm{se}^2 = \sum_{\text{samples}}\frac{n-1}{n}\sum_{i=1}^{n}\big(t_{(i)} - \bar t\big)^2,

    with :math:`t_{(i)}` the statistic without seed :math:`i` of that sample (the others whole). Every sample needs
    at least 2 seeds; ``statistic`` must return one real number.
    """
    if not callable(statistic):
        raise TypeError(f"statistic must be callable as statistic(*samples) -> float, got {statistic!r}")
    if not samples:
        raise ValueError("samples must hold at least one seed sample")
    groups = []
    for j, s in enumerate(samples):
        group = tuple(s) if isinstance(s, tuple) else (s,)
        if not group:
            raise ValueError(f"samples[{j}] must hold at least one array")
        arrays = tuple(_seeds(f"samples[{j}]", a) for a in group)
        if len({len(a) for a in arrays}) != 1:
            raise ValueError(f"samples[{j}] pairs arrays of {[len(a) for a in arrays]} seeds: they must share them")
        groups.append(arrays)

    def call(parts: list) -> float:
        v = statistic(*(p if isinstance(s, tuple) else p[0] for p, s in zip(parts, samples)))
        if isinstance(v, bool | str | bytes) or np.ndim(v) != 0 or np.asarray(v).dtype.kind not in "iuf":
            raise TypeError(f"statistic must return one real number, got {v!r}")
        return float(v)

    se2 = 0.0
    for j, group in enumerate(groups):
        n = len(group[0])
        values = []
        for i in range(n):
            keep = np.delete(np.arange(n), i)
            parts = [tuple(a[keep] for a in g) if k == j else g for k, g in enumerate(groups)]
            values.append(call(parts))
        v = np.array(values)
        se2 += (n - 1) / n * np.sum((v - v.mean()) ** 2)
    return float(np.sqrt(se2))


def paired_kl_difference_se(f_a: np.ndarray, f_b: np.ndarray, g: np.ndarray, steps: slice = slice(1, None)) -> float:
    """Jackknife standard error of ``mean_pooled_kl(f_a, g, steps) - mean_pooled_kl(f_b, g, steps)``.

    ``f_a`` and ``f_b`` ``(S, T+1, n)`` share their seeds (the same draws trained as two families), so the
    difference is paired and its error is smaller than either KL's; ``g`` ``(S_g, T+1, n)`` is independent.
    """
    _check_steps(steps)

    def difference(fs: tuple[np.ndarray, np.ndarray], ref: np.ndarray) -> float:
        return mean_pooled_kl(fs[0], ref, steps) - mean_pooled_kl(fs[1], ref, steps)

    return jackknife_se(difference, (f_a, f_b), g)


class Comparison(NamedTuple):
    """How one logit law compares with the reference's (:func:`compare`).

    Attributes:
      per_point: :func:`per_point_kl`, averaged over the steps after the initialisation.
      pooled: :func:`pooled_kl` at every step.
      mean: :func:`mean_pooled_kl` over the steps after the initialisation, and ``se`` its
        :func:`jackknife_se` over the seeds of both laws.
    """

    per_point: float
    pooled: PooledKL
    mean: float
    se: float


def compare(logits: Mapping[str, np.ndarray], reference: np.ndarray) -> dict[str, Comparison]:
    """:class:`Comparison` of each law ``logits[name] (S, T+1, n)`` with ``reference (S_R, T+1, n)``, by name."""
    if not isinstance(logits, Mapping) or not logits:
        raise TypeError(
            f"logits must be a non-empty mapping of names to (S, T+1, n) logits, got {type(logits).__name__}"
        )
    return {
        name: Comparison(
            float(per_point_kl(f, reference)[1:].mean()),
            pooled_kl(f, reference),
            mean_pooled_kl(f, reference),
            jackknife_se(mean_pooled_kl, f, reference),
        )
        for name, f in logits.items()
    }
