"""Per-layer figures of deep nets: the artists drawn, on synthetic records; bad input is named."""

import matplotlib

matplotlib.use("Agg")  # headless: the artists are inspected, nothing is shown

import matplotlib.pyplot as plt
import numpy as np
import pytest
from test_layer_dynamics import synthetic

from widthlimits import deep_net_plots as DP


def test_layer_colors_run_dark_to_light():
    c = DP.layer_colors(4)
    assert len(c) == 4 and sum(c[0][:3]) < sum(c[-1][:3])
    with pytest.raises(ValueError, match="cmap"):
        DP.layer_colors(3, cmap="nope")


def test_per_layer_and_power_laws_draw_one_line_per_layer():
    fig, ax = plt.subplots()
    lines = DP.per_layer(ax, np.ones((5, 3)), ["W", "V1", "a"])
    assert len(lines) == 3 and np.array_equal(lines[0].get_xdata(), np.arange(5))
    widths = [64, 128, 256]
    DP.layer_power_laws(ax, widths, np.outer(np.array(widths) ** -0.5, [1, 2]), ["W", "a"])
    with pytest.raises(ValueError, match="labels"):
        DP.per_layer(ax, np.ones((5, 3)), ["W", "a"])
    with pytest.raises(TypeError, match="ax"):
        DP.per_layer("ax", np.ones((5, 3)), ["W", "V1", "a"])
    plt.close(fig)


def test_exponent_grid_writes_every_value():
    fig, ax = plt.subplots()
    DP.exponent_grid(ax, [[0.5, -1.0], [2.5, 0.0]], ["u1", "f"], [1, 2])
    assert sorted(t.get_text() for t in ax.texts) == ["+0.0", "+0.5", "+2.5", "-1.0"]
    with pytest.raises(ValueError, match="shape"):
        DP.exponent_grid(ax, [[0.5, -1.0]], ["u1", "f"], [1, 2])
    plt.close(fig)


def test_chapter_figures_from_records():
    recs = synthetic()
    fig = DP.init_rms(recs, 2)
    assert [len(a.get_legend().get_texts()) for a in fig.axes] == [3, 3]
    fig = DP.gd_equivalent_steps(recs, [2])
    assert len(fig.axes[0].lines) == 2 * 3 + 1  # both states, every layer, and the zero line
    fig = DP.learned_exponents(recs, 2)
    assert len(fig.axes[0].texts) == 3 * recs.n_steps
    fig = plt.figure()
    moves = recs.sel("step", depth=2, variant="RMSProp", width=64)
    DP.moves_and_loss(fig, moves, recs.sel("loss", depth=2, variant="RMSProp", width=64), ["W", "V1", "a"],
                      bounds=[0.1, 0.2], title="t")
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="moves"):
        DP.moves_and_loss(plt.figure(), moves[0], moves[0], ["W", "V1", "a"])
    plt.close("all")
