"""Figures of the kernel chapters, drawn headless: the artists are inspected, not the pixels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from widthlimits import kernel_plots as plots
from widthlimits import kernels, models
from widthlimits import signal_propagation as S


def rng(seed=0):
    return np.random.default_rng(seed)


def test_dual_kernels_plot_draws_a_line_and_dots_per_activation(two_axes):
    z = rng().standard_normal((2, 2000))
    rhos = np.array([-0.5, 0.5])
    mc = {act: [kernels.mc_dual(act, 1.0, r, 1.0, z) for r in rhos] for act in models.ACTIVATIONS}
    plots.dual_kernels(two_axes, rhos, mc, s11=1.0, s22=1.0)
    assert len(two_axes[0].get_lines()) == 2 * len(models.ACTIVATIONS)
    dots = [ln for ln in two_axes[1].get_lines() if ln.get_marker() == "o"]
    np.testing.assert_allclose(dots[0].get_ydata(), [p[1][0] for p in mc[models.ACTIVATIONS[0]]])
    with pytest.raises(TypeError, match="axes"):
        plots.dual_kernels(two_axes[0], rhos, mc, s11=1.0, s22=1.0)
    with pytest.raises(ValueError, match="estimates"):
        plots.dual_kernels(two_axes, rhos[:1], mc, s11=1.0, s22=1.0)


def test_standardised_laws_and_phase_diagram_draw(two_axes):
    plots.standardised_laws(two_axes[0], {"d = 2": rng().standard_normal(500)}, title="t")
    assert len(two_axes[0].patches) == 1 and two_axes[0].get_yscale() == "log"
    fig, axes = plt.subplots(1, 2)
    sw2, sb2 = np.meshgrid(np.linspace(0.5, 3, 6), np.linspace(0.05, 0.3, 4))
    q = S.length_fixed_point("erf", sw2, sb2)
    c, chi = S.correlation_fixed_point("erf", sw2, sb2, q, n_iter=50), S.chi1("erf", sw2, q)
    plots.phase_diagram(
        axes, sw2, sb2, c, chi, S.depth_scale("erf", sw2, q, c), lines={"tanh": ([1.0, 1.2], [0.05, 0.3])},
        points={"sim": (sw2[:1], sb2[:1], c[:1])}, title="erf",
    )  # fmt: skip
    labels = axes[0].get_legend_handles_labels()[1]
    assert labels[:2] == ["χ₁ = 1", "tanh"] and "sim" in labels
    with pytest.raises(ValueError, match="chi"):
        plots.phase_diagram(axes, sw2, sb2, c, chi[:2], c)
    plt.close(fig)


def test_output_paths_draw_three_lines_per_image_and_check_shapes(two_axes):
    steps, paths = np.arange(4), [rng(k).standard_normal((4, 6)) for k in range(3)]
    plots.output_paths(two_axes[0], steps, *paths, n_images=2, title="t")
    lines = two_axes[0].get_lines()
    assert len(lines) == 6 and [ln.get_linestyle() for ln in lines[:3]] == ["-", "--", ":"]
    np.testing.assert_allclose(lines[3].get_ydata(), paths[0][:, 1])
    assert two_axes[0].get_legend_handles_labels()[1] == ["network", "linearised", "kernel GD on Θ_ref"]
    with pytest.raises(ValueError, match="network, linearised and reference"):
        plots.output_paths(two_axes[1], steps, paths[0], paths[1][:3], paths[2])
    with pytest.raises(ValueError, match="n_images"):
        plots.output_paths(two_axes[1], steps, *paths, n_images=7)


def test_slopes_draw_seed_means_with_their_fits(two_axes):
    from widthlimits import measure

    widths = [64, 128, 256]
    values = np.array([[1.0, 1.2], [0.5, 0.6], [0.25, 0.3]])  # (width, seed), slope -1
    fit = measure.bootstrap_slope(widths, values)
    plots.slopes(two_axes[0], widths, {"motion": (values, fit, "k", "s")}, ylabel="y", title="t")
    points = two_axes[0].get_lines()[0]
    np.testing.assert_allclose(points.get_ydata(), values.mean(1))
    assert points.get_label().startswith("motion: slope -1.0")
    with pytest.raises(TypeError, match="fit"):
        plots.slopes(two_axes[1], widths, {"motion": (values, -1.0, "k", "s")})
    with pytest.raises(ValueError, match="series"):
        plots.slopes(two_axes[1], widths, {})
