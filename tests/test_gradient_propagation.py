"""Gradient propagation: backprop against jax.grad, moments against quadrature, measured rates against chi_1.

Closed forms are checked to float64 round-off (relative 1e-9); backprop, whose activations are float32, to
relative 1e-5 (float32 round-off, 6e-8, grown through four layers, with margin).
Monte-Carlo rates are compared with the prediction in units of their own standard
error over nets, ``Z = 5`` (a correct prediction fails by chance with probability below 1e-6 per comparison).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import gradient_propagation as G
from widthlimits import signal_propagation as S

Z = 5.0


@pytest.mark.parametrize("activation", ["erf", "tanh", "relu", "leaky_relu"])
def test_backprop_equals_jax_grad(activation):
    """delta^l = dF/dh^l for every layer l of a small random net, against autodiff of F as a function of h^l."""
    rng = np.random.default_rng(0)
    n, depth = 7, 4
    w, b = rng.standard_normal((depth - 1, n, n)) / np.sqrt(n), 0.3 * rng.standard_normal((depth - 1, n))
    h1, v = rng.standard_normal(n), rng.standard_normal(n) / np.sqrt(n)
    deltas = G.backprop(h1, w, b, v, activation=activation)

    def phi(u):
        return _phi(activation, u)

    def f_from(layer, h):  # F as a function of h^layer (1-based)
        for k in range(layer - 1, depth - 1):
            h = w[k] @ phi(h) + b[k]
        return v @ phi(h)

    with jax.enable_x64(True):  # float64 reference gradients, for this test only
        hs = [jnp.asarray(h1)]
        for k in range(depth - 1):
            hs.append(w[k] @ phi(hs[-1]) + b[k])
        for layer in range(1, depth + 1):
            grad = jax.grad(lambda h, layer=layer: f_from(layer, h))(hs[layer - 1])
            np.testing.assert_allclose(deltas[layer - 1], grad, rtol=1e-5, atol=1e-7)


def _phi(activation, u):
    if activation == "erf":
        return jax.scipy.special.erf(u)
    if activation == "tanh":
        return jnp.tanh(u)
    return jnp.where(u > 0, u, (0.1 if activation == "leaky_relu" else 0.0) * u)


@pytest.mark.parametrize("q", [0.1, 0.5, 2.0])
def test_erf_derivative_moments_equal_quadrature(q):
    """The closed forms of E erf'^2 and E erf'^4 against a 201-node Gauss-Hermite rule."""
    z, wts = np.polynomial.hermite_e.hermegauss(201)
    d2 = 4 / np.pi * np.exp(-2 * q * z**2)
    np.testing.assert_allclose(G.derivative_moments("erf", q), [d2 @ wts, d2**2 @ wts] / np.sqrt(2 * np.pi), rtol=1e-9)


def test_predicted_rate_is_log_chi1_at_infinite_width():
    q = float(S.length_fixed_point("erf", 1.5, 0.05))
    assert G.predicted_rate("erf", 1.5, q) == pytest.approx(np.log(float(S.chi1("erf", 1.5, q))), rel=1e-12)
    # ReLU: E phi'^4 = E phi'^2 = 1/2, so the correction is (3 * 2 - 1) / (2 n)
    assert G.predicted_rate("relu", 2.0, 1.0, 50) == pytest.approx(-5 / 100, abs=1e-6)


@pytest.mark.parametrize("sigma_w2", [0.6, 3.0])
def test_erf_rates_match_log_chi1(sigma_w2):
    """Ordered and chaotic erf nets: measured per-layer log rate within Z s.e. of the corrected prediction."""
    g = G.gradient_growth(
        activation="erf", sigma_w2=sigma_w2, sigma_b2=0.05, depth=12, width=200, n_nets=8, rng=np.random.default_rng(1)
    )
    assert abs(g.measured - g.predicted) < Z * g.measured_se
    assert abs(g.measured) > Z * g.measured_se  # far from 0: the test has power


def test_relu_finite_width_correction_is_seen():
    """He-initialised ReLU (chi_1 = 1) at width 50: the rate is -5/(2n) = -0.05, not 0 (q-fluctuations do not
    enter, since relu'^2 does not depend on the length)."""
    g = G.gradient_growth(
        activation="relu", sigma_w2=2.0, sigma_b2=0.0, depth=20, width=50, n_nets=64, rng=np.random.default_rng(2)
    )
    assert abs(g.measured - g.predicted) < Z * g.measured_se
    assert g.log_chi1 == pytest.approx(0.0, abs=1e-6)


def test_bad_inputs():
    rng = np.random.default_rng(0)
    net = dict(activation="erf", sigma_w2=1.0, sigma_b2=0.05, depth=3, width=4, n_nets=2)
    with pytest.raises(ValueError, match="depth"):
        G.gradient_norms(**{**net, "depth": 1}, rng=rng)
    with pytest.raises(ValueError, match="sigma_w2"):
        G.gradient_norms(**{**net, "sigma_w2": 0.0}, rng=rng)
    with pytest.raises(TypeError, match="rng"):
        G.gradient_norms(**net, rng=0)
    with pytest.raises(ValueError, match="activation"):
        G.derivative_moments("sigmoid", 1.0)
    with pytest.raises(ValueError, match="norms"):
        G.growth_rates(np.ones((3, 1)))
    with pytest.raises(ValueError, match="weights"):
        G.backprop(np.ones(3), np.ones((2, 3, 4)), np.ones((2, 3)), np.ones(3), activation="erf")
