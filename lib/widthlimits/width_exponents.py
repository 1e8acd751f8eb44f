r"""Width exponents of a sweep's first steps, measured, next to the ones power counting predicts.

The framework (:mod:`widthlimits.limit_models`) predicts how the quantities of one training step scale with the
width :math:`d`. This module reads them off a :class:`~widthlimits.results_files.Sweep`, per width and seed, and
fits their exponents (:func:`fit`, least squares on log-log axes with a seed-bootstrap standard error, from
:func:`widthlimits.measure.bootstrap_slope`). The quantities, with the exponents :func:`predicted` gives them:

========== ================================================================= =====================
key        quantity, per width and seed (``(W, S)``)                         predicted exponent
========== ================================================================= =====================
``q_0``    RMS over test points of the logits at init                        :math:`q_0`
``q_K_w``  mean kernel diagonal of the input layer at init                   :math:`q_K^w`
``q_K_a``  mean kernel diagonal of the output layer at init                  :math:`q_K^a`
``q_K``    mean logit change :math:`|f^{(k)} - f^{(0)}|` after step ``k``    :math:`q_K` (``k = 1``)
``q_h_w``  input layer's mean hat distance after step ``k``                  :math:`q_h^w` (``k = 1``)
``q_h_a``  output layer's mean hat distance after step ``k``                 :math:`q_h^a` (``k = 1``)
``q_h``    the larger layer's hat distance after step ``k``                  :math:`q_h` (``k = 1``)
``ratio``  learned over initial logit, :func:`learned_ratio`                 :math:`q_h + \tfrac12`
========== ================================================================= =====================

The seed statistic is the RMS for ``q_0`` (an RMS over seeds and points together) and the mean otherwise.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from widthlimits import _validate, experiments, limit_models, measure, scalings
from widthlimits.results_files import Sweep

KEYS = ("q_0", "q_K_w", "q_K_a", "q_K", "q_h_w", "q_h_a", "q_h", "ratio")
#: The quantities of the initial draw: fitted over all widths (exact expectations, settled at every width).
AT_INIT = ("q_0", "q_K_w", "q_K_a")
#: The exponents asserted at every point of the plane in the framework chapter (one GD step).
FIRST_STEP = ("q_0", "q_K_w", "q_K_a", "q_h_w", "q_h_a", "ratio")


def _check_sweep(sweep: object, family: object) -> Sweep:
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be an experiments.Sweep, got {type(sweep).__name__}")
    if len(sweep.ref_lrs) != 1:
        raise ValueError(f"sweep must have one learning rate per family (its lr axis), got ref_lrs {sweep.ref_lrs}")
    if len(sweep.seeds) < 2:
        raise ValueError(f"sweep must have at least 2 seeds (a bootstrap needs a spread), got {len(sweep.seeds)}")
    Sweep._index_of("family", family, sweep.families)
    return sweep


def learned_ratio(sweep: Sweep, family: str, *, step: int | None = None) -> np.ndarray:
    r"""The learned part of the logit relative to the random initial part,
    :math:`\mathbb E_x|f^{(k)}(x) - f^{(0)}(x)| \,/\, \operatorname{rms}_x f^{(0)}(x)` over the test points.

    ``(W, S)`` after step ``step`` (negative counts from the end), or ``(W, S, T+1)`` at every step if ``None``
    (zero at step 0 by definition).
    """
    _check_sweep(sweep, family)
    f0 = sweep.sel(family=family, step=0).test_logits  # (W, S, n)
    if step is None:
        f = sweep.sel(family=family).test_logits  # (W, S, T+1, n)
        return np.abs(f - f0[:, :, None]).mean(-1) / np.sqrt(np.mean(f0**2, -1))[..., None]
    fk = sweep.sel(family=family, step=step).test_logits
    return np.abs(fk - f0).mean(-1) / np.sqrt(np.mean(f0**2, -1))


def samples(sweep: Sweep, family: str, keys: Sequence[str] = FIRST_STEP, *, step: int = 1) -> dict[str, np.ndarray]:
    """The quantities ``keys`` (see the module table) of one family, each ``(W, S)``, after step ``step``."""
    _check_sweep(sweep, family)
    keys = _check_keys(keys)
    h0, hk = sweep.sel(family=family, step=0), sweep.sel(family=family, step=step)
    f0, fk = h0.test_logits, hk.test_logits  # (W, S, n)
    hat = hk.hat_distance  # (W, S, L+1): input layer first, output layer last
    out = {}
    for key in keys:
        if key == "q_0":
            out[key] = np.sqrt(np.mean(f0**2, -1))
        elif key in ("q_K_w", "q_K_a"):
            out[key] = h0.kernel[:, :, 0 if key == "q_K_w" else -1].mean(-1)
        elif key == "q_K":
            out[key] = np.abs(fk - f0).mean(-1)
        elif key in ("q_h_w", "q_h_a"):
            out[key] = hat[:, :, 0 if key == "q_h_w" else -1]
        elif key == "q_h":
            with warnings.catch_warnings():  # a run NaN in every layer stays NaN, and is reported by fit
                warnings.simplefilter("ignore", RuntimeWarning)
                out[key] = np.nanmax(hat, axis=-1)
        else:
            out[key] = learned_ratio(sweep, family, step=step)
    return out


def _rms(r: np.ndarray) -> float:
    return np.sqrt(np.mean(r**2))


def fit(
    sweep: Sweep,
    family: str,
    keys: Sequence[str] = FIRST_STEP,
    *,
    step: int = 1,
    fit_widths: Sequence[int] | None = None,
    n_boot: int = 100,
) -> dict[str, measure.PowerLaw]:
    """Fitted width exponents of ``keys`` for one family, each a :class:`~widthlimits.measure.PowerLaw`.

    The quantities of the initial draw (:data:`AT_INIT`) are fitted over all widths of the sweep; those of the
    step over ``fit_widths`` (default: all), since the step's data factor depends on loss derivatives that settle
    only at large widths. ``n_boot`` seed resamples give the standard error (100 suffice to compare it with a
    fraction of a tolerance). A quantity that is not finite and positive raises ``ValueError`` (report a diverged
    run, do not fit it).
    """
    _check_sweep(sweep, family)
    keys = _check_keys(keys)
    widths = np.asarray(sweep.widths)
    if fit_widths is None:
        rows = np.arange(len(widths))
    else:
        fit_widths = _validate.integers("fit_widths", fit_widths, low=1, distinct=True)
        missing = sorted(set(fit_widths) - set(sweep.widths))
        if missing or len(fit_widths) < 2:
            raise ValueError(f"fit_widths must be at least 2 of the sweep's widths {sweep.widths}, got {fit_widths}")
        rows = np.array([sweep.widths.index(w) for w in fit_widths])
    n_boot = _validate.integer("n_boot", n_boot, low=2)
    values = samples(sweep, family, keys, step=step)
    out = {}
    for key in keys:
        pick = slice(None) if key in AT_INIT else rows
        stat = _rms if key == "q_0" else np.mean
        out[key] = measure.bootstrap_slope(widths[pick], values[key][pick], statistic=stat, n_boot=n_boot)
    return out


def predicted(s: scalings.Scaling) -> dict[str, float]:
    """The first-step exponents of every key of the module table, from :func:`~widthlimits.limit_models.exponents`."""
    e = limit_models.exponents(scalings._check_scaling("s", s))
    return dict(
        q_0=e.q_0, q_K_w=e.q_K_w, q_K_a=e.q_K_a, q_K=e.q_K, q_h_w=e.q_h_w, q_h_a=e.q_h_a, q_h=e.q_h, ratio=e.q_h + 0.5
    )


def _check_keys(keys: object) -> tuple[str, ...]:
    if isinstance(keys, str) or not isinstance(keys, Sequence) or not keys:
        raise TypeError(f"keys must be a non-empty sequence of quantity names from {KEYS}, got {keys!r}")
    bad = [k for k in keys if k not in KEYS]
    if bad:
        raise ValueError(f"keys must name quantities of {KEYS}, got {bad}")
    return tuple(keys)


def max_deviation(
    fits: dict[str, measure.PowerLaw], predicted_: dict[str, float], keys: Sequence[str]
) -> tuple[float, float]:
    """``(largest |slope - predicted|, largest stderr)`` over ``keys`` of one point's :func:`fit` and
    :func:`predicted` (an asserted check reads both against its tolerance)."""
    keys = _check_keys(keys)
    missing = [k for k in keys if k not in fits or k not in predicted_]
    if missing:
        raise ValueError(f"keys must be fitted and predicted, missing {missing}")
    return max(abs(fits[k].slope - predicted_[k]) for k in keys), max(fits[k].stderr for k in keys)


# --- one grid point's numbers for the framework chapter's slider figure ---


class PointSummary(NamedTuple):
    """What the slider figure of one grid point shows, per width of a sweep (seed and test-point means).

    Attributes:
      widths: ``(W,)`` the sweep's widths.
      logit: ``(W,)`` RMS of the logits at init (from :func:`~widthlimits.experiments.at_init`'s many draws).
      kernel0: ``(W,)`` mean learning-rate-weighted kernel at init, summed over layers; ``None`` for RMSProp,
        whose step is not the gradient's and so not this kernel's.
      change: ``(W,)`` mean first-step logit change :math:`|f^{(1)} - f^{(0)}|`.
      hat: ``(W,)`` mean over seeds of the larger layer's hat distance after the first step.
      kernel: ``(W,)`` mean relative kernel change :math:`|K^{(T)}/K^{(0)} - 1|` after the last step.
      loss: ``(W, T+1)`` training loss, mean over seeds.
      bad: ``(W,)`` the latest first-diverged step over the seeds, -1 where no seed diverged.
      n_steps: ``T``.
    """

    widths: tuple[int, ...]
    logit: np.ndarray
    kernel0: np.ndarray | None
    change: np.ndarray
    hat: np.ndarray
    kernel: np.ndarray
    loss: np.ndarray
    bad: np.ndarray
    n_steps: int


def point_summaries(sweep: Sweep, init: experiments.InitStats, *, with_kernel: bool = True) -> dict[str, PointSummary]:
    """:class:`PointSummary` of every family of ``sweep``; ``init`` holds the same family names at (at least) the
    sweep's widths (the initialisation does not depend on the optimiser, so one ``init`` serves GD and RMSProp).
    ``with_kernel`` keeps the kernel at init (GD)."""
    if not isinstance(sweep, Sweep) or len(sweep.ref_lrs) != 1:
        raise TypeError("sweep must be an experiments.Sweep with one learning rate per family")
    if not isinstance(init, experiments.InitStats):
        raise TypeError(f"init must be experiments.InitStats (from experiments.at_init), got {type(init).__name__}")
    with_kernel = _validate.boolean("with_kernel", with_kernel)
    widths = list(sweep.widths)
    out = {}
    for name in sweep.families:
        h = sweep.sel(family=name)  # leaves (W, S, T+1, ...)
        at0 = init.sel(width=widths, family=name)  # logits (W, S, n), kernel (W, S, L+1, n)
        f0, f1 = h.test_logits[:, :, 0], h.test_logits[:, :, 1]
        k0, kt = h.kernel[:, :, 0].sum(-2), h.kernel[:, :, -1].sum(-2)  # (W, S, n_kernel)
        bad = h.nonfinite_step  # (W, S)
        with np.errstate(invalid="ignore", over="ignore"):  # diverged runs give inf/NaN entries, shown as such
            out[name] = PointSummary(
                tuple(widths),
                np.sqrt(np.mean(at0.logits**2, axis=(-2, -1))),
                at0.kernel.sum(-2).mean((-2, -1)) if with_kernel else None,
                np.mean(np.abs(f1 - f0), axis=(-2, -1)),
                np.mean(h.hat_distance[:, :, 1].max(-1), axis=-1),
                np.mean(np.abs(kt / k0 - 1), axis=(-2, -1)),
                h.train_loss.mean(1),
                np.where((bad >= 0).any(-1), bad.max(-1), -1),
                sweep.n_steps,
            )
    return out
