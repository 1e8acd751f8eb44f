"""Plots: diverged runs are marked visibly (red cross, label), never averaged in; helpers check their arguments."""

import matplotlib

matplotlib.use("Agg")  # headless: the artists are inspected, nothing is shown

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from widthlimits import measure, plots, training


def red_crosses(ax) -> list:
    """The divergence markers on ``ax``: red ``x`` markers, drawn large enough to see."""
    return [
        ln
        for ln in ax.get_lines()
        if ln.get_marker() == "x" and to_rgba(ln.get_color()) == to_rgba("red") and ln.get_markersize() >= 10
    ]


def curve(ax):
    """The data line drawn by ``plots.curves`` (the first line on the axes)."""
    return ax.get_lines()[0]


def test_a_finite_run_gets_no_mark(ax):
    values = np.linspace(1.0, 0.5, 6)
    line = plots.curves(ax, values, label="MF")
    assert line.get_label() == "MF" and not red_crosses(ax) and not ax.texts
    np.testing.assert_array_equal(line.get_xdata(), np.arange(6))


def test_nan_run_is_cut_and_marked_at_its_last_finite_point(ax):
    values = np.array([1.0, 0.9, 0.8, np.nan, np.nan])
    line = plots.curves(ax, values, label="SP")
    assert "(diverged at step 3)" in line.get_label()
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
    (cross,) = red_crosses(ax)
    assert list(cross.get_xdata()) == [2] and list(cross.get_ydata()) == [0.8]
    ax.figure.canvas.draw()
    lo, hi = ax.get_ylim()
    assert lo <= 0.8 <= hi  # inside the visible range


def test_finite_blow_up_is_detected_from_the_values_themselves(ax):
    """No NaN at all: values growing past DIVERGENCE_BOUND (the run started at O(1)) count as diverged."""
    values = np.array([[0.7, 30.0, 3e6, 3e10, 3e14], [0.7, 0.6, 0.5, 0.4, 0.3]])
    line = plots.curves(ax, values, label="from_hat(0, 12)")
    assert "(diverged at step 3, 1 of 2 runs)" in line.get_label()
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
    (cross,) = red_crosses(ax)
    assert list(cross.get_xdata()) == [2]
    np.testing.assert_array_equal(plots.first_bad_steps(values), [3, -1])


def test_bound_is_relative_to_the_first_value():
    """A curve that starts huge (a stable model with huge initial logits) is not diverged by its size alone."""
    np.testing.assert_array_equal(plots.first_bad_steps([4e8, 5e8, 3e8]), [-1])
    np.testing.assert_array_equal(plots.first_bad_steps([4e8, 5e16, 3e8]), [1])
    np.testing.assert_array_equal(plots.first_bad_steps([0.5, training.DIVERGENCE_BOUND * 1.01]), [1])


def test_run_bad_from_step_zero_still_gets_a_visible_mark(ax):
    line = plots.curves(ax, np.full(5, np.nan), label="NTK")
    assert "(diverged at step 0)" in line.get_label()
    assert len(line.get_xdata()) == 0
    (cross,) = red_crosses(ax)
    # on the lower edge of the axes at step 0: x in data units, y in axes units, and not clipped away
    assert list(cross.get_xdata()) == [0] and list(cross.get_ydata()) == [0.0]
    assert cross.get_transform() == ax.get_xaxis_transform() and not cross.get_clip_on()
    assert [t.get_text() for t in ax.texts] == ["diverged at step 0"]


def test_given_nonfinite_step_wins_over_deliberate_gaps(ax):
    """scaling_framework sets step 0 to NaN on purpose (log axis) and passes nonfinite_step: no false mark."""
    values = np.array([[np.nan, 0.1, 0.2, 0.3], [np.nan, 0.2, 0.3, 0.4]])
    line = plots.curves(ax, values, nonfinite_step=np.array([-1, -1]), label="d = 256")
    assert line.get_label() == "d = 256" and not red_crosses(ax)
    line = plots.curves(ax, values, nonfinite_step=np.array([-1.0, 2.0]), label="d = 1024")  # floats from JSON
    assert "(diverged at step 2, 1 of 2 runs)" in line.get_label()
    (cross,) = red_crosses(ax)
    assert list(cross.get_xdata()) == [1]


def test_diverged_right_after_a_gap_is_marked_on_the_edge(ax):
    plots.curves(ax, np.array([np.nan, np.inf, 1.0]), nonfinite_step=1, label="x")
    (cross,) = red_crosses(ax)
    assert list(cross.get_xdata()) == [1] and [t.get_text() for t in ax.texts] == ["diverged at step 1"]


def test_unlabelled_diverged_curve_stays_out_of_the_legend_but_is_marked(ax):
    line = plots.curves(ax, np.array([1.0, np.nan]), ls="--")
    assert line.get_label().startswith("_") or line.get_label() == ""
    assert len(red_crosses(ax)) == 1


def test_seed_band_is_drawn_up_to_the_cut(ax):
    values = np.array([[1.0, 0.8, 0.7, np.nan], [1.2, 0.9, 0.6, 0.5]])
    plots.curves(ax, values, label="MF")
    (band,) = ax.collections
    xs = band.get_paths()[0].vertices[:, 0]
    assert xs.max() == 2  # steps 0..2: the band never includes the diverged step


@pytest.mark.parametrize(
    ("kw", "error", "name"),
    [
        (dict(values=np.zeros((2, 2, 2))), ValueError, "values"),
        (dict(values=np.zeros((2, 0))), ValueError, "values"),
        (dict(values=np.array(["a", "b"])), TypeError, "values"),
        (dict(nonfinite_step=np.array([1, 2, 3])), ValueError, "nonfinite_step"),
        (dict(nonfinite_step=-2), ValueError, "nonfinite_step"),
        (dict(nonfinite_step=1.5), ValueError, "nonfinite_step"),
        (dict(nonfinite_step="3"), TypeError, "nonfinite_step"),
        (dict(label=3), TypeError, "label"),
        (dict(ax="axes"), TypeError, "ax"),
    ],
)
def test_curves_rejects_bad_arguments(ax, kw, error, name):
    args = dict(ax=ax, values=np.ones((2, 4))) | kw
    with pytest.raises(error, match=name):
        plots.curves(args.pop("ax"), args.pop("values"), **args)


def test_other_helpers_check_their_arguments(ax):
    fit = measure.fit_power_law([128, 256, 512], [1.0, 0.5, 0.25])
    pts = plots.power_law(ax, [128, 256, 512], np.array([1.0, 0.5, 0.25]), fit, label="MF")
    assert "slope -1.000" in pts.get_label()
    for bad, error, name in [
        (dict(values=[1.0, -0.5, 0.25]), ValueError, "values"),
        (dict(values=[1.0, np.nan, 0.25]), ValueError, "values"),
        (dict(values=[1.0, 0.5]), ValueError, "equal lengths"),
        (dict(widths=[0, 256, 512]), ValueError, "widths"),
        (dict(fit=(1.0, 0.0, 0.0)), TypeError, "fit"),
    ]:
        args = dict(widths=[128, 256, 512], values=[1.0, 0.5, 0.25], fit=fit) | bad
        with pytest.raises(error, match=name):
            plots.power_law(ax, args["widths"], args["values"], args["fit"])
    assert plots.family_color("MF") == "tab:blue" and plots.family_color("other") == "tab:gray"
    with pytest.raises(TypeError, match="name"):
        plots.family_color(1)
    with pytest.raises(TypeError, match="name"):
        plots.family_marker(None)
    assert list(plots.width_colors([256, 128])) == [128, 256]
    with pytest.raises(ValueError, match="widths"):
        plots.width_colors([128, 128])
    with pytest.raises(ValueError, match="cmap"):
        plots.width_colors([128], cmap="no-such-map")


# --- power_laws and loss_curves ---


def test_power_laws_draws_one_fitted_family_each(ax):
    widths = [8, 16, 32]
    values = {"MF": np.array([1.0, 0.5, 0.25]), "NTK": np.array([1.0, 1.0, 1.0])}
    fits = {n: measure.fit_power_law(widths, v) for n, v in values.items()}
    plots.power_laws(ax, widths, values, fits, ref_width=16)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["MF: slope -1.000", "NTK: slope +0.000"]
    with pytest.raises(ValueError, match="same family names"):
        plots.power_laws(ax, widths, values, {"MF": fits["MF"]})


def test_loss_curves_one_panel_per_family_one_line_pair_per_width():
    from widthlimits import results_files

    fields = {f: None for f in training.History._fields}
    loss = np.linspace(0.7, 0.3, 4)[None, None, None, None, :] * np.ones((2, 2, 1, 3, 1))
    fields.update(train_loss=loss, test_loss=loss + 0.05, nonfinite_step=np.full((2, 2, 1, 3), -1))
    sw = results_files.Sweep((8, 16), ("MF", "NTK"), (None,), (0, 1, 2), 3, training.History(**fields))
    fig, axes = plt.subplots(1, 2)
    plots.loss_curves(axes, sw, ref_width=16)
    assert [a.get_title() for a in axes] == ["MF", "NTK"]
    assert len(axes[0].lines) == 2 * 2 + 1  # train + test per width, and the log 2 line
    assert "d = 16 (reference)" in [t.get_text() for t in axes[0].get_legend().get_texts()]
    with pytest.raises(ValueError, match="one panel per family"):
        plots.loss_curves(axes[:1], sw)
    plt.close(fig)


# --- sweep results: final values against width, the widest nets' curves, exponent bars ---


def _sweep(families=("MF", "NTK"), widths=(128, 256, 512), n_seeds=2, n_steps=3):
    """A Sweep of known numbers: every scalar record = 0.5 + 0.1 k + 0.01 log2(width) + 0.001 seed."""
    from widthlimits.results_files import Sweep

    w, k, s, t = np.ix_(np.log2(widths), range(len(families)), range(n_seeds), range(n_steps + 1))
    v = (0.5 + 0.1 * k + 0.01 * w + 0.001 * s + 0 * t)[:, :, None]
    fields = dict.fromkeys(training.History._fields)
    fields.update(train_loss=v, test_loss=v, train_acc=v, test_acc=v, nonfinite_step=np.full(v.shape[:4], -1))
    return Sweep(widths, families, (None,), tuple(range(n_seeds)), n_steps, training.History(**fields))


def test_final_against_width_draws_seed_means_per_family(ax):
    sw = _sweep()
    plots.final_against_width(ax, sw, "test_loss", ls="--", hollow=True, suffix=" (inline)")
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["MF (inline)", "NTK (inline)"]
    np.testing.assert_allclose(lines[1].get_ydata(), 0.6 + 0.01 * np.log2(sw.widths) + 0.0005)
    assert lines[0].get_markerfacecolor() == "white" and ax.get_xscale() == "log" and len(ax.collections) == 2
    with pytest.raises(ValueError, match="field must be one of"):
        plots.final_against_width(ax, sw, "kernel")
    with pytest.raises(TypeError, match="sw must be a Sweep"):
        plots.final_against_width(ax, sw.history, "test_loss")


def test_final_loss_accuracy_has_one_column_per_sweep():
    fig = plots.final_loss_accuracy({"a": _sweep(), "b": _sweep()}, titles={"a": "first"}, suptitle="S")
    axes = fig.axes
    assert len(axes) == 4 and axes[0].get_title() == "first" and axes[1].get_title() == "b"
    assert len([ln for ln in axes[0].get_lines() if ln.get_label().startswith(("MF", "NTK"))]) == 4  # 2 splits
    plt.close(fig)
    with pytest.raises(TypeError, match="sweeps must be a non-empty mapping"):
        plots.final_loss_accuracy({})


def test_widest_curves_with_limits(ax):
    sw = _sweep()
    plots.widest_curves(ax, sw, "test_loss", limits={"MF": np.zeros(4)}, limit_from=1)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["reference, d = 128", "MF, d = 512", "NTK, d = 512", "MF limit"]
    np.testing.assert_array_equal(ax.get_lines()[-1].get_xdata(), [1, 2, 3])
    with pytest.raises(ValueError, match="limit_from"):
        plots.widest_curves(ax, sw, "test_loss", limit_from=9)


def test_exponent_bars_groups(ax):
    measured = {"input": {"MF": 0.0, "NTK": -0.5}, "output": {"MF": 0.1, "NTK": -0.7}}
    plots.exponent_bars(ax, measured, {"MF": 0, "NTK": -0.5})
    bars = ax.patches
    assert len(bars) == 6
    centres = sorted(b.get_x() + b.get_width() / 2 for b in bars)  # three bars of 0.2 around each family
    np.testing.assert_allclose(centres, [-0.2, 0, 0.2, 0.8, 1.0, 1.2], atol=1e-12)
    with pytest.raises(TypeError, match="measured must map"):
        plots.exponent_bars(ax, {}, {"MF": 0})
