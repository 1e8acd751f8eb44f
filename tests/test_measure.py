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


def test_rms_and_its_axes():
    x = np.array([[3.0, -4.0], [0.0, 0.0]])
    assert measure.rms(x) == pytest.approx(np.sqrt(25 / 4))
    np.testing.assert_allclose(measure.rms(x, axis=-1), [np.sqrt(12.5), 0.0])
    assert measure.rms(x.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="axis"):
        measure.rms(x, axis=2)


def test_kernel_change_sums_the_layers_and_averages_the_points():
    # Two layers that together grow from 2 to 3 at the last step on one point and stay at 2 on the other.
    k = np.ones((3, 2, 2))  # (T+1, L+1, n)
    k[-1, 0, 0] = 2.0
    assert measure.kernel_change(k, -1) == pytest.approx(0.25)
    assert measure.kernel_change(k, 1) == pytest.approx(0.0)
    assert measure.kernel_change(np.stack([k, k]), -1).shape == (2,)
    with pytest.raises(ValueError, match="kernel must have shape"):
        measure.kernel_change(k[0], 0)
    with pytest.raises(ValueError, match="step"):
        measure.kernel_change(k, 3)
    with pytest.raises(ValueError, match="kernel must be positive"):
        measure.kernel_change(np.zeros_like(k), 1)


def test_exponent_verdict_has_an_undecided_band():
    assert measure.exponent_verdict(-0.1, keep=0.15, lose=0.25) is True
    assert measure.exponent_verdict(0.5, keep=0.15, lose=0.25) is False
    assert measure.exponent_verdict(0.2, keep=0.15, lose=0.25) is None
    with pytest.raises(ValueError, match="lose"):
        measure.exponent_verdict(0.0, keep=0.3, lose=0.2)


def test_affine_fit_recovers_a_line_and_its_seed_error():
    # y = 2 + 0.5 x + noise shared by each seed across x (a seed-level offset): the intercept's error is then the
    # standard error of the offset mean, sigma / sqrt(S) = 0.1 / sqrt(50); the bootstrap estimates it within ~25%.
    rng = np.random.default_rng(0)
    x = np.array([0.0, 1.0, 2.0, 3.0])
    offsets = 0.1 * rng.standard_normal(50)
    samples = 2 + 0.5 * x[:, None] + offsets[None, :]
    fit = measure.affine_fit(x, samples, n_boot=2000)
    assert fit.slope == pytest.approx(0.5, abs=1e-12)
    assert fit.intercept == pytest.approx(2 + offsets.mean(), abs=1e-12)
    assert fit.intercept_se == pytest.approx(offsets.std() / np.sqrt(50), rel=0.25)
    assert fit.max_residual < 1e-12
    with pytest.raises(ValueError, match="x must hold"):
        measure.affine_fit([1.0, 1.0], samples[:2])
    with pytest.raises(ValueError, match="samples must be finite"):
        measure.affine_fit(x, samples[:, :1])


def test_relative_error_is_a_fraction_of_the_reference():
    assert measure.relative_error([1.0, 2.1], [1.0, 2.0]) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="broadcast"):
        measure.relative_error([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="reference not all zero"):
        measure.relative_error([1.0], [0.0])
