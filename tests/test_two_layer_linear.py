"""The two-layer linear model: the recursion is GD exactly (float64), the library's network follows it, and the
phases sit at 2 and 4."""

import numpy as np
import pytest

from widthlimits import scalings
from widthlimits import two_layer_linear as TL

NTK = scalings.preset("ntk")


def test_the_recursion_is_gradient_descent_on_a_and_w():
    """Iterate GD on (a, w) in float64 directly and compare f and Theta with the two-line recursion."""
    rng = np.random.default_rng(0)
    a, w, eta_a, eta_w = rng.normal(0, 0.1, 50), rng.normal(0, 0.1, 50), 0.3, 0.7
    f0, th0 = np.sum(a * w), eta_w * np.sum(a**2) + eta_a * np.sum(w**2)
    fs, ths = TL.linear_model_map(f0, th0, eta_a * eta_w, 20)
    for t in range(21):
        assert fs[t] == pytest.approx(np.sum(a * w), rel=1e-12, abs=1e-14)
        assert ths[t] == pytest.approx(eta_w * np.sum(a**2) + eta_a * np.sum(w**2), rel=1e-12)
        e = np.sum(a * w) - 1.0
        a, w = a - eta_a * e * w, w - eta_w * e * a


@pytest.fixture(scope="module")
def draw():
    return TL.linear_model_draw(1024, range(3))


def test_the_library_network_follows_the_recursion(draw):
    """float32 training: the one-step errors are round-off amplified by the catapult, far below 1e-4."""
    check = TL.linear_model_check(draw, 256, scaling=NTK, kappa=3.0, n_steps=25)
    assert abs(check.init_logit_error) < 1e-5 and check.f_error < 1e-4 and check.theta_error < 1e-4
    assert check.peak_ratio > 10  # the run catapults


def test_phases_of_the_recursion(draw):
    runs = TL.linear_model_runs(draw, [256, 1024], [1.0, 3.0, 5.0], scaling=NTK, n_steps=300)
    wide = runs.sel(width=1024)
    assert not wide.sel(kappa=[1.0, 3.0]).diverged.any() and wide.sel(kappa=5.0).diverged.all()
    cat = wide.sel(kappa=3.0)
    assert np.all(cat.kappa_end < 2) and np.all(cat.peak_loss > 10 * cat.initial_loss)
    # the peak grows like d: a 4x wider net peaks 4x higher, within the seeds' O(1) scatter
    ratio = runs.sel(width=1024, kappa=3.0).peak_loss / runs.sel(width=256, kappa=3.0).peak_loss
    assert np.all((ratio > 2) & (ratio < 8))


def test_arguments_are_checked(draw):
    with pytest.raises(TypeError, match="draw"):
        TL.linear_model_start(object(), 16, NTK)
    with pytest.raises(ValueError, match="width"):
        TL.linear_model_start(draw, 2048, NTK)
    with pytest.raises(ValueError, match="kappas"):
        TL.linear_model_runs(draw, [16], [-1.0], scaling=NTK, n_steps=3)
    with pytest.raises(ValueError, match="n_steps"):
        TL.linear_model_map(0.0, 1.0, 0.1, -1)
