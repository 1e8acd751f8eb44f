r"""How the results of a sweep behave as the width grows: seed spreads, settling means, gaps and moves.

Statistics of :class:`~widthlimits.results_files.Sweep` results, read by label (:meth:`Sweep.sel`), each the home
of one formula; the claims made about them stay in the chapters. With :math:`y_{d,s}` the value of run
``(width d, seed s)`` after the last step and :math:`S` seeds:

* :func:`seed_spread`: the seed standard deviation :math:`s_d` (``ddof=1``) at every width and the exponent
  :math:`p` of :math:`s_d \propto d^{p}` (least squares of :math:`\log_2 s_d` on :math:`\log_2 d`);
* :func:`mean_change`: between the two widest widths :math:`d_1 < d_2`, the change
  :math:`|\bar y_{d_2} - \bar y_{d_1}|` of the seed mean and its standard error
  :math:`\sqrt{(s_{d_1}^2 + s_{d_2}^2)/S}` (the two widths are independent draws);
* :func:`paired_difference`: for curves ``a``, ``b`` of the same seeds, the per-seed mean over steps
  :math:`1..T` of :math:`a_t - b_t`, averaged over seeds, with standard error :math:`\mathrm{sd}/\sqrt S`
  (pairing removes the draw the two share);
* :func:`curve_gap`: :math:`\frac1T\sum_{t=1}^T |\bar a_t - c_t|`, the distance of a seed-mean curve from a
  target curve, and :func:`mean_standard_error`: :math:`\frac1T\sum_{t=1}^T \mathrm{sd}_t(a)/\sqrt S`;
* :func:`reference_gaps`: the distance :math:`g_t = |\bar a_t - \bar r_t|` of a family's seed-mean curve from
  the reference's, summarised three ways (last step, mean over steps :math:`0..T`, sup over steps), each with a
  seed-bootstrap standard error (seeds resampled jointly: family and reference share each seed's draw), and
  :func:`gap_difference`: the difference of two families' gaps in each of the three norms, bootstrapped with the
  same joint resamples of the seeds (the families share each seed's draw too);
* :func:`family_difference`: the largest difference between the families' records at one width (zero at the
  reference width, through which every family passes);
* :func:`gap_exponent`: the width exponent of :math:`\ell - y_d` (a final value's distance below a level
  such as the trivial loss :math:`\log 2`) over the widest widths, seed bootstrap;
* :func:`final_move`, :func:`move_exponent`: one layer's hat-weight move after the last step, and its width
  exponent (seed bootstrap).

Step 0 is left out of the step averages: at initialisation the curves compared are equal by construction
(the same draw), or differ by the random start that the comparison is not about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from widthlimits import _validate, measure, training
from widthlimits.results_files import Sweep


class SeedSpread(NamedTuple):
    """Seed spread of a final value: ``std (W,)`` at ``widths (W,)``, and the power law fitted to it."""

    widths: tuple[int, ...]
    std: np.ndarray
    fit: measure.PowerLaw


def check_sweep(sw: object) -> Sweep:
    """``sw`` itself if it is a :class:`Sweep` with one learning rate per family (what every statistic here and
    every sweep figure in :mod:`widthlimits.plots` reads); otherwise a TypeError/ValueError naming it."""
    if not isinstance(sw, Sweep):
        raise TypeError(f"sw must be a Sweep (from experiments.sweep or a results file), got {type(sw).__name__}")
    if len(sw.ref_lrs) != 1:
        raise ValueError(f"sw must have one learning rate per family (select one first), got ref_lrs {sw.ref_lrs}")
    return sw


def _check_field(sw: Sweep, field: object) -> str:
    fields = tuple(f for f in training.History._fields if f not in ("nonfinite_step", "test_logits", "kernel"))
    field = _validate.choice("field", field, fields)
    if getattr(sw.history, field) is None:
        raise ValueError(f"field must be stored in this sweep; {field!r} is not (it was read from a results file)")
    return field


def final_values(sw: Sweep, field: str, family: str, widths: Sequence[int] | None = None) -> np.ndarray:
    """``(W, S)`` values of the scalar ``field`` (``train_loss``, ``test_acc``, ...) after the last step."""
    sw = check_sweep(sw)
    field = _check_field(sw, field)
    if field == "hat_distance":
        raise ValueError("field must be a scalar record; the per-layer hat_distance is read by final_move")
    picked = sw.sel(family=family, step=-1) if widths is None else sw.sel(width=list(widths), family=family, step=-1)
    return np.asarray(getattr(picked, field))  # in the sweep's own dtype: float32 live, float64 from a file


def seed_spread(sw: Sweep, field: str, family: str) -> SeedSpread:
    """The seed standard deviation of ``field`` after the last step at every width, and its width exponent."""
    values = final_values(sw, field, family)
    if values.shape[1] < 2:
        raise ValueError(f"sw must hold at least 2 seeds to measure a seed spread, got {values.shape[1]}")
    std = values.std(1, ddof=1)
    return SeedSpread(tuple(sw.widths), std, measure.fit_power_law(sw.widths, std))


def mean_change(sw: Sweep, field: str, family: str) -> tuple[float, float]:
    """``(change, se)`` of the seed-mean final ``field`` between the two widest widths (``se`` NaN for one seed)."""
    if len(check_sweep(sw).widths) < 2:
        raise ValueError(f"sw must hold at least 2 widths, got {sw.widths}")
    v = final_values(sw, field, family, sw.widths[-2:])  # (2 widths, seed)
    change = abs(v[1].mean() - v[0].mean())
    se = np.sqrt(v.var(1, ddof=1).sum() / v.shape[1]) if v.shape[1] > 1 else np.nan
    return float(change), float(se)


def _curves(name: str, values: object, n_steps: int | None = None) -> np.ndarray:
    """``values`` as ``(S, T+1)`` real curves over steps 0..T with T >= 1 (floats keep their dtype)."""
    v = np.asarray(_validate.array(name, values, kinds="fiu", finite=False))
    v = v.astype(float) if v.dtype.kind in "iu" else v
    if v.ndim != 2 or v.shape[1] < 2:
        raise ValueError(f"{name} must have shape (seeds, T+1) with T >= 1 steps, got {v.shape}")
    if n_steps is not None and v.shape[1] != n_steps:
        raise ValueError(f"{name} must have {n_steps} steps, as the curve it is compared with, got {v.shape[1]}")
    return v


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(mean, se)`` over seeds of the mean over steps 1..T of ``a - b``; ``a``, ``b`` ``(S, T+1)``, ``S >= 2``."""
    a = _curves("a", a)
    b = _curves("b", b)
    if a.shape != b.shape or a.shape[0] < 2:
        raise ValueError(f"a and b must be curves of the same >= 2 seeds and steps, got {a.shape} and {b.shape}")
    paired = (a - b)[:, 1:].mean(1)  # (seed,)
    return float(paired.mean()), float(paired.std(ddof=1) / np.sqrt(len(paired)))


def curve_gap(curves: np.ndarray, target: np.ndarray) -> float:
    """Mean over steps 1..T of ``|seed mean of curves (S, T+1) - target (T+1,)|``."""
    c = _curves("curves", curves)
    t = np.asarray(_validate.array("target", target, kinds="fiu", finite=False))
    if t.shape != c.shape[1:]:
        raise ValueError(f"target must have shape (T+1,) = {c.shape[1:]}, got {t.shape}")
    return float(np.abs(c.mean(0) - t)[1:].mean())


class ReferenceGaps(NamedTuple):
    """:func:`reference_gaps`: ``final``, ``mean``, ``sup`` of :math:`g_t`, the step ``argmax`` of the sup, and the
    seed-bootstrap standard errors ``final_se``, ``mean_se``, ``sup_se``."""

    final: float
    mean: float
    sup: float
    argmax: int
    final_se: float
    mean_se: float
    sup_se: float


def _gap_norms(c: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``[last step, mean over steps 0..T, sup over steps]`` of :math:`|\\bar c_t - \\bar r_t|`, ``(S, T+1)`` each."""
    g = np.abs(c.mean(0) - r.mean(0))
    return np.array([g[-1], g.mean(), g.max()])


def _paired_curves(names: tuple[str, ...], values: tuple) -> list[np.ndarray]:
    curves = [_curves(nm, v) for nm, v in zip(names, values)]
    if len({c.shape for c in curves}) != 1 or curves[0].shape[0] < 2:
        shapes = ", ".join(str(c.shape) for c in curves)
        raise ValueError(f"{' and '.join(names)} must hold the same >= 2 seeds and steps, got {shapes}")
    return curves


def _bootstrap(n: int, n_boot: object, seed: object) -> np.ndarray:
    """``(n_boot, n)`` resampled seed indices from ``numpy.random.default_rng(seed)``."""
    n_boot = _validate.integer("n_boot", n_boot, low=2)
    rng = np.random.default_rng(_validate.integer("seed", seed, low=0))
    return rng.integers(0, n, (n_boot, n))


def reference_gaps(curves: np.ndarray, reference: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> ReferenceGaps:
    """Gap of the seed-mean of ``curves (S, T+1)`` to that of ``reference (S, T+1)`` (the same seeds), ``S >= 2``.

    Unlike the step averages above, step 0 counts here: the sup-norm of a scaling whose nets start at
    :math:`f = 0` (MF) is set by that start, and which norm is used decides which family is "closest".
    """
    c, r = _paired_curves(("curves", "reference"), (curves, reference))
    idx = _bootstrap(len(c), n_boot, seed)
    boot = np.array([_gap_norms(c[i], r[i]) for i in idx])
    final, mean, sup = _gap_norms(c, r)
    argmax = int(np.argmax(np.abs(c.mean(0) - r.mean(0))))
    return ReferenceGaps(float(final), float(mean), float(sup), argmax, *(float(v) for v in boot.std(0, ddof=1)))


class GapDifference(NamedTuple):
    """:func:`gap_difference`: ``final``, ``mean``, ``sup`` of ``gap(a) - gap(b)`` and their bootstrap errors."""

    final: float
    mean: float
    sup: float
    final_se: float
    mean_se: float
    sup_se: float


def gap_difference(
    a: np.ndarray, b: np.ndarray, reference: np.ndarray, *, n_boot: int = 1000, seed: int = 0
) -> GapDifference:
    """:func:`reference_gaps` of ``a`` minus that of ``b`` in each norm (negative: ``a`` is closer), all ``(S, T+1)``.

    The seeds are resampled jointly in ``a``, ``b`` and ``reference`` (all three share each seed's draw), so the
    standard errors are those of the difference, not of either gap. With few seeds (``S <= 5``) a bootstrap
    standard error is itself uncertain by a third or more.
    """
    ca, cb, r = _paired_curves(("a", "b", "reference"), (a, b, reference))
    idx = _bootstrap(len(r), n_boot, seed)
    boot = np.array([_gap_norms(ca[i], r[i]) - _gap_norms(cb[i], r[i]) for i in idx])
    diff = _gap_norms(ca, r) - _gap_norms(cb, r)
    return GapDifference(*(float(v) for v in diff), *(float(v) for v in boot.std(0, ddof=1)))


def mean_standard_error(curves: np.ndarray) -> float:
    """Mean over steps 1..T of the seed standard error of the seed-mean curve; ``curves (S, T+1)``, ``S >= 2``."""
    c = _curves("curves", curves)
    if c.shape[0] < 2:
        raise ValueError(f"curves must hold at least 2 seeds to estimate a standard error, got {c.shape[0]}")
    return float((c.std(0, ddof=1) / np.sqrt(len(c)))[1:].mean())


def gap_exponent(sw: Sweep, field: str, family: str, *, level: float, top: int = 3) -> measure.PowerLaw:
    """Width exponent of ``level - final field`` over the widest ``top`` widths (all, if the sweep has fewer),
    seed bootstrap of :func:`~widthlimits.measure.bootstrap_slope`; every gap must be > 0 (a value above the
    level is reported there, not fitted)."""
    sw = check_sweep(sw)
    level = _validate.real("level", level)
    top = _validate.integer("top", top, low=2)
    widths = sw.widths[-top:]
    # np.float64: the gap of float32 runs is taken in float64, whatever NumPy's promotion rules for a Python float.
    return measure.bootstrap_slope(widths, np.float64(level) - final_values(sw, field, family, widths))


def family_difference(sw: Sweep, field: str, width: int) -> float:
    """``max |y_k - y_0|`` over families ``k``, seeds and steps of ``field`` at ``width``, ``y_0`` the first
    family's: zero at the reference width, where every scaling is the identity and the families one network."""
    sw = check_sweep(sw)
    field = _check_field(sw, field)
    if field == "hat_distance":
        raise ValueError("field must be a scalar record (train_loss, test_acc, ...), got 'hat_distance'")
    every = np.asarray(getattr(sw.sel(width=width), field))  # (family, seed, step)
    first = np.asarray(getattr(sw.sel(width=width, family=sw.families[0]), field))
    return float(np.abs(every - first).max())


def final_move(sw: Sweep, family: str, layer: int, widths: Sequence[int] | None = None) -> np.ndarray:
    """``(W, S)`` hat-weight move of ``layer`` (0 = input, ..., L = output) after the last step."""
    sw = check_sweep(sw)
    _check_field(sw, "hat_distance")
    n_layers = sw.history.hat_distance.shape[-1]
    layer = _validate.integer("layer", layer, low=0, high=n_layers - 1)
    picked = sw.sel(family=family, step=-1) if widths is None else sw.sel(width=list(widths), family=family, step=-1)
    return np.asarray(picked.hat_distance)[..., layer]


def move_exponent(sw: Sweep, family: str, layer: int, widths: Sequence[int] | None = None) -> measure.PowerLaw:
    """Width exponent of the seed-mean final move of ``layer`` over ``widths`` (all by default), seed bootstrap."""
    widths = tuple(sw.widths) if widths is None and isinstance(sw, Sweep) else widths
    return measure.bootstrap_slope(widths, final_move(sw, family, layer, widths))


def move_exponents(
    sw: Sweep, families: Sequence[str], widths: Sequence[int] | None = None, layers: Sequence[int] | None = None
) -> dict[tuple[str, int], measure.PowerLaw]:
    """:func:`move_exponent` of every family and layer (default: all of ``sw``'s layers), keyed ``(family, layer)``."""
    if isinstance(families, str) or not isinstance(families, Sequence | Mapping):
        raise TypeError(f"families must be a sequence of family names, got {type(families).__name__}")
    if layers is None:
        _check_field(check_sweep(sw), "hat_distance")
        layers = range(sw.history.hat_distance.shape[-1])
    return {(nm, k): move_exponent(sw, nm, k, widths) for nm in families for k in layers}


def classify(fit: measure.PowerLaw, *, boundary: float = -0.25, n_se: float = 3.0) -> str:
    """The book's reading of a fitted width exponent: ``"vanishing"`` if ``slope + n_se * stderr < boundary``,
    ``"non-vanishing"`` if ``slope - n_se * stderr > boundary``, else ``"unclassified"`` (too close to call)."""
    if not isinstance(fit, measure.PowerLaw):
        raise TypeError(f"fit must be a measure.PowerLaw, got {type(fit).__name__}")
    boundary = _validate.real("boundary", boundary)
    n_se = _validate.real("n_se", n_se, low=0)
    if fit.slope + n_se * fit.stderr < boundary:
        return "vanishing"
    return "non-vanishing" if fit.slope - n_se * fit.stderr > boundary else "unclassified"
