r"""Do two scalings of one cell share a limit? Distances between normalised logit trajectories across widths.

The framework (:mod:`widthlimits.limit_models`) counts cells by a signature; this module tests what the count
means. A scaling :math:`s` at width :math:`d` has logits of order :math:`\rho^{\max(q_0, q_K)}`,
:math:`\rho = d/d^*`, so its **normalised logit trajectory** is

.. math:: F_s^{(d)}(k, x) = f^{(d)}_k(x) \,/\, \rho^{\max(q_0, q_K)}, \qquad k = 0..T,

which has a limit as :math:`d \to \infty` inside the band. All scalings coincide at :math:`d = d^*`, and seed
``s`` gives the same hat-weight draw in every family of a sweep, so two families can be compared run by run.
:func:`trajectory_distance` is the root-mean-square difference of two families' normalised trajectories
(over steps and test points), per width and seed; :func:`distance_trend` fits its width exponent with a
seed-bootstrap standard error. Two points of one cell should have a distance that falls with the width (a
negative exponent); points of different cells should not (their limits differ).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from widthlimits import limit_models, measure, scalings
from widthlimits.results_files import Sweep


def _check_sweep(sw: object) -> Sweep:
    if not isinstance(sw, Sweep):
        raise TypeError(f"sw must be a Sweep from experiments.sweep, got {type(sw).__name__}")
    return sw


def _check_family(sw: Sweep, name: str, family: object) -> str:
    if family not in sw.families:
        raise ValueError(f"{name} must be one of the sweep's families {sw.families}, got {family!r}")
    return family


def logit_scale_exponent(s: scalings.Scaling) -> float:
    r"""The exponent :math:`\max(q_0, q_K)` of the logits' order along training (the normalisation)."""
    e = limit_models.exponents(s)
    return float(max(e.q_0, e.q_K))


def normalised_logits(sw: Sweep, family: str, s: scalings.Scaling, *, ref_width: int = scalings.REF_WIDTH):
    r"""``(W, S, T+1, n_test)`` test logits of ``family`` divided by :math:`\rho^{\max(q_0, q_K)}`.

    ``s`` is the family's scaling (a sweep stores names, not scalings); the first learning rate is used.
    """
    sw = _check_sweep(sw)
    family = _check_family(sw, "family", family)
    scalings._check_scaling("s", s)
    rho = np.asarray(sw.widths, dtype=float) / ref_width
    logits = np.asarray(sw.get(family=family).test_logits[:, 0], dtype=float)  # (W, S, T+1, n_test)
    return logits / rho[:, None, None, None] ** logit_scale_exponent(s)


def trajectory_distance(sw: Sweep, a, b, *, paired: bool = True) -> np.ndarray:
    r"""``(W, S)``: rms over steps and test points of :math:`F_a - F_b`.

    ``a`` and ``b`` are ``(family name, scaling)`` pairs of the sweep ``sw``. ``paired=True`` compares the same
    seed (the same hat-weight draw: right for limits with a random Gaussian-process start, but every pair
    coincides at :math:`d^*` by construction); ``paired=False`` compares seed ``i`` of ``a`` with seed ``i + 1``
    (cyclically) of ``b``: independent draws, right for limits with a deterministic (zero) start, whose
    distance at :math:`d^*` is the finite-width seed noise.
    """
    fa, fb = normalised_logits(sw, *a), normalised_logits(sw, *b)
    if not isinstance(paired, bool):
        raise TypeError(f"paired must be a bool, got {paired!r}")
    if not paired:
        if fb.shape[1] < 2:
            raise ValueError(f"paired=False needs at least 2 seeds, got {fb.shape[1]}")
        fb = np.roll(fb, -1, axis=1)
    return np.sqrt(np.mean((fa - fb) ** 2, axis=(2, 3)))


class DistanceTrend(NamedTuple):
    """Width trend of a distance between two families' normalised trajectories.

    Attributes:
      exponent: fitted width exponent of the seed-mean distance (least squares on log2-log2 axes).
      exponent_se: its seed-bootstrap standard error.
      widest: seed-mean distance at the widest width.
      widest_se: its standard error over seeds.
      distances: ``(W,)`` seed-mean distances.
    """

    exponent: float
    exponent_se: float
    widest: float
    widest_se: float
    distances: np.ndarray


def distance_trend(sw: Sweep, a, b, *, paired: bool = True, widths=None, n_boot: int = 500) -> DistanceTrend:
    """:class:`DistanceTrend` of :func:`trajectory_distance` over ``widths`` (default: all of the sweep's)."""
    sw = _check_sweep(sw)
    dist = trajectory_distance(sw, a, b, paired=paired)
    use = list(sw.widths) if widths is None else list(widths)
    bad = [w for w in use if w not in sw.widths]
    if bad or len(use) < 2:
        raise ValueError(f"widths must be >= 2 of the sweep's widths {sw.widths}, got {widths!r}")
    dist = dist[[sw.widths.index(w) for w in use]]
    fit = measure.bootstrap_slope(use, dist, n_boot=n_boot)
    last = dist[-1]
    return DistanceTrend(fit.slope, fit.stderr, float(last.mean()), float(last.std(ddof=1) / np.sqrt(last.size)),
                         dist.mean(axis=1))
