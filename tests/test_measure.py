import numpy as np
import pytest

from widthlimits import measure


def test_exact_power_law_is_recovered():
    w = np.array([64, 128, 256, 512])
    fit = measure.fit_power_law(w, 3.0 * w**-0.5)
    assert fit.slope == pytest.approx(-0.5) and 2**fit.intercept == pytest.approx(3.0) and fit.stderr < 1e-9


def test_bootstrap_error_reflects_seed_noise():
    rng = np.random.default_rng(0)
    w = np.array([64, 128, 256, 512, 1024])
    samples = w[:, None] ** 0.25 * np.exp(0.1 * rng.normal(size=(5, 40)))
    fit = measure.bootstrap_slope(w, samples)
    assert abs(fit.slope - 0.25) < 4 * fit.stderr and 0.001 < fit.stderr < 0.05


def test_non_positive_or_non_finite_values_are_refused():
    with pytest.raises(ValueError, match="finite and > 0"):
        measure.fit_power_law([1, 2, 4], [1.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="two distinct widths"):
        measure.fit_power_law([1], [1.0])
    with pytest.raises(ValueError, match="length"):
        measure.fit_power_law([1, 2], [1.0])


def test_sup_distance_propagates_divergence():
    a, b = np.array([[0.0, 1.0], [0.0, np.inf]]), np.zeros((2, 2))
    d = measure.sup_distance(a, b)
    assert d[0] == 1.0 and np.isnan(d[1])
