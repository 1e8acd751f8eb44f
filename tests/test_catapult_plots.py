"""Catapult figures: one artist per run or activation, diverged runs as crosses, arguments checked."""

import matplotlib

matplotlib.use("Agg")  # headless: the artists are inspected, nothing is shown

import matplotlib.pyplot as plt
import numpy as np
import pytest

from widthlimits import catapult, measure
from widthlimits import catapult_plots as CP


def fake(widths=(64,), kappas=(1.0, 3.0, 9.0), seeds=(0, 1), n_steps=5):
    shape = (len(widths), len(kappas), len(seeds))
    loss = np.ones((*shape, n_steps + 1)) * np.linspace(1, 0.1, n_steps + 1)
    loss[:, -1, :, 3:] = np.inf  # the top rate diverges at step 3
    kappa0 = np.broadcast_to(np.asarray(kappas)[None, :, None], shape).astype(float)
    kappa_t = kappa0[..., None] * np.linspace(1, 0.9, n_steps + 1)  # the kernel falls by 10%
    seed = np.broadcast_to(np.asarray(seeds), shape)
    return catapult.CatapultRuns(
        catapult.AXES,
        dict(width=tuple(widths), kappa=tuple(kappas), seed=tuple(seeds)),
        loss,
        kappa_t,
        kappa0,
        seed,
        np.ones(shape),
        kappa0,
        np.where(np.isinf(loss).any(-1), 3, -1),
    )


def test_time_courses_draw_each_run_and_mark_the_diverged_one():
    fig = CP.time_courses(fake().sel(width=64, seed=0), width=64)
    loss_ax, kernel_ax = fig.axes
    assert len(kernel_ax.get_lines()) == 3 + 1  # three runs and the stability edge
    assert any(line.get_marker() == "x" for line in loss_ax.get_lines())
    plt.close(fig)
    with pytest.raises(ValueError, match="axes"):
        CP.time_courses(fake().sel(width=64), width=64)


def test_phase_diagram_and_width_trends():
    runs = fake().sel(width=64)
    fig = CP.phase_diagram({"ReLU": runs, "leaky ReLU 0.1": runs}, width=64)
    assert len(fig.axes) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="known"):
        CP.phase_diagram({"tanh": runs}, width=64)
    with pytest.raises(TypeError, match="phase"):
        CP.phase_diagram({}, width=64)
    wide = fake(widths=(64, 128))
    fit = measure.fit_power_law([64, 128], [1.0, 0.5])
    fig = CP.width_trends([64, 128], wide.sel(kappa=1.0), wide.sel(kappa=3.0), fit, fit, predicted_rate=0.85)
    assert len(fig.axes) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="widths"):
        CP.width_trends([64, 256], wide.sel(kappa=1.0), wide.sel(kappa=3.0), fit, fit, predicted_rate=0.85)
    with pytest.raises(TypeError, match="fit_peak"):
        CP.width_trends([64, 128], wide.sel(kappa=1.0), wide.sel(kappa=3.0), fit, 1.0, predicted_rate=0.85)
