r"""Figures of the catapult phase: time courses, the phase diagram over :math:`\eta^*\lambda_0`, width trends.

Every figure takes a :class:`~widthlimits.catapult.CatapultRuns` (selected by label) and marks diverged runs as
crosses (never averaged in), following :mod:`widthlimits.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from widthlimits import _validate
from widthlimits.catapult import CatapultRuns
from widthlimits.measure import PowerLaw
from widthlimits.plots import curves, power_law

#: Colour and marker of each activation in the phase diagram.
STYLES = {"leaky ReLU 0.1": ("tab:blue", "o"), "ReLU": ("tab:red", "s")}


def _check_runs(name: str, runs: object, axes: tuple[str, ...]) -> CatapultRuns:
    if not isinstance(runs, CatapultRuns):
        raise TypeError(f"{name} must be a catapult.CatapultRuns, got {type(runs).__name__}")
    if runs.axes != axes:
        raise ValueError(f"{name} must have axes {axes} (select the others by label), got {runs.axes}")
    return runs


def time_courses(runs: CatapultRuns, *, width: int, show_steps: int = 60) -> plt.Figure:
    r"""Two panels: the loss (log scale, first ``show_steps`` steps) and :math:`\eta^*\lambda_t` of each run.

    ``runs`` has the single axis ``kappa`` (one seed, one width); a diverged run ends in a red cross and its
    kernel curve stops at its first non-finite loss.
    """
    runs = _check_runs("runs", runs, ("kappa",))
    width = _validate.width("width", width)
    show_steps = _validate.integer("show_steps", show_steps, low=1)
    kappas = runs.coords["kappa"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharex=True)
    colours = plt.get_cmap("plasma")(np.linspace(0.05, 0.85, len(kappas)))
    first_bad = runs.first_nonfinite
    n_steps = runs.loss.shape[-1] - 1
    for i, (kappa, colour) in enumerate(zip(kappas, colours)):
        label = f"$\\eta^*\\lambda_0$ = {kappa:g}"
        curves(axes[0], runs.loss[i], nonfinite_step=first_bad[i], color=colour, label=label)
        stop = first_bad[i] if first_bad[i] >= 0 else n_steps + 1
        axes[1].plot(runs.kappa_t[i, :stop], color=colour, label=label)
    axes[1].axhline(2, color="black", ls=":", lw=1, label="stability edge 2")
    axes[0].set(xlabel="GD step", ylabel="training loss (square)", yscale="log")
    axes[0].set_title(f"loss, d = {width} (first {show_steps} of {n_steps} steps)")
    axes[0].set(ylim=(0.5 * np.nanmin(runs.loss), 1e6), xlim=(0, show_steps))
    axes[1].set(xlabel="GD step", ylabel="$\\eta^*\\lambda_t$ (top eigenvalue of $\\Theta_t/n$)", title="kernel")
    axes[1].set(ylim=(0, 1.25 * max(kappas)))
    for ax in axes:
        ax.legend(fontsize=8)
    return fig


def phase_diagram(phase: Mapping[str, CatapultRuns], *, width: int) -> plt.Figure:
    r"""Final loss (top; diverged runs as crosses on a line above every finite one) and :math:`\lambda_T/\lambda_0`
    (bottom, with :math:`\min(1, 2/\eta^*\lambda_0)`) against :math:`\eta^*\lambda_0`, per activation.

    ``phase`` maps an activation's name (a key of :data:`STYLES`) to its runs with axes ``(kappa, seed)``.
    """
    if not isinstance(phase, Mapping) or not phase:
        raise TypeError("phase must be a non-empty mapping of activation name -> catapult.CatapultRuns")
    for name, r in phase.items():
        if name not in STYLES:
            raise ValueError(f"phase has activation {name!r}; known: {sorted(STYLES)}")
        _check_runs(f"phase[{name!r}]", r, ("kappa", "seed"))
    width = _validate.width("width", width)
    fig, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    finals = np.concatenate([r.final_loss[~r.diverged] for r in phase.values()])
    y_bad = 3 * finals.max() if finals.size else 1.0  # diverged runs are drawn as crosses on this line
    for j, (name, r) in enumerate(phase.items()):
        colour, marker = STYLES[name]
        ok = ~r.diverged
        xs = r.kappa0 + (0.12 * j - 0.06)  # a small offset keeps the activations apart
        axes[0].plot(xs[ok], r.final_loss[ok], marker, color=colour, ms=4, ls="", label=name)
        axes[1].plot(xs[ok], r.ratio_end[ok], marker, color=colour, ms=4, ls="", label=name)
        axes[0].plot(xs[~ok], np.full((~ok).sum(), y_bad), "x", color=colour, ms=7, mew=2, label=f"{name}: diverged")
    top = max(float(np.max(r.kappa0)) for r in phase.values())
    line = np.linspace(0.3, top, 200)
    axes[1].plot(
        line, np.minimum(1, 2 / line), "k--", lw=1, label="$\\lambda_T/\\lambda_0 = \\min(1, 2/\\eta^*\\lambda_0)$"
    )
    for ax in axes:
        ax.axvspan(0, 2, color="tab:green", alpha=0.08)
        ax.axvspan(2, 4, color="tab:orange", alpha=0.08)
        for edge in (2, 4):
            ax.axvline(edge, color="gray", ls=":", lw=1)
    n_steps = next(iter(phase.values())).loss.shape[-1] - 1
    axes[0].set(yscale="log", ylabel=f"training loss after {n_steps} steps\n(x: diverged)")
    axes[0].set_title(f"phases at d = {width} (green: lazy, orange: catapult window of the linear model)")
    axes[1].set(yscale="log", xlabel="$\\eta^*\\lambda_0$", ylabel="$\\lambda_T / \\lambda_0$")
    axes[0].legend(fontsize=8, ncol=2)
    axes[1].legend(fontsize=8)
    return fig


def width_trends(
    widths: Sequence[int],
    lazy: CatapultRuns,
    spike: CatapultRuns,
    fit_rel: PowerLaw,
    fit_peak: PowerLaw,
    *,
    predicted_rate: float,
) -> plt.Figure:
    r"""Three panels against the width: the lazy kernel change (``lazy``, axes ``(width, seed)``) with its power
    law; the peak loss and the step of the peak of the catapult runs (``spike``, the same axes), the step with
    the linear model's slope ``predicted_rate`` per doubling of the width."""
    widths = _validate.integers("widths", widths, low=1)
    for name, r in (("lazy", lazy), ("spike", spike)):
        _check_runs(name, r, ("width", "seed"))
        if tuple(r.coords["width"]) != widths:
            raise ValueError(f"{name} must hold the widths {widths}, got {r.coords['width']}")
    for name, fit in (("fit_rel", fit_rel), ("fit_peak", fit_peak)):
        if not isinstance(fit, PowerLaw):
            raise TypeError(f"{name} must be a measure.PowerLaw, got {fit!r}")
    predicted_rate = _validate.real("predicted_rate", predicted_rate)
    kappa_lazy, kappa_spike = lazy.coords["kappa"], spike.coords["kappa"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    power_law(
        axes[0], widths, lazy.rel_change.mean(1), fit_rel, label=f"leaky ReLU, $\\eta^*\\lambda_0 = {kappa_lazy:g}$"
    )
    axes[0].set(xlabel="width $d$", ylabel="$|\\lambda_T/\\lambda_0 - 1|$", title="lazy phase: kernel change")
    power_law(
        axes[1], widths, spike.peak_loss.mean(1), fit_peak, label=f"leaky ReLU, $\\eta^*\\lambda_0 = {kappa_spike:g}$"
    )
    axes[1].set(xlabel="width $d$", ylabel="peak training loss", title="catapult: height of the spike")
    steps = spike.peak_step
    n_seeds = steps.shape[1]
    axes[2].errorbar(widths, steps.mean(1), yerr=steps.std(1) / np.sqrt(n_seeds), fmt="o", label="measured (seed mean)")
    octaves = np.log2(widths)
    trend = steps.mean() + predicted_rate * (octaves - octaves.mean())
    axes[2].plot(widths, trend, "--", label=f"slope {predicted_rate:.2f} per octave (linear model)")
    axes[2].set(xlabel="width $d$", ylabel="step of the loss peak", title="catapult: time of the spike")
    axes[2].set_xscale("log", base=2)
    for ax in axes:
        ax.legend(fontsize=8)
    return fig
