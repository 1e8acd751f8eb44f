"""Limit-comparison figures: one curve per width / limit, arguments checked."""

import matplotlib

matplotlib.use("Agg")  # headless: the artists are inspected, nothing is shown

import matplotlib.pyplot as plt
import numpy as np
import pytest

from widthlimits import limit_comparison, limit_plots, measure


def _limit_comparison(lrs=(0.01, 0.1)):
    rng = np.random.default_rng(0)
    ref = {lr: rng.normal(size=(4, 3, 5)) for lr in lrs}
    lim = {lr: {"MF": rng.normal(size=(2, 3, 5)), "NTK": rng.normal(size=(4, 3, 5))} for lr in lrs}
    return ref, lim, limit_comparison.compare_limits(ref, lim, n_boot=5)


def test_distance_to_limit_draws_one_curve_per_width_and_the_two_rates():
    d = limit_comparison.ProxyDistance(np.full((2, 3, 4), 0.01) / np.array([1.0, 2.0])[:, None, None], np.zeros(4))
    fit = measure.fit_power_law([64, 128], [0.1, 0.07])
    fig = limit_plots.distance_to_limit([64, 128], d, fit, fit)
    left, right = fig.axes
    assert len(left.get_lines()) == 2 and left.get_yscale() == "log"
    assert len(right.get_lines()) == 4  # points and fitted line, for each of the two rates
    plt.close(fig)
    with pytest.raises(TypeError, match="dist"):
        limit_plots.distance_to_limit([64, 128, 256], d, fit, fit)
    with pytest.raises(TypeError, match="fit_init"):
        limit_plots.distance_to_limit([64, 128], d, fit, 0.5)


def test_limit_plots_draw_every_limit():
    ref, lim, cmp = _limit_comparison()
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    fig = limit_plots.limits_at_one_lr(ref[0.1], lim[0.1], y, lr=0.1, ref_label="reference")
    loss_ax, learned_ax, spread_ax = fig.axes
    assert len(loss_ax.get_lines()) >= 3  # the reference's curve and the two limits'
    assert len(learned_ax.get_lines()) == 2 and len(spread_ax.get_lines()) == 3  # + the reference's spread
    np.testing.assert_array_equal(spread_ax.get_lines()[0].get_ydata(), 0)  # MF: deterministic, spread zero
    plt.close(fig)
    fig = limit_plots.limits_across_lrs(cmp, ref_lr=0.1)
    assert len(fig.axes[1].get_lines()) == 2 * 2 + 1  # after training and run average per limit, the marked rate
    plt.close(fig)
    with pytest.raises(TypeError, match="cmp"):
        limit_plots.limits_across_lrs({}, ref_lr=0.1)
    with pytest.raises(TypeError, match="limit_logits"):
        limit_plots.limits_at_one_lr(ref[0.1], {}, y, lr=0.1, ref_label="reference")
