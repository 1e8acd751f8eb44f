"""Figures of the framework chapter: the derived phase plane, measurements drawn on it, and the slider figure.

:func:`phase_plane` draws the :math:`(q_\\sigma, \\tilde q)` plane of :mod:`~widthlimits.limit_models` (the band,
its segments and cells), optionally over a derived exponent as background; :func:`measured_on_plane` puts the
measured exponents of :mod:`~widthlimits.width_exponents` on it, :func:`ratio_curves` draws the learned/initial
logit ratio of a few steps, and :func:`grid_point` one frame of the chapter's slider figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon

from widthlimits import _validate, limit_models, scalings, width_exponents
from widthlimits.framework_tables import frac, ok
from widthlimits.plots import curves, width_colors
from widthlimits.results_files import Sweep

#: The part of the plane :func:`phase_plane` draws: ``((q_sigma_min, q_sigma_max), (q_tilde_min, q_tilde_max))``.
PLANE_WINDOW = ((-1.75, 1.25), (-1.25, 2.0))


def _check_ax(ax: object) -> Axes:
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def phase_plane(
    ax: Axes,
    *,
    field: str | None = None,
    vmax: float = 1.5,
    cells: bool = True,
    names: bool = True,
    regions: bool = False,
    hatch: bool = True,
    fontsize: int = 8,
) -> Any:
    r"""The derived phase diagram of :mod:`~widthlimits.limit_models` on :data:`PLANE_WINDOW`.

    Draws the divergent (:math:`q_h > 0`) and stagnating (:math:`q_h < -\tfrac12`) regions (hatched, or plain
    fills with ``hatch=False``, much faster to render), the band edges, the segments :math:`q_0 = 0` (dashed) and
    :math:`q_K = 0` (dotted) inside the band, the named corners (``names``) and the cells' first example points
    with their numbers (``cells``); ``regions`` shades the three open parts of the band (for a legend).
    ``field``, a field of :class:`~widthlimits.limit_models.Exponents` (``"q_0"``, ``"q_K_w"``, ...), colours the
    background with that *derived* exponent on a diverging map clipped at ``±vmax``; the image is returned (for a
    colour bar and :func:`plane_points`), else ``None``.
    """
    _check_ax(ax)
    if field is not None and field not in limit_models.Exponents._fields:
        raise ValueError(f"field must be one of {limit_models.Exponents._fields} or None, got {field!r}")
    vmax = _validate.real("vmax", vmax, low=0, open_low=True)
    fontsize = _validate.integer("fontsize", fontsize, low=2, high=40)
    (x0, x1), (y0, y1) = PLANE_WINDOW
    xs = np.linspace(x0, x1, 200)
    image = None
    if field is not None:
        gx, gy = np.meshgrid(np.linspace(x0, x1, 250), np.linspace(y0, y1, 250))
        values = getattr(limit_models.plane_exponents(gx, gy), field)
        image = ax.imshow(
            values,
            origin="lower",
            extent=(x0, x1, y0, y1),
            aspect="auto",
            cmap="RdBu_r",
            norm=TwoSlopeNorm(0, -vmax, vmax),
            alpha=0.45,
            interpolation="nearest",
        )
    if hatch:
        ax.fill_between(xs, -xs, y1, facecolor="none", edgecolor="tab:red", hatch="///", lw=0, alpha=0.35)
        ax.fill_between(xs, y0, -xs - 0.5, facecolor="none", edgecolor="0.4", hatch="\\\\\\", lw=0, alpha=0.35)
    else:
        ax.fill_between(xs, -xs, y1, color="tab:red", lw=0, alpha=0.12)
        ax.fill_between(xs, y0, -xs - 0.5, color="0.5", lw=0, alpha=0.15)
    if regions:  # the band's two-dimensional parts, split by the segments q_0 = 0 and q_K = 0
        for poly, colour, label in [
            ([(x0, -x0), (-1, 1), (-0.5, 0), (x0, -x0 - 0.5)], "tab:blue", "$q_K<0$"),
            ([(-1, 1), (-0.5, 0.5), (-0.5, 0)], "tab:green", "$q_0<0<q_K$"),
            ([(-0.5, 0.5), (x1, -x1), (x1, -x1 - 0.5), (-0.5, 0)], "tab:orange", "$q_0>0$"),
        ]:
            ax.add_patch(Polygon(poly, color=colour, alpha=0.12, lw=0, label=label))
    ax.plot(xs, -xs, "k-", lw=1.2)  # top edge q_h = 0
    ax.plot(xs, -xs - 0.5, "k-", lw=1.2)  # bottom edge q_h = -1/2
    ax.plot([-0.5, -0.5], [0, 0.5], "k--", lw=1)  # q_0 = 0 inside the band
    ax.plot([-1, -0.5], [1, 0], "k:", lw=1.2)  # q_K = 0 inside the band
    ax.text(0.3, 1.6, "diverges", color="tab:red", fontsize=fontsize, ha="center")
    ax.text(-1.35, -0.9, "stagnates", color="0.3", fontsize=fontsize, ha="center")
    if names:
        for name, (px, py), (dx, dy) in [
            ("MF", (-1, 1), (-0.06, 0.1)),
            ("NTK", (-0.5, 0), (0.06, -0.14)),
            ("sym-default", (-0.5, 0.5), (0.08, 0.08)),
        ]:
            ax.annotate(name, (px, py), (px + dx, py + dy), fontsize=fontsize, ha="right" if dx < 0 else "left")
    if cells:
        for m in limit_models.LIMIT_MODELS:
            px, py = m.examples[0]
            ax.plot(px, py, "o", ms=3, color="k")
            dx, dy = (0.02, -0.12) if m.number == 11 else (-0.1, -0.02)  # cell 11 sits next to cell 4
            ax.annotate(str(m.number), (px, py), (px + dx, py + dy), fontsize=fontsize - 1, color="0.25")
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel=r"$q_\sigma$", ylabel=r"$\tilde q$")
    return image


def plane_points(
    ax: Axes,
    image: Any,
    points: dict[str, tuple[float, float]],
    values: dict[str, float],
    *,
    crosses: Sequence[str] = (),
    hollow: Sequence[str] = (),
    offsets: dict[tuple[float, float], tuple[float, float]] | None = None,
) -> None:
    """Measured ``values`` at named ``points`` of the plane, filled with the colours of ``image`` (the derived field
    of :func:`phase_plane`, so agreement shows as points that blend in) and labelled with their value.

    Points outside :data:`PLANE_WINDOW` are skipped; names in ``crosses`` are drawn as crosses, names in ``hollow``
    as open diamonds (values not to be read against the field); ``offsets`` moves labels of crowded points.
    """
    _check_ax(ax)
    if not hasattr(image, "cmap") or not hasattr(image, "norm"):
        raise TypeError(f"image must be the image returned by phase_plane(field=...), got {type(image).__name__}")
    missing = sorted(set(points) - set(values))
    if missing:
        raise ValueError(f"values must hold a value for every point, missing {missing}")
    (x0, x1), (y0, y1) = PLANE_WINDOW
    for name, (px, py) in points.items():
        if not (x0 < px < x1 and y0 < py < y1):
            continue
        value = _validate.real(f"values[{name!r}]", values[name])
        empty = name in hollow
        ax.scatter(
            px,
            py,
            s=110 if name in crosses else 70,
            marker="X" if name in crosses else "D" if empty else "o",
            c="none" if empty else [value],
            cmap=None if empty else image.cmap,
            norm=None if empty else image.norm,
            edgecolors="k",
            linewidths=1.2,
            zorder=3,
        )
        dx, dy = (offsets or {}).get((px, py), (0.06, 0.05))
        ax.annotate(f"{value:+.2f}", (px, py), (px + dx, py + dy), fontsize=7, zorder=4)


def plain_log_y(ax: Axes) -> None:
    """A log y axis labelled in plain numbers at 1, 2, 5 x 10^k (mathtext labels make every frame slow to draw)."""
    _check_ax(ax).set_yscale("log")
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.yaxis.set_minor_locator(ticker.NullLocator())


def width_axis(ax: Axes, widths: Sequence[int]) -> None:
    """A log-2 width axis ticked at ``widths`` (plain labels), over a :func:`plain_log_y` axis."""
    widths = _validate.integers("widths", widths, low=1)
    _check_ax(ax).set_xscale("log", base=2)
    ax.set_xticks(widths, [f"{w:g}" for w in widths])
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    plain_log_y(ax)


def versus_width(
    ax: Axes, widths: Sequence[int], values: Any, exponent: float, *, label: str = "", color: Any = None
) -> Line2D | None:
    r"""``values (W,)`` against width relative to the first finite positive one, with the derived power law
    :math:`(d/d_0)^{\text{exponent}}` dashed through it: a measured slope reads off against the derived one.

    Values that are not finite and positive (a diverged run) are left out of the points, not of the dashed line;
    if none is left nothing is drawn and ``None`` is returned. Call :func:`width_axis` for the axes.
    """
    _check_ax(ax)
    w = np.asarray(_validate.integers("widths", widths, low=1), dtype=float)
    v = np.asarray(_validate.array("values", values, shape=(len(w),), kinds="fiu", finite=False), dtype=float)
    exponent = _validate.real("exponent", exponent)
    good = np.isfinite(v) & (v > 0)
    if not good.any():
        return None
    (line,) = ax.plot(w[good], v[good] / v[good][0], "o-", color=color, label=label, ms=4)
    ax.plot(w, (w / w[good][0]) ** exponent, "--", color=line.get_color(), lw=1)
    return line


def width_curves(ax: Axes, widths: Sequence[int], values: Any, nonfinite_step: Any, **kw: Any) -> None:
    """:func:`curves` of every width, coloured by :func:`width_colors` and labelled ``d = w``.

    ``values (W, S, T+1)`` or ``(W, T+1)``, ``nonfinite_step (W, S)`` or ``(W,)`` (one entry per run, as
    :func:`curves` takes); ``kw`` go to :func:`curves`.
    """
    _check_ax(ax)
    colors = width_colors(widths)
    v = _validate.array("values", values, kinds="fiu", finite=False)
    if v.ndim not in (2, 3) or v.shape[0] != len(colors):
        raise ValueError(f"values must have shape (W={len(colors)}, S, T+1) or (W, T+1), got {v.shape}")
    bad = np.asarray(nonfinite_step)
    if bad.ndim == 0 or bad.shape[0] != len(colors):
        raise ValueError(f"nonfinite_step must have one row per width (W={len(colors)}), got shape {bad.shape}")
    for w, row, steps in zip(widths, v, bad):
        curves(ax, row, nonfinite_step=steps, color=colors[w], label=f"d = {w}", **kw)


# --- the chapter's figures, built from the helpers above ---

#: The three panels of :func:`measured_on_plane`: (title, exponent key); the background is the derived field.
PLANE_PANELS = (
    ("$q_0$ (logits at init)", "q_0"),
    ("$q_K$ (input-layer kernel at init)", "q_K_w"),
    ("$q_h$ (input-layer step)", "q_h_w"),
)
#: Label offsets of the crowded points of the plane (``(q_sigma, q_tilde) -> (dx, dy)``).
CROWDED = {
    (-1.0, 0.75): (-0.33, -0.02),
    (-1.0, 0.5): (-0.33, -0.05),
    (-0.75, 0.5): (-0.28, -0.16),
    (-0.66, 0.5): (0.0, -0.17),
    (-0.5, 0.5): (0.06, 0.06),
}


def measured_on_plane(
    points: Mapping[str, tuple[float, float]],
    slopes: Mapping[str, Mapping[str, Any]],
    *,
    crosses: Sequence[str] = (),
    hollow_q_h: Sequence[str] = (),
    suptitle: str = "measured exponents on the derived phase diagram (×: failure examples, ◇: pre-asymptotic $q_h$)",
) -> Any:
    """A figure of the :data:`PLANE_PANELS`: each derived exponent as the background of :func:`phase_plane`, with
    the measured slopes (``slopes[name][key]``, a :class:`~widthlimits.measure.PowerLaw` or a number) at the named
    ``points`` (:func:`plane_points`); ``crosses`` are drawn as crosses, ``hollow_q_h`` hollow in the ``q_h`` panel."""
    if not isinstance(points, Mapping) or not isinstance(slopes, Mapping):
        raise TypeError("points and slopes must be mappings keyed by point name")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), sharey=True, layout="constrained")
    for ax, (title, key) in zip(axes, PLANE_PANELS):
        image = phase_plane(ax, field=key, cells=False, names=False)
        values = {n: float(getattr(slopes[n][key], "slope", slopes[n][key])) for n in points if n in slopes}
        hollow = hollow_q_h if key.startswith("q_h") else ()
        shown = {n: p for n, p in points.items() if n in values}
        plane_points(ax, image, shown, values, crosses=crosses, hollow=hollow, offsets=CROWDED)
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.85, label="exponent: derived (background), measured (points)")
    fig.suptitle(suptitle)
    return fig


def ratio_curves(axes: Sequence[Axes], sweep: Sweep, titles: Mapping[str, str] | None = None) -> None:
    r"""One panel per family of ``sweep``: the learned/initial logit ratio
    (:func:`~widthlimits.width_exponents.learned_ratio`) against the step, one colour per width, on a log axis
    (step 0, zero by definition, is left out); ``titles`` maps family names to panel titles."""
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be an experiments.Sweep, got {type(sweep).__name__}")
    if len(axes) != len(sweep.families):
        raise ValueError(f"axes must hold one panel per family ({len(sweep.families)}), got {len(axes)}")
    for ax, name in zip(axes, sweep.families):
        ratio = width_exponents.learned_ratio(sweep, name)  # (W, S, T+1)
        ratio[:, :, 0] = np.nan  # not drawn on the log axis
        width_curves(ax, sweep.widths, ratio, sweep.sel(family=name).nonfinite_step)
        ax.set(title=(titles or {}).get(name, name), xlabel="GD step", yscale="log")
        ax.legend(fontsize=8)
    axes[0].set_ylabel(r"$\mathbb{E}|f^{(k)}-f^{(0)}|\ /\ \mathrm{rms}\,f^{(0)}$")


def grid_point(
    fig: Any,
    *,
    summaries: Mapping[str, Mapping[str, width_exponents.PointSummary]],
    q_sigma: float,
    q_tilde: float,
    optimizer: str,
) -> None:
    """The slider figure of one grid point on an empty ``fig``: an :class:`~widthlimits.widgets.Explorer`'s
    ``draw`` once ``summaries`` is bound (``functools.partial(grid_point, summaries=...)``). It reads only
    ``summaries[optimizer]["qs,qt"]`` (no computation) and shows the point on the plane with its cell, the
    measured scales against width with the derived power laws dashed, the kernel change after the last step,
    and the training-loss curves per width."""
    if not isinstance(summaries, Mapping) or optimizer not in summaries:
        raise ValueError(f"summaries must map optimizer names to point summaries, missing {optimizer!r}")
    axes = fig.subplots(1, 4, gridspec_kw=dict(width_ratios=[1.15, 1, 1, 1]))
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.16, top=0.8, wspace=0.28)
    c = limit_models.classify(scalings.from_hat(q_sigma, q_tilde, optimizer=optimizer))
    e = c.exponents
    phase_plane(axes[0], cells=False, names=False, hatch=False, fontsize=7)
    axes[0].plot(q_sigma, q_tilde, "*", ms=16, color="gold", mec="k", zorder=5)
    axes[0].set_title(f"({q_sigma:g}, {q_tilde:g}), {optimizer.upper()}", fontsize=9)
    if c.model is not None:
        props = " ".join(f"P{i + 1}{ok(p)}" for i, p in enumerate(c.properties))
        name = f"cell {c.model.number}: {c.model.name}; {props}"
    else:
        name = f"{c.regime} (q_h = {frac(e.q_h)})"
    fig.suptitle(f"{name}    q_0 = {frac(e.q_0)}, q_K = {frac(e.q_K)}, q_h = {frac(e.q_h)}", fontsize=10)
    d = summaries[optimizer].get(f"{q_sigma:g},{q_tilde:g}")
    if d is None:
        for ax in axes[1:]:
            ax.set_axis_off()
        axes[2].text(0.5, 0.5, f"not on the {optimizer.upper()} grid", ha="center", va="center", fontsize=11)
        return
    ax = axes[1]
    for field, q, colour, label in [
        ("logit", e.q_0, "tab:blue", "logits at init"),
        ("kernel0", e.q_K, "tab:red", "kernel at init"),
        ("change", e.q_K, "tab:orange", "first-step change"),
        ("hat", e.q_h, "tab:green", "hat move"),
    ]:
        if getattr(d, field) is not None:  # RMSProp: the GD kernel is not the one that moves the logits
            versus_width(ax, d.widths, getattr(d, field), q, label=label, color=colour)
    width_axis(ax, d.widths)
    ax.set(xlabel="width $d$", title="scale vs width (dashed: derived)")
    ax.legend(fontsize=7)
    ax, fine, widths = axes[2], d.bad < 0, np.asarray(d.widths, float)
    good = fine & np.isfinite(d.kernel) & (d.kernel > 0)
    ax.plot(widths[good], d.kernel[good], "o-", color="tab:purple")
    for w in widths[~fine]:
        ax.axvline(w, color="tab:red", ls=":", lw=1)
    width_axis(ax, d.widths)
    ax.set(xlabel="width $d$", title=f"kernel change after {d.n_steps} steps")
    width_curves(axes[3], d.widths, d.loss, d.bad)
    loss = d.loss[np.isfinite(d.loss) & (d.loss > 0)]
    if loss.size and loss.max() > 10 * loss.min():  # log only where the losses span more than a decade
        plain_log_y(axes[3])
    axes[3].set(xlabel="step", title="training loss")
    axes[3].legend(fontsize=7)
