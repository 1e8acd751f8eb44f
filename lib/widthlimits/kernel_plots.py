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

from widthlimits import _validate, kernels


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
