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

**Direct limits.** Four cells have a frozen kernel and no hard margin (``edge != "top"``, :math:`q_K \le 0`);
for three of them the limit of :math:`F` on the test points needs no draw of the initial function, so it can be
simulated once and every finite net compared with it (:func:`frozen_limit`, :data:`FROZEN_CELLS`):

* cell 4 (open MF-NTK segment, :math:`q_K = 0 > q_0`): kernel GD with :math:`\eta^*\Theta_{\text{ref}}` and the
  logistic loss from :math:`F \equiv 0`;
* cell 12 (:math:`q_0 < q_K < 0`, inside): the loss derivative freezes at :math:`\ell'(0)` (a *linear* loss)
  and the start vanishes, so :math:`F_k = k\,\Delta`, :math:`\Delta = -\eta^*\Theta_{\text{ref}}\,\ell'(0)/n`;
* cell 9 (:math:`q_0 = q_K < 0`, bottom edge): a Gaussian-process start plus the same linear increments,
  :math:`F_k - F_0 = k\,\Delta`; nets are compared through their own increments (``coupled``).

:func:`predicted_exponent` is the slowest of the corrections by which a finite net misses its cell's limit
(derived by the same power counting), :func:`limit_trend` the measured width exponent of that miss.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from widthlimits import experiments, kernel_limit, limit_models, measure, scalings
from widthlimits.data import Dataset
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


#: Cells whose limit on the test points the library simulates directly: number -> (start, loss derivative).
FROZEN_CELLS = {4: ("zero", "logistic"), 9: ("gp", "linear"), 12: ("zero", "linear")}


def _cell_of(s: scalings.Scaling) -> int:
    c = limit_models.classify(s)
    if c.model is None or c.model.number not in FROZEN_CELLS:
        where = c.regime if c.model is None else f"cell {c.model.number}"
        raise ValueError(f"s must be a scaling of one of the cells {sorted(FROZEN_CELLS)}, got one in {where}")
    return c.model.number


def frozen_limits(mlp, data: Dataset, *, n_steps: int, ref_lr: float = scalings.REF_LR["gd"]) -> dict[int, np.ndarray]:
    r"""``{cell: (T+1, n_test)}``: the limit of the normalised test logits of every cell of :data:`FROZEN_CELLS`.

    For cell 9 (Gaussian-process start) the array is the limit of the *increments* :math:`F_k - F_0`. The
    reference kernels are computed once (:func:`~widthlimits.kernel_limit.limit_kernels`).
    """
    k = kernel_limit.limit_kernels(mlp, data)
    logistic = np.asarray(kernel_limit.kernel_limit(k, data, n_steps=n_steps, ref_lr=ref_lr).test_logits, float)
    # linear loss: every step is the first step of kernel GD from f = 0, where l' = l'(0)
    linear = np.arange(n_steps + 1)[:, None] * logistic[1][None] if n_steps else logistic
    return {c: logistic if loss == "logistic" else linear for c, (_, loss) in FROZEN_CELLS.items()}


def correction_exponents(s: scalings.Scaling) -> dict[str, float]:
    r"""Width exponents of the corrections by which a net of ``s`` misses its cell's :func:`frozen_limits` entry.

    Relative to the normalised scale :math:`\rho^{m}`, :math:`m = \max(q_0, q_K)`: the kernel's motion
    :math:`\rho^{q_h}`, its finite-width fluctuation :math:`\rho^{-1/2}`, the vanishing start :math:`\rho^{q_0 - m}`
    (zero-start cells) and the loss derivative's distance from :math:`\ell'(0)`, :math:`\rho^{m}` (linear-loss
    cells). The distance is a sum of such terms, so its fitted slope lies between the smallest and the largest
    (a log-log slope of a positive sum is a weighted mean of the terms' exponents); the largest is the asymptote.
    """
    start, loss = FROZEN_CELLS[_cell_of(s)]
    e = limit_models.exponents(s)
    m = max(e.q_0, e.q_K)
    out = {"kernel motion": float(e.q_h), "finite-width noise": -0.5}
    if start == "zero":
        out["vanishing start"] = float(e.q_0 - m)
    if loss == "linear":
        out["loss derivative"] = float(m)
    return out


def predicted_exponent(s: scalings.Scaling) -> float:
    """The slowest of :func:`correction_exponents`: the exponent the distance to the limit tends to."""
    return max(correction_exponents(s).values())


def distance_to_limit(sw: Sweep, family: str, s: scalings.Scaling, limit: np.ndarray, *, coupled: bool) -> np.ndarray:
    """``(W, S)`` rms over steps ``1..T`` and test points of a family's :func:`normalised_logits` minus ``limit``
    ``(T+1, n_test)``; ``coupled=True`` compares the net's increments :math:`F_k - F_0` instead (cell 9)."""
    f = normalised_logits(sw, family, s)
    lim = np.asarray(limit, dtype=float)
    if lim.shape != f.shape[2:]:
        raise ValueError(f"limit must have shape (T+1, n_test) = {f.shape[2:]}, got {lim.shape}")
    if not isinstance(coupled, bool):
        raise TypeError(f"coupled must be a bool, got {coupled!r}")
    if coupled:
        f = f - f[:, :, :1]
    return np.sqrt(np.mean((f - lim)[:, :, 1:] ** 2, axis=(2, 3)))


def limit_trend(sw: Sweep, family: str, s: scalings.Scaling, limit: np.ndarray, *, coupled: bool,
                n_boot: int = 500) -> DistanceTrend:
    """:class:`DistanceTrend` of :func:`distance_to_limit` over all of the sweep's widths."""
    sw = _check_sweep(sw)
    dist = distance_to_limit(sw, family, s, limit, coupled=coupled)
    fit = measure.bootstrap_slope(sw.widths, dist, n_boot=n_boot)
    last = dist[-1]
    return DistanceTrend(fit.slope, fit.stderr, float(last.mean()), float(last.std(ddof=1) / np.sqrt(last.size)),
                         dist.mean(axis=1))


#: The neighbouring cell whose simulated limit each demonstrated cell is compared with.
NEIGHBOUR = {4: 12, 12: 4, 9: 12}


class CellCheck(NamedTuple):
    """One point of a demonstrated cell against its own cell's limit and a neighbour's.

    Attributes:
      cell, neighbour: cell numbers (:data:`FROZEN_CELLS`, :data:`NEIGHBOUR`).
      own, other: :class:`DistanceTrend` to the cell's own limit and to the neighbour's.
      low, high: the smallest and largest :func:`correction_exponents` (``high`` is the predicted asymptote).
    """

    cell: int
    neighbour: int
    own: DistanceTrend
    other: DistanceTrend
    low: float
    high: float

    @property
    def allowed(self) -> tuple[float, float]:
        """Range asserted for ``own.exponent``: ``[low, high]`` widened by 3 bootstrap errors (below 0, so that the
        distance falls, wherever ``high`` is more than 3 errors below 0)."""
        se = 3 * self.own.exponent_se
        return self.low - se, self.high + se

    @property
    def near_far(self) -> tuple[float, float]:
        """At the widest width: own distance + 3 standard errors, neighbour's distance - 3 standard errors."""
        return self.own.widest + 3 * self.own.widest_se, self.other.widest - 3 * self.other.widest_se


def check_cells(sw: Sweep, families: dict, limits: dict[int, np.ndarray], *, n_boot: int = 500) -> dict[str, CellCheck]:
    """``{family: CellCheck}`` for every family (name -> scaling of a cell of :data:`FROZEN_CELLS`) of ``sw``;
    ``limits`` is :func:`frozen_limits` of the sweep's data and steps."""
    out = {}
    for name, s in families.items():
        cell = _cell_of(s)
        nb = NEIGHBOUR[cell]
        own = limit_trend(sw, name, s, limits[cell], coupled=FROZEN_CELLS[cell][0] == "gp", n_boot=n_boot)
        other = limit_trend(sw, name, s, limits[nb], coupled=FROZEN_CELLS[nb][0] == "gp", n_boot=n_boot)
        terms = correction_exponents(s).values()
        out[name] = CellCheck(cell, nb, own, other, min(terms), max(terms))
    return out


#: Two points of each directly simulated cell (the far examples of cells 9 and 12 among them).
DEMO_POINTS = {"4": (-0.75, 0.5), "4'": (-0.6875, 0.375), "12": (-2.0, 1.75), "12'": (-10.0, 9.75),
               "9": (-3.0, 2.5), "9'": (-10.0, 9.5)}


class Demonstration(NamedTuple):
    """What :func:`demonstrate` returns.

    Attributes:
      sweep: the finite nets of :data:`DEMO_POINTS`.
      limits: :func:`frozen_limits`, ``{cell: (T+1, n_test)}``.
      checks: :func:`check_cells`, ``{point name: CellCheck}``.
      limit_gap: rms over steps ``1..T`` and test points between the limits of cells 4 and 12.
    """

    sweep: Sweep
    limits: dict
    checks: dict
    limit_gap: float


def demonstrate(mlp, widths, data: Dataset, *, seeds, n_steps: int, points=None) -> Demonstration:
    """Train the nets of ``points`` (default :data:`DEMO_POINTS`) at ``widths`` with GD, simulate the limits of
    their cells and compare (:func:`check_cells`); the sweep is cached like every :func:`experiments.sweep`."""
    points = DEMO_POINTS if points is None else points
    families = {name: scalings.from_hat(*p) for name, p in points.items()}
    for s in families.values():
        _cell_of(s)
    sw = experiments.sweep(mlp, widths, families, data, seeds=seeds, n_steps=n_steps)
    limits = frozen_limits(mlp, data, n_steps=n_steps)
    gap = float(np.sqrt(np.mean((limits[4] - limits[12])[1:] ** 2))) if n_steps else 0.0
    return Demonstration(sw, limits, check_cells(sw, families, limits), gap)
