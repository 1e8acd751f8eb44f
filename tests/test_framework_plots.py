"""The framework chapter's figures: the phase plane, measured points on it, ratio curves, the slider frame."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from test_width_exponents import WIDTHS, synthetic

from widthlimits import experiments, limit_models, measure
from widthlimits import framework_plots as F
from widthlimits import width_exponents as X


def test_phase_plane_field_is_the_derived_exponent(ax):
    image = F.phase_plane(ax, field="q_0", regions=True)
    values = np.asarray(image.get_array())
    (x0, x1), _ = F.PLANE_WINDOW
    np.testing.assert_allclose(values[0], np.linspace(x0, x1, values.shape[1]) + 0.5, atol=1e-12)  # q_0 = q_s + 1/2
    assert len(ax.patches) == 3 and ax.get_xlim() == (x0, x1)
    assert F.phase_plane(ax, hatch=False) is None
    with pytest.raises(ValueError, match="field"):
        F.phase_plane(ax, field="q_x")


def test_plane_points_skip_points_outside_the_window_and_label_values(ax):
    image = F.phase_plane(ax, field="q_h_w")
    F.plane_points(ax, image, {"in": (-0.5, 0.5), "out": (10.0, -10.0)}, {"in": 0.123, "out": 1.0})
    assert [t.get_text() for t in ax.texts if t.get_text().startswith("+")] == ["+0.12"]
    with pytest.raises(ValueError, match="values"):
        F.plane_points(ax, image, {"a": (0.0, 0.0)}, {})
    with pytest.raises(TypeError, match="image"):
        F.plane_points(ax, None, {}, {})


def test_versus_width_is_relative_to_the_first_good_value(ax):
    line = F.versus_width(ax, (16, 32, 64), np.array([np.nan, 2.0, 4.0]), 1.0, label="x")
    np.testing.assert_allclose(line.get_ydata(), [1.0, 2.0])
    np.testing.assert_allclose(ax.get_lines()[-1].get_ydata(), [0.5, 1.0, 2.0])  # (d / 32)^1
    assert F.versus_width(ax, (16, 32), np.array([np.nan, -1.0]), 1.0) is None
    with pytest.raises(ValueError, match="values"):
        F.versus_width(ax, (16, 32), np.ones(3), 1.0)


def test_width_curves_one_line_per_width(ax):
    F.width_curves(ax, (16, 32), np.ones((2, 3, 4)), np.full((2, 3), -1))
    assert [ln.get_label() for ln in ax.get_lines()] == ["d = 16", "d = 32"]
    with pytest.raises(ValueError, match="nonfinite_step"):
        F.width_curves(ax, (16, 32), np.ones((2, 3, 4)), np.full(3, -1))


def test_measured_on_plane_has_three_panels_and_a_colour_bar():
    points = {"1": (-1.0, 1.0), "2": (-0.5, 0.0)}
    slopes = {n: {k: measure.PowerLaw(0.0, 0.0, 0.0) for k in X.KEYS} for n in points}
    fig = F.measured_on_plane(points, slopes, crosses=("2",), hollow_q_h=("1",))
    assert len(fig.axes) == 4 and fig.axes[2].get_title().startswith("$q_h$")
    plt.close(fig)


def test_ratio_curves_one_panel_per_family():
    fig, axes = plt.subplots(1, 1, squeeze=False)
    F.ratio_curves(axes[0], synthetic(), titles={"p": "P"})
    assert axes[0, 0].get_title() == "P" and axes[0, 0].get_yscale() == "log"
    with pytest.raises(ValueError, match="axes"):
        F.ratio_curves([], synthetic())
    plt.close(fig)


def test_grid_point_draws_a_frame_and_says_when_a_point_is_off_the_grid():
    sw = synthetic(noise=0.1)
    init = experiments.InitStats(np.ones((4, 1, 5, 3)), np.ones((4, 1, 5, 2, 3)), WIDTHS, ("p",), tuple(range(5)))
    summary = {"gd": {"-1,1": X.point_summaries(sw, init)["p"]}}
    fig = Figure()
    F.grid_point(fig, summaries=summary, q_sigma=-1.0, q_tilde=1.0, optimizer="gd")
    assert "cell 1: MF" in fig._suptitle.get_text() and len(fig.axes) == 4
    fig = Figure()
    F.grid_point(fig, summaries=summary, q_sigma=1.0, q_tilde=1.0, optimizer="gd")
    assert "diverges" in fig._suptitle.get_text() and not fig.axes[1].axison
    with pytest.raises(ValueError, match="summaries"):
        F.grid_point(Figure(), summaries=summary, q_sigma=-1.0, q_tilde=1.0, optimizer="rmsprop")
    assert limit_models.classify  # the frame's cell comes from the classification
