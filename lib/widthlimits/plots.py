"""Plotting helpers shared by the chapters: consistent colours, seed bands, honest divergence marks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from widthlimits import _validate
from widthlimits.divergence import DIVERGENCE_BOUND
from widthlimits.measure import PowerLaw
from widthlimits.results_files import Sweep
from widthlimits.scalings import REF_WIDTH
from widthlimits.width_trends import check_sweep

#: How a diverged run is marked: a red cross large enough to see next to any curve (and under any line colour
#: but red: IC-MF's tab:red differs from pure red, and the cross is drawn above every line).
DIVERGED_MARKER = dict(marker="x", color="red", ms=11, mew=2.5, ls="", zorder=10)

#: The papers' colour code (tab10: MF blue, NTK orange, intermediate green; black for the reference/SP).
FAMILY_COLORS = {
    "MF": "tab:blue",
    "NTK": "tab:orange",
    "intermediate": "tab:green",
    "SP": "black",
    "sym-default": "tab:purple",
    "IC-MF": "tab:red",
}


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a family name (a string such as 'MF'), got {type(name).__name__}")
    return name


def family_color(name: str) -> str:
    """Colour of a family by name (grey for names outside the papers' code)."""
    _check_name(name)
    return FAMILY_COLORS.get(name, "tab:gray")


def family_marker(name: str) -> str:
    """Marker of a family; NTK gets a cross because it often coincides with SP at initialisation."""
    _check_name(name)
    return "x" if name == "NTK" else "o"


def width_colors(widths: Sequence[int], cmap: str = "viridis") -> dict[int, tuple]:
    """One colour per width, ordered by ``log2(width)``; ``widths`` distinct integers >= 1, ``cmap`` a colormap name."""
    widths = _validate.integers("widths", widths, low=1)
    if not isinstance(cmap, str) or cmap not in plt.colormaps():
        raise ValueError(f"cmap must be the name of a matplotlib colormap (e.g. 'viridis'), got {cmap!r}")
    colours = plt.get_cmap(cmap)(np.linspace(0.05, 0.9, len(widths)))
    return {w: tuple(c) for w, c in zip(sorted(widths), colours)}


def first_bad_steps(values: Any) -> np.ndarray:
    """Per run (row) of ``values (S, T+1)``: the first step at which it diverged, else -1.

    The criterion of :mod:`widthlimits.divergence`, in NumPy (plots need no device): NaN, inf, or a magnitude
    above ``DIVERGENCE_BOUND * max(1, |value at step 0|)``.
    """
    v = np.atleast_2d(np.asarray(_validate.array("values", values, kinds="fiub", finite=False), dtype=float))
    if v.ndim != 2 or v.shape[1] < 1:
        raise ValueError(f"values must have shape (T+1,) or (S, T+1) with T+1 >= 1, got {np.shape(values)}")
    with np.errstate(invalid="ignore"):
        threshold = DIVERGENCE_BOUND * np.fmax(1.0, np.abs(v[:, :1]))  # fmax: a NaN start is flagged by itself
        bad = ~np.isfinite(v) | (np.abs(v) > threshold)
    return np.where(bad.any(-1), bad.argmax(-1), -1)


def _check_steps(nonfinite_step: Any, n_runs: int, n_points: int | None = None) -> np.ndarray:
    """``nonfinite_step`` as an int array of one entry per run (or one for all), every entry an integer >= -1."""
    try:
        raw = np.asarray(nonfinite_step)
    except (TypeError, ValueError):
        raise TypeError(f"nonfinite_step must be an integer or an array of integers, got {nonfinite_step!r}") from None
    if raw.dtype.kind not in "iuf":  # floats are accepted when integral: results files store -1.0
        raise TypeError(f"nonfinite_step must hold integers >= -1, got dtype {raw.dtype}")
    steps = raw.astype(float).ravel()
    if not np.all(np.isfinite(steps) & (steps == np.round(steps)) & (steps >= -1)):
        raise ValueError(f"nonfinite_step must hold integers >= -1 (-1: no divergence), got {raw}")
    if n_points is not None and np.any(steps >= n_points):  # a step the curve does not have
        raise ValueError(f"nonfinite_step must be < the number of points per run ({n_points}), got {raw}")
    if steps.size not in (1, n_runs):
        raise ValueError(f"nonfinite_step must hold one step per run ({n_runs}) or one for all, got shape {raw.shape}")
    return np.broadcast_to(steps.astype(int), (n_runs,))


def curves(
    ax: Axes,
    values: Any,
    *,
    nonfinite_step: Any = None,
    label: str = "",
    color: Any = None,
    **kw: Any,
) -> Line2D:
    """Seed-mean curve with a min-max band; ``values (S, T+1)`` or ``(T+1,)`` over steps ``0..T``.

    Diverged runs are never averaged in silently. The first bad step of each run is ``nonfinite_step`` (one per
    run, or one for all; ``-1`` = none) where given, else computed from ``values`` themselves by
    :func:`first_bad_steps` (NaN, inf, or :data:`~widthlimits.divergence.DIVERGENCE_BOUND` times the step-0
    scale). Where a run diverged, the curve stops before the earliest bad step, a red cross marks its last drawn
    point, and "(diverged at step k)" is added to the label. A run bad from step 0 has no point to mark: the
    cross sits on the lower edge of the axes at step 0, annotated "diverged at step 0". Pass
    ``nonfinite_step`` when ``values`` hold deliberate NaNs (gaps).
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    v = np.asarray(_validate.array("values", values, kinds="fiub", finite=False), dtype=float)
    if v.ndim not in (1, 2) or v.shape[-1] < 1:
        raise ValueError(f"values must have shape (T+1,) or (S, T+1) with T+1 >= 1 steps, got {v.shape}")
    v = np.atleast_2d(v)
    if v.shape[0] < 1:
        raise ValueError(f"values must hold at least one run, got shape {v.shape}")
    bad = first_bad_steps(v) if nonfinite_step is None else _check_steps(nonfinite_step, len(v), v.shape[-1])
    steps = np.arange(v.shape[1])
    diverged = bad >= 0
    first = int(bad[diverged].min()) if diverged.any() else v.shape[1]
    stop = min(first, v.shape[1])  # a given step past the last record: the whole curve is drawn, then marked
    if diverged.any() and label:  # an unlabelled curve stays out of the legend; its cross still shows
        seeds = f", {int(diverged.sum())} of {len(v)} runs" if len(v) > 1 else ""
        label = f"{label} (diverged at step {first}{seeds})"
    good = v[:, :stop]
    mean = good.mean(0) if stop > 0 else np.empty(0)
    (line,) = ax.plot(steps[:stop], mean, label=label, color=color, **kw)
    if len(v) > 1 and stop > 0:
        ax.fill_between(steps[:stop], good.min(0), good.max(0), color=line.get_color(), alpha=0.2, lw=0)
    if diverged.any():
        drawn = np.flatnonzero(np.isfinite(mean))
        if drawn.size:  # the last point actually drawn (deliberate NaN gaps are skipped)
            ax.plot([steps[drawn[-1]]], [mean[drawn[-1]]], **DIVERGED_MARKER)
        else:  # nothing drawn: a cross on the lower edge at the step, which autoscaling cannot move off-screen
            ax.plot([stop], [0.0], transform=ax.get_xaxis_transform(), clip_on=False, **DIVERGED_MARKER)
            ax.annotate(
                f"diverged at step {first}",
                xy=(stop, 0.0),
                xycoords=ax.get_xaxis_transform(),
                xytext=(6, 6),
                textcoords="offset points",
                color="red",
                fontsize=8,
            )
    return line


def power_law(
    ax: Axes,
    widths: Sequence[float],
    values: Sequence[float],
    fit: PowerLaw,
    *,
    label: str = "",
    color: Any = None,
    marker: str = "o",
) -> Line2D:
    """Points ``values`` versus width on log2-log axes, with the fitted line and its slope in the label.

    ``widths`` and ``values`` are equal-length sequences of finite numbers > 0 (a log axis drops anything else
    silently); ``fit`` is the :class:`~widthlimits.measure.PowerLaw` fitted to them.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    if not isinstance(fit, PowerLaw):
        raise TypeError(f"fit must be a measure.PowerLaw (from fit_power_law or bootstrap_slope), got {fit!r}")
    as_seq = [np.asarray(a) if hasattr(a, "__array__") else a for a in (widths, values)]  # jax arrays too
    w = np.asarray(_validate.reals("widths", as_seq[0], low=0, open_low=True))
    y = np.asarray(_validate.reals("values", as_seq[1], low=0, open_low=True))
    if w.shape != y.shape:
        raise ValueError(f"widths and values must have equal lengths, got {len(w)} and {len(y)}")
    values = y
    (pts,) = ax.plot(w, values, marker, color=color, label=f"{label}: slope {fit.slope:+.3f}")
    ax.plot(w, 2.0**fit.intercept * w**fit.slope, "-", color=pts.get_color(), alpha=0.6)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    return pts


# --- quantities versus width, one power law per family ---


def power_laws(
    ax: Axes,
    widths: Sequence[float],
    values: dict[str, Any],
    fits: dict[str, PowerLaw],
    *,
    ref_width: int | None = None,
) -> None:
    """:func:`power_law` for every family: ``values[name]`` ``(W,)`` (seed means) with ``fits[name]``, in the
    family's colour and marker, log2-log axes and a legend; a dotted line marks ``ref_width`` if given."""
    if not isinstance(values, dict) or not isinstance(fits, dict) or set(values) != set(fits) or not values:
        raise ValueError("values and fits must be non-empty dicts with the same family names")
    for name, v in values.items():
        power_law(ax, widths, v, fits[name], label=name, color=family_color(name), marker=family_marker(name))
    if ref_width is not None:
        ax.axvline(_validate.width("ref_width", ref_width), color="gray", ls=":", lw=1)
    ax.legend(fontsize=8)


# --- loss curves of a sweep, one panel per family ---


def loss_curves(axes: Sequence[Axes], sweep: Any, *, ref_width: int | None = None) -> None:
    """Training (solid) and test (dashed) loss against step, one panel per family of ``sweep`` and one colour
    per width (seed means with min-max bands, divergence marked by :func:`curves`); ``ref_width`` is labelled
    "(reference)" and a dotted line marks log 2, the loss of a zero logit."""
    families = tuple(sweep.families)
    if len(axes) != len(families):
        raise ValueError(f"axes must hold one panel per family ({len(families)}), got {len(axes)}")
    colors = width_colors(sweep.widths)
    for ax, name in zip(axes, families):
        for w in sweep.widths:
            h = sweep.sel(width=w, family=name)  # (seed, step)
            label = f"d = {w}" + (" (reference)" if w == ref_width else "")
            curves(ax, h.train_loss, nonfinite_step=h.nonfinite_step, color=colors[w], label=label)
            curves(ax, h.test_loss, nonfinite_step=h.nonfinite_step, color=colors[w], ls="--")
        ax.axhline(np.log(2), color="gray", ls=":", lw=1)
        ax.set(title=name, xlabel="step")
    axes[0].set_ylabel("loss (solid: train, dashed: test)")
    axes[0].legend(fontsize=8)


# --- sweep results: final values against width, the widest nets' curves, measured and predicted exponents ---


def _field(sw: Any, field: Any) -> str:
    scalar = ("train_loss", "train_acc", "test_loss", "test_acc")
    field = _validate.choice("field", field, scalar)
    if getattr(sw.history, field) is None:
        raise ValueError(f"field must be stored in the sweep; {field!r} is not")
    return field


def final_against_width(
    ax: Axes, sw: Any, field: str, *, ls: str = "-", hollow: bool = False, alpha: float = 0.12, suffix: str = ""
) -> None:
    """Every family of ``sw``: the seed mean of ``field`` after the last step against width (log2 axis), in the
    family's colour and marker, with a band spanning the seeds; ``hollow`` draws open markers, ``suffix`` is
    added to each label (``" (inline)"``)."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    field = _field(check_sweep(sw), field)
    alpha = _validate.real("alpha", alpha, low=0, high=1)
    for name in sw.families:
        v = np.asarray(getattr(sw.sel(family=name, step=-1), field), dtype=float)  # (width, seed)
        c = family_color(name)
        mfc = "white" if hollow else c
        ax.plot(sw.widths, v.mean(1), ls, marker=family_marker(name), color=c, mfc=mfc, label=name + suffix)
        ax.fill_between(sw.widths, v.min(1), v.max(1), color=c, alpha=alpha, lw=0)
    ax.set_xscale("log", base=2)


def final_loss_accuracy(sweeps: Any, *, titles: Any = None, suptitle: str = "") -> Any:
    """A figure of one column per sweep (``{name: Sweep}``): final loss (top) and accuracy (bottom) against
    width, train solid and test dashed, the trivial predictor's level (``log 2``, ``1/2``) dotted and the
    reference width marked; ``titles`` maps sweep names to column titles."""
    if not isinstance(sweeps, Mapping) or not sweeps:
        raise TypeError(f"sweeps must be a non-empty mapping of names to Sweeps, got {type(sweeps).__name__}")
    titles = {} if titles is None else titles
    fig, axes = plt.subplots(2, len(sweeps), figsize=(4 * len(sweeps), 6.4), sharex="col", squeeze=False)
    for col, (name, sw) in enumerate(sweeps.items()):
        for row, (metric, trivial) in enumerate([("loss", np.log(2)), ("acc", 0.5)]):
            ax = axes[row, col]
            for split, ls in [("train", "-"), ("test", "--")]:
                final_against_width(ax, sw, f"{split}_{metric}", ls=ls, alpha=0.15, suffix=f" {split}")
            ax.axhline(trivial, color="gray", ls=":", lw=1)
            ax.axvline(REF_WIDTH, color="gray", lw=0.5)
            ax.set(ylabel=f"final {metric}" if col == 0 else None, xlabel="width $d$" if row == 1 else None)
        axes[0, col].set_title(titles.get(name, name))
    axes[0, -1].legend(fontsize=7, ncol=2)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def widest_curves(
    ax: Axes, sw: Sweep, field: str, *, ref_width: int | None = None, limits: Any = None, limit_from: int = 0
) -> None:
    """``field`` against the step: the reference net (black; every family is the reference net at
    ``ref_width``, default :data:`~widthlimits.scalings.REF_WIDTH`) and every family at the widest width of
    ``sw``, seed mean and band (:func:`curves`); ``limits`` (``{family: (T+1,) curve}``) are drawn dotted in
    the family's colour from step ``limit_from`` on."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    field = _field(check_sweep(sw), field)
    ref_width = REF_WIDTH if ref_width is None else ref_width
    limits = {} if limits is None else limits
    if not isinstance(limits, Mapping):
        raise TypeError(f"limits must map family names to curves, got {type(limits).__name__}")
    limit_from = _validate.integer("limit_from", limit_from, low=0, high=sw.n_steps)
    ref = sw.sel(width=ref_width, family=sw.families[0])
    curves(ax, getattr(ref, field), color="black", label=f"reference, d = {ref_width}")
    for name in sw.families:
        top = getattr(sw.sel(width=sw.widths[-1], family=name), field)  # (seed, step)
        curves(ax, top, color=family_color(name), label=f"{name}, d = {sw.widths[-1]}")
    for name, curve in limits.items():
        steps = np.arange(limit_from, len(curve))
        ax.plot(steps, np.asarray(curve)[limit_from:], ":", color=family_color(name), lw=2, label=f"{name} limit")


def exponent_bars(ax: Axes, measured: Any, predicted: Any) -> None:
    """Bars of width exponents per family: one group per entry of ``measured`` (``{label: {family: slope}}``,
    darker for later entries), then the ``predicted`` ones (``{family: slope}``, grey, outlined)."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    if not isinstance(measured, Mapping) or not measured or not isinstance(predicted, Mapping) or not predicted:
        raise TypeError("measured must map labels to {family: slope} and predicted map families to slopes")
    names = list(predicted)
    xs = np.arange(len(names))
    n = len(measured) + 1
    offsets = (np.arange(n) - (n - 1) / 2) * 0.2
    for k, (label, slopes) in enumerate(measured.items()):
        alpha = 0.9 if n == 2 else 0.45 + 0.45 * k / (n - 2)
        colours = [family_color(nm) for nm in names]
        ax.bar(xs + offsets[k], [slopes[nm] for nm in names], 0.2, color=colours, alpha=alpha, label=label)
    theory = [predicted[nm] for nm in names]
    ax.bar(xs + offsets[-1], theory, 0.2, color="lightgray", edgecolor="black", label="theory")
    ax.set_xticks(xs, names)
    ax.axhline(0, color="black", lw=0.5)
    ax.set(ylabel="width exponent")
