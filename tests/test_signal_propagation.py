"""Signal propagation: the length and correlation maps against closed forms and against sampled finite nets.

Monte-Carlo tolerances are ``Z`` standard errors of the estimate itself (``Z = 5``: a correct formula fails by
chance with probability below 1e-6 per comparison); deterministic identities are checked to the float32
round-off of :func:`widthlimits.kernels.dual` (relative ~1e-6) unless stated.
"""

import jax
import numpy as np
import pytest

from widthlimits import kernels
from widthlimits import signal_propagation as S

Z = 5.0
F32 = 2e-6  # relative float32 round-off of the closed forms, with margin


def rng(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------------------- one input
def test_relu_like_length_maps_are_linear_with_the_closed_form_factor():
    """Without biases E relu(sqrt(q) z)^2 = q/2 and E relu'^2 = 1/2; leaky: (1 + a^2)/2 for both."""
    q = np.array([0.3, 1.0, 4.0])
    for act, factor in [("relu", 0.5), ("leaky_relu", (1 + 0.1**2) / 2)]:
        np.testing.assert_allclose(S.length_map(act, 1.7, 0.0, q), 1.7 * factor * q, rtol=F32)
        np.testing.assert_allclose(S.chi1(act, 1.7, q), 1.7 * factor, rtol=F32)


def test_erf_fixed_point_solves_the_closed_form_equation_and_chi1_matches():
    """q* = sw2 (2/pi) arcsin(2q*/(1+2q*)) + sb2 and chi_1 = 4 sw2 / (pi sqrt(1 + 4 q*)), over a small grid."""
    sw2, sb2 = np.meshgrid([0.5, 1.5, 3.0], [0.02, 0.2])
    q = S.length_fixed_point("erf", sw2, sb2)
    assert q.shape == sw2.shape
    np.testing.assert_allclose(q, sw2 * 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q)) + sb2, rtol=1e-5)
    np.testing.assert_allclose(S.chi1("erf", sw2, q), 4 * sw2 / (np.pi * np.sqrt(1 + 4 * q)), rtol=1e-5)


@pytest.mark.parametrize("q", [0.05, 0.7, 3.0])
def test_tanh_quadrature_matches_monte_carlo_and_the_2d_rule(q):
    """The 201-node 1-D rule against 10^6 samples (Z SEs) and against kernels.dual's 2-D rule (float32, 1e-5)."""
    u = np.sqrt(q) * rng(1).standard_normal(1_000_000)
    quad = S.diagonal_dual("tanh", q)
    for value, samples in zip(quad, (np.tanh(u) ** 2, (1 - np.tanh(u) ** 2) ** 2)):
        se = samples.std() / np.sqrt(samples.size)
        assert abs(float(value) - samples.mean()) <= Z * se, (float(value), samples.mean(), se)
    # kernels.dual's default 48-node 2-D rule is off by ~1e-3 at q = 3 (tanh' saturates); 200 nodes converge
    np.testing.assert_allclose(quad, [float(k) for k in kernels.dual("tanh", q, q, q, n_points=200)], atol=1e-5)


@pytest.mark.parametrize("activation", ["erf", "tanh"])
def test_critical_line_has_chi1_one_and_moves_right_with_the_bias(activation):
    """At sb2 -> 0 the critical point is phi'(0)^-2 (pi/4 for erf, 1 for tanh); with bias it grows."""
    sb2 = np.array([0.01, 0.1, 0.3])
    sw2 = S.critical_sigma_w2(activation, sb2)
    chi = S.chi1(activation, sw2, S.length_fixed_point(activation, sw2, sb2))
    np.testing.assert_allclose(chi, 1.0, atol=1e-6)  # the bisection bracket is ~1e-11 wide
    assert np.all(np.diff(sw2) > 0) and sw2[0] > {"erf": np.pi / 4, "tanh": 1.0}[activation]


# ----------------------------------------------------------------------------------------- two inputs
def test_correlation_map_fixes_one_and_its_slope_is_prices_derivative():
    """c = 1 is fixed at q = q*; a central difference of the map equals correlation_slope (step 1e-2, O(h^2))."""
    sw2, sb2 = 2.0, 0.1
    q = float(S.length_fixed_point("erf", sw2, sb2))
    np.testing.assert_allclose(S.correlation_map("erf", sw2, sb2, q, 1.0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(S.correlation_slope("erf", sw2, q, 1.0), S.chi1("erf", sw2, q), rtol=1e-5)
    c, h = np.array([-0.5, 0.2, 0.7]), 1e-2
    numeric = (S.correlation_map("erf", sw2, sb2, q, c + h) - S.correlation_map("erf", sw2, sb2, q, c - h)) / (2 * h)
    np.testing.assert_allclose(numeric, S.correlation_slope("erf", sw2, q, c), rtol=1e-3)


def test_fixed_points_separate_the_phases_and_the_depth_scale_is_finite_off_the_line():
    """Ordered (chi_1 < 1): c* = 1; chaotic: c* < 1 with slope < 1 there, so xi_c = -1/log(slope) > 0."""
    sw2, sb2 = np.array([0.6, 3.0]), 0.05
    q = S.length_fixed_point("erf", sw2, sb2)
    c = S.correlation_fixed_point("erf", sw2, sb2, q)
    chi = S.chi1("erf", sw2, q)
    assert chi[0] < 1 < chi[1]
    assert abs(c[0] - 1) < 1e-5 and c[1] < 0.99
    slope = S.correlation_slope("erf", sw2, q, c)
    np.testing.assert_allclose(S.depth_scale("erf", sw2, q, c), -1 / np.log(slope), rtol=1e-12)
    assert np.all(slope < 1)


def test_relu_correlation_map_is_the_normalised_dual_and_decays_like_l_squared():
    c = np.linspace(-0.9, 0.99, 7)
    np.testing.assert_allclose(
        S.relu_correlation_map(c), 2 * np.asarray(kernels.dual("relu", 1.0, c, 1.0)[0]), atol=1e-6
    )
    cs = S.iterate(S.relu_correlation_map, 0.0, 4000)
    assert cs.shape == (4001,) and cs[0] == 0.0
    # 1 - c^l ~ 9 pi^2 / (2 l^2) with an O(log l / l) relative correction: within 3% at l = 4000
    np.testing.assert_allclose(4000**2 * (1 - cs[-1]), 9 * np.pi**2 / 2, rtol=0.03)


def test_float64_recursion_agrees_with_nngp_ntk():
    """Same recursion, float64 between layers versus kernels' float32: equal to float32 round-off per layer."""
    x = rng(2).standard_normal((2, 11)).astype(np.float32)
    for act in ("erf", "tanh", "relu"):
        ours = S.recursion_correlation(x, activation=act, sigma_w2=1.4, sigma_b2=0.1, depth=5)
        k = np.asarray(kernels.nngp_ntk(x, x, depth=5, activation=act, sigma_w2=1.4, sigma_b2=0.1)[0])
        np.testing.assert_allclose(ours, S.correlation(k), atol=1e-5)


# ----------------------------------------------------------------------------------------- finite nets
def test_one_hidden_layer_sampler_is_unbiased_for_the_nngp():
    """With one hidden layer E K_hat = Sigma^2 exactly at any width: Z standard errors over 400 samples."""
    x = rng(3).standard_normal((3, 7))
    k_hat = S.sample_covariances(
        x, activation="erf", sigma_w2=1.5, sigma_b2=0.2, depth=1, width=16, n_samples=400, rng=rng(4)
    )
    exact = np.asarray(kernels.nngp_ntk(x, x, depth=1, activation="erf", sigma_w2=1.5, sigma_b2=0.2)[0], float)
    mean, se = k_hat.mean(0), k_hat.std(0, ddof=1) / np.sqrt(len(k_hat))
    assert np.all(np.abs(mean - exact) <= Z * se + F32 * np.abs(exact)), (np.abs(mean - exact) / se).max()


def test_deep_sampler_draws_the_same_law_as_full_weight_networks():
    """Two-sample z of E K_hat against kernels.mc_kernels (every weight drawn), 3 tanh layers of width 64."""
    x = rng(5).standard_normal((3, 9)).astype(np.float32)
    net = dict(activation="tanh", sigma_w2=1.8, sigma_b2=0.05, depth=3)
    full = np.asarray(kernels.mc_kernels(x, x, width=64, key=jax.random.PRNGKey(0), n_samples=200, **net)[0], float)
    short = S.sample_covariances(x, width=64, n_samples=400, rng=rng(6), **net)
    se = np.sqrt(full.var(0, ddof=1) / len(full) + short.var(0, ddof=1) / len(short))
    assert np.abs((full.mean(0) - short.mean(0)) / se).max() <= Z


def test_sampler_broadcasts_over_a_grid_and_returns_every_layer():
    x = rng(7).standard_normal((2, 5))
    sw2, sb2 = np.meshgrid([0.5, 2.0, 3.0], [0.0, 0.3])
    out = S.sample_covariances(
        x, activation="relu", sigma_w2=sw2, sigma_b2=sb2, depth=4, width=8, n_samples=3, rng=rng()
    )
    assert out.shape == (2, 3, 3, 2, 2)
    layers = S.sample_covariances(
        x, activation="relu", sigma_w2=sw2, sigma_b2=sb2, depth=4, width=8, n_samples=3, rng=rng(), every_layer=True
    )
    assert layers.shape == (4, 2, 3, 3, 2, 2)
    np.testing.assert_allclose(layers[0][..., 0, :, :], sw2[..., None, None] * (x @ x.T) / 5 + sb2[..., None, None])
    # same generator state, same draws: the output of 3 layers is the 4th layer's input of the deeper call
    again = S.sample_covariances(
        x, activation="relu", sigma_w2=sw2, sigma_b2=sb2, depth=3, width=8, n_samples=3, rng=rng()
    )
    np.testing.assert_array_equal(again, layers[3])


def test_outputs_are_the_gaussian_mixture_and_relu_kurtosis_is_15_over_d():
    """One ReLU layer, no bias, width d: Var K_hat(x,x) / (E K_hat)^2 = Var(relu(h)^2)/(E relu(h)^2)^2 / d = 5/d,
    so the excess kurtosis is 15/d. Estimated from S draws, the variance has relative s.e. ~ sqrt(2/S) (K_hat is
    nearly Gaussian at d = 64: we allow sqrt(3/S) for its own excess kurtosis); tolerance Z of that."""
    x = rng(8).standard_normal((2, 6))
    net = dict(activation="relu", sigma_w2=2.0, sigma_b2=0.0, depth=1)
    kernel = np.asarray(kernels.nngp_ntk(x, x, **net)[0], float)
    n = 4000
    gp = S.gp_distance(x, [64, 1024], kernel, n_samples=n, rng=rng(9), **net)
    assert gp.kernel_error.shape == (2, n) and gp.excess_kurtosis.shape == (2,)
    np.testing.assert_allclose(gp.excess_kurtosis, 15 / np.array([64, 1024]), rtol=Z * np.sqrt(3 / n))
    # E|K_hat - K|_F ~ d^(-1/2): the ratio of means between d = 64 and 1024 is 4, within Z s.e. of the ratio
    means = gp.kernel_error.mean(1)
    rel_se = np.sqrt(np.sum((gp.kernel_error.std(1, ddof=1) / np.sqrt(n) / means) ** 2))
    # + 0.05: the law of sqrt(d) (K_hat - K) is Gaussian up to O(1/d) corrections to E|.| (1/64 at d = 64)
    assert abs(means[0] / means[1] / 4 - 1) <= Z * rel_se + 0.05, means
    f = S.sample_outputs(x, width=64, n_samples=n, rng=rng(10), **net)
    var, se = f.var(0), f.std(0) ** 2 * np.sqrt(2 * (1 + 15 / 64 / 2) / n)  # var of a (nearly) Gaussian sample
    assert f.shape == (n, 2) and np.all(np.abs(var - np.diag(kernel)) <= Z * se)


def test_decay_lengths_agree_on_recursion_formula_and_simulation():
    """The chapter's three depth scales at a small size: recursion vs formula within 10%, simulation within Z
    bootstrap s.e. of the recursion over the same layers."""
    pair, cos = S.pair_with_cosine(rng(11).standard_normal((12, 30)).astype(np.float32) + 1.5, 0.85)
    assert pair.shape == (2, 30) and abs(cos - 0.85) < 0.15
    for sw2 in (0.6, 3.0):
        d = S.decay_lengths(
            pair, activation="erf", sigma_w2=sw2, sigma_b2=0.05, depth=60, width=2000, n_samples=16, rng=rng(12)
        )
        assert abs(d.recursion / d.formula - 1) < 0.1, d
        assert abs(d.simulated - d.recursion_early) <= Z * d.simulated_se, d
        assert (d.c_star > 1 - 1e-5) == (sw2 == 0.6)


def test_seed_mean_and_correlation():
    v = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
    mean, se = S.seed_mean(v, floor=1e-4)
    np.testing.assert_allclose(mean, [1.0, 1.0])
    np.testing.assert_allclose(se, [1e-4, 1 / np.sqrt(3)])
    cov = np.array([[4.0, 1.0], [1.0, 1.0]])
    assert S.correlation(cov) == 0.5


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: S.length_map("gelu", 1.0, 0.0, 1.0), ValueError, "activation"),
        (lambda: S.length_map("erf", 0.0, 0.0, 1.0), ValueError, "sigma_w2"),
        (lambda: S.length_map("erf", 1.0, -0.1, 1.0), ValueError, "sigma_b2"),
        (lambda: S.chi1("erf", 1.0, -1.0), ValueError, "q"),
        (lambda: S.correlation_map("erf", 1.0, 0.0, 1.0, 1.5), ValueError, "c"),
        (lambda: S.correlation_map("erf", 1.0, 0.0, 0.0, 0.5), ValueError, "q"),
        (lambda: S.length_fixed_point("erf", 1.0, 0.1, n_iter=0), ValueError, "n_iter"),
        (lambda: S.critical_sigma_w2("erf", 0.1, low=2.0, high=1.0), ValueError, "high"),
        (lambda: S.iterate(3, 0.0, 2), TypeError, "fn"),
        (lambda: S.correlation(np.ones((3, 3))), ValueError, "cov"),
        (
            lambda: S.recursion_correlation(np.ones((3, 4)), activation="erf", sigma_w2=1, sigma_b2=0, depth=2),
            ValueError,
            "x",
        ),
        (
            lambda: S.sample_covariances(
                np.ones((2, 3)), activation="erf", sigma_w2=1.0, sigma_b2=0.0, depth=1, width=4, n_samples=1, rng=0
            ),
            TypeError,
            "rng",
        ),
        (
            lambda: S.sample_covariances(
                np.ones((2, 3)), activation="erf", sigma_w2=1.0, sigma_b2=0.0, depth=1, width=0, n_samples=1, rng=rng()
            ),
            ValueError,
            "width",
        ),
        (lambda: S.seed_mean(np.ones(1)), ValueError, "values"),
        (lambda: S.pair_with_cosine(np.ones((1, 3)), 0.5), ValueError, "x"),
        (lambda: S.pair_with_cosine(np.ones((3, 3)), 2.0), ValueError, "cosine"),
        (lambda: S.decay_length(np.ones(5), np.array([True] + [False] * 4)), ValueError, "window"),
    ],
)
def test_bad_inputs_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()
