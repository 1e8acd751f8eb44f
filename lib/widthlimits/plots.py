"""Plotting helpers shared by the chapters: consistent colours, seed bands, honest divergence marks."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from widthlimits.measure import PowerLaw

#: The papers' colour code (tab10: MF blue, NTK orange, intermediate green; black for the reference/SP).
FAMILY_COLORS = {
    "MF": "tab:blue",
    "NTK": "tab:orange",
    "intermediate": "tab:green",
    "SP": "black",
    "sym-default": "tab:purple",
    "IC-MF": "tab:red",
}


def family_color(name: str) -> str:
    """Colour of a family by name (grey for names outside the papers' code)."""
    return FAMILY_COLORS.get(name, "tab:gray")


def family_marker(name: str) -> str:
    """Marker of a family; NTK gets a cross because it often coincides with SP at initialisation."""
    return "x" if name == "NTK" else "o"


def width_colors(widths: Sequence[int], cmap: str = "viridis") -> dict[int, tuple]:
    """One colour per width, ordered by ``log2(width)``."""
    colours = plt.get_cmap(cmap)(np.linspace(0.05, 0.9, len(widths)))
    return {w: tuple(c) for w, c in zip(sorted(widths), colours)}


def curves(ax, values: np.ndarray, *, nonfinite_step: np.ndarray | None = None, label: str = "", color=None, **kw):
    """Seed-mean curve with a min-max band; ``values (S, T+1)`` or ``(T+1,)`` over steps ``0..T``.

    Runs that produced NaN/inf are not averaged in silently: the curve stops at the first bad step of any
    seed and an ``x`` marks it, with "(diverged at step k)" added to the label.
    """
    v = np.atleast_2d(np.asarray(values, dtype=float))
    steps = np.arange(v.shape[1])
    stop = v.shape[1]
    if nonfinite_step is not None:
        bad = np.atleast_1d(nonfinite_step)
        if np.any(bad >= 0):
            stop = int(bad[bad >= 0].min())
            label = f"{label} (diverged at step {stop})"
    good = v[:, :stop]
    (line,) = ax.plot(steps[:stop], good.mean(0), label=label, color=color, **kw)
    if len(v) > 1 and stop > 0:
        ax.fill_between(steps[:stop], good.min(0), good.max(0), color=line.get_color(), alpha=0.2, lw=0)
    if stop < v.shape[1]:
        y = good.mean(0)[-1] if stop > 0 else np.nan
        ax.plot([max(stop - 1, 0)], [y], "x", color=line.get_color(), ms=9, mew=2)
    return line


def power_law(
    ax, widths: Sequence[int], values: Sequence[float], fit: PowerLaw, *, label: str = "", color=None, marker="o"
):
    """Points ``values`` versus width on log2-log axes, with the fitted line and its slope in the label."""
    w = np.asarray(widths, dtype=float)
    (pts,) = ax.plot(w, values, marker, color=color, label=f"{label}: slope {fit.slope:+.3f}")
    ax.plot(w, 2.0**fit.intercept * w**fit.slope, "-", color=pts.get_color(), alpha=0.6)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    return pts
