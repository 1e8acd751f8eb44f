"""Figures of limit models against the nets they approximate: convergence, the three limits, across learning rates."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from widthlimits import _validate
from widthlimits.limit_comparison import RANDOM_LIMITS, LimitComparison, ProxyDistance, mean_test_loss
from widthlimits.measure import PowerLaw
from widthlimits.plots import curves, family_color, family_marker, power_law, width_colors


def distance_to_limit(
    widths: Sequence[int], dist: ProxyDistance, fit_pooled: PowerLaw, fit_init: PowerLaw
) -> plt.Figure:
    """Two panels: the RMS distance of each width's nets to the MF limit step by step (log scale), and its rate.

    ``dist`` is :func:`~widthlimits.limit_comparison.distance_to_proxy` of nets at ``widths``; ``fit_pooled`` and
    ``fit_init`` the power laws fitted to its pooled (steps ``1..T``) and initial distances.
    """
    widths = _validate.integers("widths", widths, low=1)
    if not isinstance(dist, ProxyDistance) or dist.sq_err.shape[0] != len(widths):
        raise TypeError(f"dist must be a limit_comparison.ProxyDistance with one row per width ({len(widths)})")
    for name, fit in (("fit_pooled", fit_pooled), ("fit_init", fit_init)):
        if not isinstance(fit, PowerLaw):
            raise TypeError(f"{name} must be a measure.PowerLaw (from bootstrap_slope), got {fit!r}")
    colors = width_colors(widths)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, w in enumerate(widths):
        axes[0].plot(dist.rms_by_step[i], color=colors[w], label=f"d = {w}")
    axes[0].set(xlabel="GD step $k$", ylabel="RMS $|f_d^{(k)} - f_\\infty^{(k)}|$", yscale="log")
    axes[0].set_title("distance to the limit, step by step")
    pooled, initial = (np.sqrt(np.mean(np.asarray(d) ** 2, 1)) for d in (dist.pooled, dist.initial))
    power_law(axes[1], widths, pooled, fit_pooled, label="steps 1..T", color="tab:blue")
    power_law(axes[1], widths, initial, fit_init, label="k = 0", color="tab:gray", marker="s")
    axes[1].set(xlabel="width $d$", ylabel="RMS distance to the limit", title="rate of convergence")
    for ax in axes:
        ax.legend(fontsize=8)
    return fig


def limits_at_one_lr(
    ref_logits: np.ndarray, limit_logits: dict, y_test: np.ndarray, *, lr: float, ref_label: str
) -> plt.Figure:
    """Three panels at one learning rate: seed-mean test loss of the reference and of each limit; the RMS error of
    the seed-mean learned part :math:`f^{(k)} - f^{(0)}`; the spread of a logit across seeds (the random part).

    ``ref_logits (S, T+1, n)``, ``limit_logits[name] (K, T+1, n)``, ``y_test (n,)`` labels in ``{0, 1}``; the
    limits outside :data:`~widthlimits.limit_comparison.RANDOM_LIMITS` are deterministic and have spread zero.
    """
    ref_logits = np.asarray(_validate.array("ref_logits", ref_logits, ndim=3, kinds="f"))
    if not isinstance(limit_logits, dict) or not limit_logits:
        raise TypeError("limit_logits must be a non-empty dict of limit name -> (K, T+1, n) logits")
    steps = np.arange(ref_logits.shape[1])
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    curves(axes[0], mean_test_loss(ref_logits, y_test), color="black", label=ref_label)
    learned_ref = (ref_logits - ref_logits[:, :1]).mean(0)  # (step, n): the seed-mean learned part
    for name, lg in limit_logits.items():
        color = family_color(name)
        axes[0].plot(steps, mean_test_loss(lg, y_test).mean(0), color=color, label=f"{name} limit")
        learned = (lg - lg[:, :1]).mean(0)
        axes[1].plot(steps, np.sqrt(np.mean((learned - learned_ref) ** 2, -1)), color=color, label=name)
        spread = lg.std(0, ddof=1).mean(-1) if name in RANDOM_LIMITS else 0 * steps
        axes[2].plot(steps, spread, color=color, label=name)
    axes[2].plot(steps, ref_logits.std(0).mean(-1), color="black", label="reference")
    axes[0].set(xlabel="GD step", ylabel="test loss", title=f"$\\eta^* = {lr:g}$")
    axes[1].set(xlabel="GD step", ylabel="RMS error of the learned part", title="$f^{(k)} - f^{(0)}$, seed mean")
    axes[2].set(xlabel="GD step", ylabel="std of a logit across seeds", title="the random part")
    for ax in axes:
        ax.legend(fontsize=8)
    return fig


def limits_across_lrs(cmp: LimitComparison, *, ref_lr: float) -> plt.Figure:
    """Two panels over the reference learning rate: each limit's learned-part error (± s.e.) and its :math:`W_2`
    to the reference's logit law (after training, and averaged over the run); ``ref_lr`` is marked."""
    if not isinstance(cmp, LimitComparison):
        raise TypeError(f"cmp must be a limit_comparison.LimitComparison, got {type(cmp).__name__}")
    ref_lr = _validate.real("ref_lr", ref_lr, low=0, open_low=True)
    lrs = cmp.lrs
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for name in cmp.names:
        c, mk = family_color(name), family_marker(name)
        err, se = ([table[lr, name] for lr in lrs] for table in (cmp.learned, cmp.learned_se))
        axes[0].errorbar(lrs, err, yerr=se, marker=mk, color=c, capsize=3, label=f"{name} limit")
        last, run = ([table[lr, name] for lr in lrs] for table in (cmp.w2_last, cmp.w2))
        axes[1].plot(lrs, last, marker=mk, color=c, label=f"{name} limit, after training")
        axes[1].plot(lrs, run, marker=mk, color=c, ls=":", mfc="white", label=f"{name}, run average")
    axes[0].set(xscale="log", xlabel="reference learning rate $\\eta^*$", ylabel="learned-part error (± s.e.)")
    axes[0].set_yscale("symlog", linthresh=0.05)  # linear near 0: errors at small rates are 0 within noise
    axes[0].set_ylim(bottom=0)
    axes[1].set(xscale="log", xlabel="reference learning rate $\\eta^*$", ylabel="$W_2$ of the logit law")
    axes[0].set_title("what training adds")
    axes[1].set_title("the whole law of the logits")
    for ax in axes:
        ax.axvline(ref_lr, color="gray", ls=":", lw=1)
        ax.legend(fontsize=8)
    return fig
