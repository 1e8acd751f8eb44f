"""Figures of the mean-field chapters: training curves of several runs side by side, laws of logits across
seeds, toy problems in the plane and the mean-field particles of their networks.

Built on the shared helpers of :mod:`widthlimits.plots` (colours, seed bands, divergence marks); every function
draws on axes it is given and returns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from widthlimits import _validate
from widthlimits.plots import curves, family_color, width_colors

# --- training curves of several runs side by side, and laws of logits across seeds ---


def _check_axes(axes: Any, n: int) -> list[Axes]:
    axes = list(np.ravel(axes)) if not isinstance(axes, Axes) else [axes]
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise TypeError(f"axes must be {n} matplotlib Axes (e.g. from plt.subplots(1, {n})), got {len(axes)}")
    return axes


def history_panels(
    axes: Any,
    histories: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    labels: Mapping[str, str] | None = None,
    reference: str | None = None,
) -> None:
    """One panel per ``History`` field (``fields`` maps a field name to its panel title), one seed band per run.

    ``histories`` maps family names to histories with a leading seed axis (``(S, T+1)`` per field); each is
    coloured by :func:`family_color`, except ``reference`` (drawn black and thicker), and labelled by ``labels``
    (default: its name). Diverged runs are marked as in :func:`curves`. The step axis is symlog (steps 0..T).
    """
    axes = _check_axes(axes, len(fields))
    labels = dict(labels or {})
    for ax, (field, title) in zip(axes, fields.items()):
        for name, h in histories.items():
            style = dict(color="black", lw=2) if name == reference else dict(color=family_color(name))
            curves(ax, getattr(h, field), nonfinite_step=h.nonfinite_step, label=labels.get(name, name), **style)
        ax.set(xlabel="GD step", title=title, xscale="symlog")
    axes[0].legend(fontsize=8)


def logit_laws(
    axes: Any, laws: Mapping[str, tuple[Any, Any]], *, labels: Mapping[str, str] | None = None, floor: str | None = None
) -> None:
    """Two panels over GD steps: a divergence of logit laws (left, e.g. the pooled KL) and the spread ratio
    :math:`v_F/v_R` (right), from ``laws[name] = (kl (T+1,), ratio (T+1,))`` (a ``logit_statistics.PooledKL``
    fits). ``floor`` names the entry that measures the noise floor (a replica of the reference), drawn dashed."""
    ax_kl, ax_v = _check_axes(axes, 2)
    labels = dict(labels or {})
    for name, (kl, ratio) in laws.items():
        style = dict(color="black", ls="--") if name == floor else dict(color=family_color(name))
        kl, ratio = (np.asarray(_validate.array(name, v, ndim=1, kinds="fiu", finite=False)) for v in (kl, ratio))
        ax_kl.plot(np.arange(len(kl)), kl, label=labels.get(name, name), **style)
        ax_v.plot(np.arange(len(ratio)), ratio, label=labels.get(name, name), **style)
    ax_kl.set(xlabel="GD step", ylabel="pooled KL(proxy ‖ reference)", xscale="symlog")
    ax_kl.axhline(0, color="gray", lw=0.8)
    ax_v.set(xlabel="GD step", ylabel="spread of logits across seeds / reference's", xscale="symlog")
    ax_v.axhline(1, color="gray", lw=0.8)
    ax_kl.legend(fontsize=8, loc="upper right")


# --- toy problems in the plane and the mean-field particles of their networks ---


def toy_points(ax: Axes, x: Any, y: Any, *, radius: float | None = None, title: str = "training set") -> None:
    """Points ``x (n, >= 2)`` of a two-dimensional toy problem (first two columns) coloured by label ``y (n,)``,
    and the class boundary of the circle problem (``radius``) where given."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    x = np.asarray(_validate.array("x", x, ndim=2, kinds="f"))
    _validate.labels("y", y, x.shape[0])
    for label, colour, name in [(1, "tab:red", "inside (label 1)"), (0, "tab:gray", "outside (label 0)")]:
        pts = x[np.asarray(y) == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=10, color=colour, label=name)
    if radius is not None:
        radius = _validate.real("radius", radius, low=0, open_low=True)
        ax.add_patch(plt.Circle((0, 0), radius, fill=False, ls="--", color="black", label="radius $r_0$"))
    ax.set(xlabel="$x_1$", ylabel="$x_2$", aspect="equal", title=title, xlim=(-3, 3), ylim=(-3, 3))
    ax.legend(fontsize=8, loc="upper right")


def width_curves(
    ax: Axes, widths: Sequence[int], values: Any, *, nonfinite_step: Any = None, ref_width: int | None = None
) -> None:
    """One seed band per width, ``values (W, S, T+1)``, coloured by :func:`width_colors`; ``nonfinite_step (W, S)``
    as in :func:`curves`; the width ``ref_width`` is labelled as the reference."""
    widths = _validate.integers("widths", widths, low=1)
    v = np.asarray(_validate.array("values", values, ndim=3, kinds="fiu", finite=False))
    if v.shape[0] != len(widths):
        raise ValueError(f"values must have one row per width ({len(widths)}), got shape {v.shape}")
    colours = width_colors(widths)
    for i, w in enumerate(widths):
        bad = None if nonfinite_step is None else np.asarray(nonfinite_step)[i]
        label = f"d = {w}" + (" (reference)" if w == ref_width else "")
        curves(ax, v[i], nonfinite_step=bad, color=colours[w], label=label)


def particle_cloud(
    ax: Axes,
    b: Any,
    a_hat: Any,
    *,
    color: Any,
    end_label: str,
    n_shown: int = 300,
    n_paths: int = 60,
    seed: int = 0,
) -> None:
    """Mean-field particles in the plane of kink offset ``b`` and output weight ``a_hat``, both ``(K, d)`` over ``K``
    snapshots: the first snapshot grey, the last in ``color``, and the paths of ``n_paths`` of the ``n_shown``
    particles drawn (a random subset, the same for every call with the same ``seed`` and ``d``)."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    b = np.asarray(_validate.array("b", b, ndim=2, kinds="f", finite=False))
    a_hat = np.asarray(_validate.array("a_hat", a_hat, shape=b.shape, kinds="f", finite=False))
    n_shown = _validate.integer("n_shown", n_shown, low=1)
    n_paths = _validate.integer("n_paths", n_paths, low=0)
    shown = np.random.default_rng(_validate.integer("seed", seed, low=0)).choice(
        b.shape[1], size=min(n_shown, b.shape[1]), replace=False
    )
    for r in shown[:n_paths]:
        ax.plot(b[:, r], a_hat[:, r], lw=0.6, alpha=0.5, color=color)
    ax.scatter(b[0, shown], a_hat[0, shown], s=7, color="lightgray", label="initialisation")
    ax.scatter(b[-1, shown], a_hat[-1, shown], s=7, color=color, label=end_label)
    ax.legend(fontsize=8, loc="lower right")
