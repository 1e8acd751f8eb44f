"""Figures of the kernel chapters (NNGP and signal propagation, the neural tangent kernel).

Each function draws onto axes it is given and returns nothing, so a chapter keeps its layout in one line; the
data are computed by :mod:`widthlimits.kernels`, :mod:`widthlimits.signal_propagation` and
:mod:`widthlimits.kernel_motion`, never here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from widthlimits import _validate, kernels, plots
from widthlimits.measure import PowerLaw


# ----------------------------------------------------------------------------------------- NNGP and signal propagation
def _axes_row(axes: Any, n: int) -> Sequence[Axes]:
    if isinstance(axes, Axes) or len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise TypeError(f"axes must be {n} matplotlib Axes (e.g. plt.subplots(1, {n})[1]), got {axes!r}")
    return axes


def dual_kernels(axes: Sequence[Axes], rhos: Sequence[float], estimates: dict, *, s11: float, s22: float) -> None:
    r"""Dual kernel :math:`\mathbb E[\phi(u)\phi(v)]` (left) and derivative kernel (right) against the correlation.

    Lines: :func:`widthlimits.kernels.dual` at ``s11, s22`` (> 0); dots: the Monte-Carlo means ``estimates =
    {activation: [kernels.mc_dual(...) for rho in rhos]}``, one colour per activation.
    """
    axes = _axes_row(axes, 2)
    s11, s22 = (_validate.real(n, v, low=0, open_low=True) for n, v in (("s11", s11), ("s22", s22)))
    rho_fine = np.linspace(-1, 1, 201)
    for (act, points), colour in zip(estimates.items(), plt.get_cmap("tab10").colors):
        if len(points) != len(rhos):
            raise ValueError(
                f"estimates[{act!r}] must hold one mc_dual result per rho ({len(rhos)}), got {len(points)}"
            )
        exact = kernels.dual(act, s11, rho_fine * np.sqrt(s11 * s22), s22)
        for k, ax in enumerate(axes):
            ax.plot(rho_fine, exact[k], color=colour, label=act)
            ax.plot(rhos, [p[k][0] for p in points], "o", color=colour, ms=4)
    axes[0].set(
        xlabel="correlation ρ", ylabel="E[φ(u)φ(v)]", title=f"dual kernel ($s_{{11}}={s11:g}$, $s_{{22}}={s22:g}$)"
    )
    axes[1].set(xlabel="correlation ρ", ylabel="E[φ'(u)φ'(v)]", title="derivative kernel")
    axes[0].legend(title="lines: closed form / quadrature\ndots: Monte Carlo", fontsize=8, title_fontsize=8)


def standardised_laws(ax: Axes, samples: dict, *, title: str = "") -> None:
    """Log-density histograms of standardised samples ``{label: (S,)}`` against the standard normal (dashed)."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    grid = np.linspace(-4, 4, 401)
    colours = plt.get_cmap("plasma")(np.linspace(0.1, 0.8, len(samples)))
    for (label, values), colour in zip(samples.items(), colours):
        values = np.asarray(_validate.array(f"samples[{label!r}]", values, ndim=1), float)
        ax.hist(values, bins=np.linspace(-4, 4, 61), density=True, histtype="step", color=colour, label=label)
    ax.plot(grid, np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi), "k--", label="Gaussian limit")
    ax.set(xlabel="standardised value", ylabel="density", yscale="log", ylim=(1e-4, 1), title=title)
    ax.legend(fontsize=8)


def phase_diagram(
    axes: Sequence[Axes], sw2: Any, sb2: Any, c_star: Any, chi: Any, depth_scale: Any, *, lines: dict | None = None,
    points: dict | None = None, title: str = "", contour_label: str = "χ₁ = 1"
) -> None:  # fmt: skip
    r"""Order-to-chaos diagram over a grid ``sw2, sb2 (B, W)`` (from ``np.meshgrid``).

    Left: the fixed-point correlation ``c_star`` with the contour :math:`\chi_1 = 1` of ``chi`` (white, labelled
    ``contour_label``), extra critical ``lines {label: (sw2 (n,), sb2 (n,))}`` (dashed) and simulated ``points
    {label: (sw2, sb2, c)}`` on the same colour scale (circles, then triangles). Right: :math:`\log_{10}` of
    ``depth_scale`` (layers).
    """
    axes = _axes_row(axes, 2)
    grids = [np.asarray(_validate.array(n, v, ndim=2), float) for n, v in (("sw2", sw2), ("sb2", sb2))]
    fields = [np.asarray(_validate.array(n, v, shape=grids[0].shape), float) for n, v in
              (("c_star", c_star), ("chi", chi), ("depth_scale", depth_scale))]  # fmt: skip
    c, chi_, xi = fields
    scale = dict(cmap="viridis", vmin=0, vmax=1)
    ax = axes[0]
    im = ax.pcolormesh(*grids, c, shading="auto", **scale)
    ax.figure.colorbar(im, ax=ax, label="fixed-point correlation c*")
    ax.contour(*grids, chi_, levels=[1.0], colors="white", linewidths=2)
    ax.plot([], [], color="white", lw=2, label=contour_label)
    for label, (w, b) in (lines or {}).items():
        ax.plot(w, b, "--", color="tab:red", lw=2, label=label)
    styles = [dict(marker="o", edgecolors="k", s=60), dict(marker="^", edgecolors="tab:red", linewidths=1.5, s=90)]
    for (label, (w, b, cc)), style in zip((points or {}).items(), styles):
        ax.scatter(np.ravel(w), np.ravel(b), c=np.ravel(cc), label=label, **scale, **style)
    ax.set(xlabel="$\\sigma_w^2$", ylabel="$\\sigma_b^2$", title=title)
    ax.legend(loc="upper right", fontsize=8, facecolor="lightgray")
    im = axes[1].pcolormesh(*grids, np.log10(xi), cmap="magma", shading="auto", vmax=2)
    axes[1].figure.colorbar(im, ax=axes[1], label="log$_{10}$ of the depth scale $\\xi_c$ (layers)")
    axes[1].contour(*grids, chi_, levels=[1.0], colors="white", linewidths=2)
    axes[1].set(xlabel="$\\sigma_w^2$", ylabel="$\\sigma_b^2$", title="depth scale diverges on the critical line")


# ----------------------------------------------------------------------------------------- the tangent kernel
def output_paths(
    ax: Axes, steps: Any, network: Any, linearised: Any, reference: Any, *, n_images: int = 4, title: str = ""
) -> None:
    """Test outputs against the step for the first ``n_images`` images: the network (solid, one colour per image),
    its linearisation (black dashed) and kernel GD on the expected kernel (black dotted); each ``(T+1, m)``."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    steps = np.asarray(_validate.array("steps", steps, ndim=1, kinds="fiu"))
    paths = [np.asarray(_validate.array(n, v, ndim=2), float) for n, v in
             (("network", network), ("linearised", linearised), ("reference", reference))]  # fmt: skip
    if any(p.shape != paths[0].shape or p.shape[0] != len(steps) for p in paths):
        raise ValueError(f"network, linearised and reference must all have shape (len(steps), m), got "
                         f"{[p.shape for p in paths]} for {len(steps)} steps")  # fmt: skip
    n_images = _validate.integer("n_images", n_images, low=1, high=paths[0].shape[1])
    for j, colour in zip(range(n_images), plt.get_cmap("tab10").colors):
        first = j == 0
        ax.plot(steps, paths[0][:, j], color=colour, lw=2, label="network" if first else None)
        ax.plot(steps, paths[1][:, j], color="k", ls="--", lw=1, label="linearised" if first else None)
        ax.plot(steps, paths[2][:, j], color="k", ls=":", lw=1, label="kernel GD on Θ_ref" if first else None)
    ax.set(xlabel="GD step", ylabel="test output f(x)", title=title)
    ax.legend(fontsize=8)


def slopes(ax: Axes, widths: Sequence[float], series: dict, *, xlabel: str = "width $d$", ylabel: str = "",
           title: str = "") -> None:  # fmt: skip
    """:func:`widthlimits.plots.power_law` of each ``series {label: (values (W, S), fit, colour, marker)}``:
    the seed means against width with the fitted line, then labels and a legend."""
    if not isinstance(series, dict) or not series:
        raise ValueError("series must be a non-empty dict {label: (values, fit, colour, marker)}")
    for label, (values, fit, colour, marker) in series.items():
        if not isinstance(fit, PowerLaw):
            raise TypeError(f"series[{label!r}]'s fit must be a measure.PowerLaw, got {type(fit).__name__}")
        plots.power_law(ax, widths, np.asarray(values).mean(1), fit, label=label, color=colour, marker=marker)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
