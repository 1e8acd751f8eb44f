"""Figures of deep nets, one colour per layer (input layer dark, output light): per-layer curves and power laws,
heat maps of width exponents, and the chapter-level figures drawn from :class:`~widthlimits.layer_dynamics.Records`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from widthlimits import _validate
from widthlimits import layer_dynamics as LD
from widthlimits.measure import fit_power_law
from widthlimits.plots import curves, family_color, power_law


def layer_colors(n_layers: int, cmap: str = "viridis") -> list[tuple]:
    """``n_layers`` colours from input layer (dark) to output (light), the same in every per-layer figure."""
    n_layers = _validate.integer("n_layers", n_layers, low=1)
    if not isinstance(cmap, str) or cmap not in plt.colormaps():
        raise ValueError(f"cmap must be the name of a matplotlib colormap (e.g. 'viridis'), got {cmap!r}")
    return [tuple(c) for c in plt.get_cmap(cmap)(np.linspace(0.05, 0.85, n_layers))]


def _axes(ax: object) -> Axes:
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def _per_layer_values(name: str, values: Any, labels: Sequence[str]) -> np.ndarray:
    v = np.asarray(_validate.array(name, values, ndim=2, kinds="fiu", finite=False), dtype=float)
    if isinstance(labels, str) or len(labels) != v.shape[1]:
        raise ValueError(f"labels must name the {v.shape[1]} columns (layers) of {name}, got {labels!r}")
    return v


def per_layer(ax: Axes, values: Any, labels: Sequence[str], fmt: str = "o-", **kw: Any) -> list[Line2D]:
    """One line per layer: ``values (T+1, n_layers)`` against the step ``0..T``, coloured by :func:`layer_colors`."""
    ax = _axes(ax)
    v = _per_layer_values("values", values, labels)
    steps, colours = np.arange(len(v)), layer_colors(v.shape[1])
    return [ax.plot(steps, v[:, l], fmt, color=colours[l], label=labels[l], **kw)[0] for l in range(v.shape[1])]


def layer_power_laws(ax: Axes, widths: Sequence[float], values: Any, labels: Sequence[str]) -> list[Line2D]:
    """:func:`~widthlimits.plots.power_law` of every column of ``values (W, n_layers)`` (positive), each with its
    own fitted line, coloured by :func:`layer_colors`."""
    v = _per_layer_values("values", values, labels)
    colours = layer_colors(v.shape[1])
    return [
        power_law(_axes(ax), widths, v[:, l], fit_power_law(widths, v[:, l]), label=labels[l], color=colours[l])
        for l in range(v.shape[1])
    ]


def exponent_grid(
    ax: Axes, exponents: Any, row_labels: Sequence[str], col_labels: Sequence[Any], *, vlim: float = 2.0
) -> Any:
    """Heat map of fitted width exponents ``(rows, cols)`` with every value written in its cell; returns the image
    (for a colour bar). Diverging colours centred on 0, clipped at ``±vlim``; white text on the dark ends."""
    ax = _axes(ax)
    ex = np.asarray(_validate.array("exponents", exponents, ndim=2, kinds="fiu", finite=False), dtype=float)
    vlim = _validate.real("vlim", vlim, low=0, open_low=True)
    if len(row_labels) != ex.shape[0] or len(col_labels) != ex.shape[1]:
        raise ValueError(f"row_labels and col_labels must match exponents' shape {ex.shape}")
    im = ax.imshow(ex, cmap="RdBu", vmin=-vlim, vmax=vlim, aspect="auto")
    for (r, c), v in np.ndenumerate(ex):
        white = abs(v) > 0.6 * vlim
        ax.text(c, r, f"{v:+.1f}", ha="center", va="center", fontsize=7, color="white" if white else "black")
    ax.set(xticks=range(ex.shape[1]), xticklabels=list(col_labels), yticks=range(ex.shape[0]))
    ax.set_yticklabels(list(row_labels))
    return im


def _preact_labels(depth: int) -> list[str]:
    return [*(f"$h^{l + 1}$" for l in range(depth)), "logit $f$"]


# --- the figures of the deep-nets chapter, drawn from its Records ---


def init_rms(records: LD.Records, depth: int) -> Any:
    """Two panels: the RMS of every pre-activation and of the logit at initialisation against width, with hidden
    layers at the MF size (left) and at PyTorch's (right, as in μP); one fitted power law per line."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    titles = {"scaled": "MF (hidden std ∝ 1/d)", "pytorch": "μP (hidden std ∝ 1/√d)"}
    for ax, init in zip(axes, LD.INITS):
        layer_power_laws(ax, records.widths, np.sqrt(records.init(depth, init).mean(1)), _preact_labels(depth))
        ax.set(xlabel="width $d$", title=f"{titles[init]}, L = {depth}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("RMS at initialisation")
    return fig


def gd_equivalent_steps(records: LD.Records, depths: Sequence[int]) -> Any:
    """One panel per depth: :func:`~widthlimits.layer_dynamics.gd_equivalent` at every step, from the RMSProp
    state (solid) and the GD state (dashed), one colour per layer."""
    depths = list(depths)
    fig, axes = plt.subplots(1, max(len(depths), 1), figsize=(10, 4.8), squeeze=False)
    steps = range(records.n_steps + 1)
    for ax, L in zip(axes[0], depths):
        names = LD.layer_names(L)
        for variant, fmt, alpha in [("RMSProp", "o-", 1.0), ("GD", "x--", 0.6)]:
            ex = np.array([LD.gd_equivalent(records, L, variant, k) for k in steps])
            per_layer(ax, ex, [f"{n} ({variant} state)" for n in names], fmt, alpha=alpha)
        ax.axhline(0, color="gray", lw=1, ls=":")
        ax.set(xlabel="step k", ylabel="width exponent", title=f"MF-GD move from the state at step k, L = {L}")
        ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    fig.tight_layout()
    return fig


def learned_exponents(records: LD.Records, depth: int) -> Any:
    """One heat map per variant: the width exponent of the seed mean of each layer's learned part (and of the
    logit change) after every step ``1..T``."""
    fig, axes = plt.subplots(1, len(records.variants), figsize=(10, 3.6), sharey=True, squeeze=False)
    steps = range(1, records.n_steps + 1)
    rows = [*(f"$u^{l + 1}$" for l in range(depth)), "$f - f_0$"]
    for ax, variant in zip(axes[0], records.variants):
        v = records.sel("learned", depth=depth, variant=variant)  # (W, S, T+1, L+1)
        ex = [[fit_power_law(records.widths, v[:, :, k, l].mean(1)).slope for k in steps] for l in range(depth + 1)]
        im = exponent_grid(ax, ex, rows, list(steps))
        ax.set(xlabel="step k", title=variant)
    fig.colorbar(im, ax=axes[0], label="width exponent of the learned part")
    return fig


def moves_and_loss(
    fig: Any, moves: Any, loss: Any, labels: Sequence[str], *, bounds: Sequence[float] = (), ylim=None, title: str = ""
) -> None:
    """Two panels on ``fig``: the seed-mean hat move of every layer at every step, ``moves (S, T+1, n_layers)``,
    on a log axis with dotted reference levels ``bounds``; and the training loss ``loss (S, T+1)`` (seed mean and
    range) against :math:`\\log 2`, the loss of the zero function."""
    m = np.asarray(_validate.array("moves", moves, ndim=3, kinds="fiu", finite=False), dtype=float)
    ax_move, ax_loss = fig.subplots(1, 2)
    per_layer(ax_move, m.mean(0), labels, ms=4)
    for b, ls in zip(bounds, [":", "-.", "--"]):
        ax_move.axhline(b, color="gray", ls=ls, lw=1)
    ax_move.set(yscale="log", ylim=ylim, xlabel="step k", ylabel="hat move of step k", title="per-layer moves")
    ax_move.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    curves(ax_loss, loss, color=family_color("MF"), label="training loss")
    ax_loss.axhline(np.log(2), color="gray", ls="--", lw=1, label="log 2 (f ≡ 0)")
    ax_loss.set(ylim=(0, 1.0), xlabel="step k", title="training loss (seed mean and range)")
    ax_loss.legend(fontsize=7, loc="lower left")
    fig.suptitle(title)
    fig.tight_layout()
