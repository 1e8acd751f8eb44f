"""Figures of the mean-field chapters: the artists drawn, diverged runs marked, and bad arguments named."""

import matplotlib

matplotlib.use("Agg")  # headless: the artists are inspected, nothing is shown

import matplotlib.pyplot as plt
import numpy as np
import pytest

from widthlimits import mean_field_plots as mfp
from widthlimits import training

S, T = 3, 5


def history(scale: float, diverged_at: int = -1) -> training.History:
    """A History with a seed axis: every scalar field ``(S, T+1)``, curves ``scale * (1 + step)``."""
    curve = np.broadcast_to(scale * (1.0 + np.arange(T + 1)), (S, T + 1)).copy()
    bad = np.full(S, -1)
    if diverged_at >= 0:
        curve[0, diverged_at:] = np.nan
        bad[0] = diverged_at
    z = np.zeros((S, T + 1, 1))
    return training.History(curve, curve, curve, curve, z, z[..., None], z, z, bad)


@pytest.fixture
def axes(two_axes):
    return two_axes


def test_history_panels_draw_one_band_per_run_and_mark_divergence(axes):
    runs = {"reference": history(1.0), "MF": history(2.0, diverged_at=3)}
    mfp.history_panels(axes, runs, {"test_loss": "test loss", "train_loss": "training loss"}, reference="reference")
    assert axes[0].get_title() == "test loss" and axes[1].get_title() == "training loss"
    texts = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert texts[0] == "reference" and texts[1].startswith("MF (diverged at step 3")
    assert any(ln.get_marker() == "x" for ln in axes[0].get_lines())  # the diverged seed of MF
    with pytest.raises(TypeError, match="axes must be 3"):
        mfp.history_panels(axes, runs, {"test_loss": "a", "train_loss": "b", "test_acc": "c"})


def test_logit_laws_draw_the_floor_dashed(axes):
    kl = np.linspace(0.0, 1.0, T + 1)
    mfp.logit_laws(axes, {"MF": (kl, kl + 1), "replica": (0 * kl, 1 + 0 * kl)}, floor="replica")
    styles = [ln.get_linestyle() for ln in axes[0].get_lines() if len(ln.get_xdata()) == T + 1]
    assert styles == ["-", "--"]
    with pytest.raises(TypeError, match="axes must be 2"):
        mfp.logit_laws(axes[0], {"MF": (kl, kl)})


def test_toy_points_width_curves_and_particle_clouds(axes):
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = (np.linalg.norm(x[:, :2], axis=1) < 1).astype(np.float32)
    mfp.toy_points(axes[0], x, y, radius=1.0)
    assert len(axes[0].collections) == 2 and len(axes[0].patches) == 1
    mfp.width_curves(axes[1], [64, 128], np.ones((2, S, T + 1)), ref_width=128)
    assert "d = 128 (reference)" in [ln.get_label() for ln in axes[1].get_lines()]
    fig, ax = plt.subplots()
    b = np.random.default_rng(1).normal(size=(4, 50))
    mfp.particle_cloud(ax, b, b + 1, color="tab:blue", end_label="step 4", n_shown=10, n_paths=3)
    assert len(ax.get_lines()) == 3 and len(ax.collections) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="values must have one row per width"):
        mfp.width_curves(axes[1], [64], np.ones((2, S, T + 1)))
    with pytest.raises(ValueError, match="a_hat"):
        mfp.particle_cloud(axes[1], b, b[:, :3], color="k", end_label="")
    with pytest.raises(TypeError, match="ax must be"):
        mfp.toy_points(None, x, y)
