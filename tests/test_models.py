"""Models: the initialisation law, the forward pass, the factorised tangent kernels, the IC-MF wrapper."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import models as M
from widthlimits import scalings as S

KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize("law", M.INIT_LAWS)
def test_init_variances_match_pytorch_default(law):
    """Var(w) = 1/(3 n_in), Var(a) = factor^2/(3 d); tolerances are 5 standard errors of the estimate."""
    mlp, d = M.MLP(init_law=law), 4096
    p = M.init(mlp, d, S.preset("mf"), key=KEY)
    factor = (d / 128) ** -0.5
    kurt = 1.8 if law == "uniform" else 3.0  # E x^4 / (E x^2)^2
    for x, var in [(p["w"], 1 / (3 * mlp.n_in)), (p["a"], factor**2 / (3 * d))]:
        x = np.asarray(x, dtype=np.float64).ravel()
        rel_se = np.sqrt((kurt - 1) / x.size)
        assert abs(x.var() / var - 1) < 5 * rel_se, (x.var(), var)
        assert abs(x.mean()) < 5 * np.sqrt(var / x.size)
    if law == "uniform":
        assert float(jnp.max(jnp.abs(p["w"]))) <= 1 / np.sqrt(mlp.n_in)


def test_hidden_layers_rescaled_input_layer_never():
    mlp = M.MLP(depth=3, n_in=10)
    ref = M.init_reference(mlp, 256, key=KEY)
    p = M.init(mlp, 256, S.preset("mf"), key=KEY)  # factor 2^-1/2
    np.testing.assert_array_equal(p["w"], ref["w"])
    for v, v_ref in zip(p["v"], ref["v"]):
        np.testing.assert_allclose(v, v_ref * 2**-0.5, rtol=1e-6)
    np.testing.assert_allclose(p["a"], ref["a"] * 2**-0.5, rtol=1e-6)
    assert len(p["v"]) == 2 and p["v"][0].shape == (256, 256)


def test_same_key_same_draw_across_scalings():
    mlp = M.MLP(n_in=10)
    p1, p2 = M.init(mlp, 64, S.preset("ntk"), key=KEY), M.init(mlp, 64, S.preset("sp"), key=KEY)
    np.testing.assert_array_equal(p1["a"], p2["a"])
    p3 = M.init(mlp, 64, S.preset("sp"), key=jax.random.PRNGKey(1))
    assert not np.allclose(p1["a"], p3["a"])


@pytest.mark.parametrize("activation", M.ACTIVATIONS)
def test_apply_matches_matrix_formula(activation):
    mlp = M.MLP(depth=2, activation=activation, n_in=6)
    p = M.init(mlp, 32, S.preset("ntk"), key=KEY)
    xs = jax.random.normal(jax.random.PRNGKey(3), (5, 6))
    phi = {
        "leaky_relu": lambda z: np.where(z > 0, z, 0.1 * z),
        "relu": lambda z: np.maximum(z, 0),
        "erf": lambda z: np.asarray(jax.scipy.special.erf(z)),
        "tanh": np.tanh,
    }[activation]
    w, v, a, x = (np.asarray(t, np.float64) for t in (p["w"], p["v"][0], p["a"], xs))
    expected = phi(phi(x @ w.T) @ v.T) @ a
    np.testing.assert_allclose(M.apply_batch(mlp, p, xs), expected, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("depth, activation", [(1, "leaky_relu"), (2, "relu"), (3, "erf")])
def test_layer_kernels_equal_autograd_gradient_products(depth, activation):
    mlp = M.MLP(depth=depth, activation=activation, n_in=7)
    p = M.init(mlp, 16, S.preset("mf"), key=KEY)
    xs = jax.random.normal(jax.random.PRNGKey(1), (4, 7))
    grads = jax.vmap(jax.grad(M.apply, argnums=1), in_axes=(None, None, 0))(mlp, p, xs)
    per_layer = [grads["w"], *grads["v"], grads["a"]]
    expected = jnp.stack([jnp.einsum("i...,j...->ij", g, g) for g in per_layer])
    kernels = M.layer_kernels(mlp, p, xs, xs)
    np.testing.assert_allclose(kernels, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(M.layer_kernel_diag(mlp, p, xs), jnp.diagonal(kernels, axis1=1, axis2=2), rtol=1e-5)


def test_init_corrected_starts_at_reference_logits_and_trains_like_the_scaled_net():
    mlp = M.MLP(n_in=5)
    ref = M.init_reference(mlp, 64, key=KEY)
    p0 = M.rescale(ref, 0.25)
    f = M.init_corrected(mlp, p0, ref)
    x = jnp.arange(5.0) / 5
    assert float(f(p0, x)) == pytest.approx(float(M.apply(mlp, ref, x)), rel=1e-6)
    g_corrected, g_plain = jax.grad(f)(p0, x), jax.grad(M.apply, argnums=1)(mlp, p0, x)
    for a, b in zip(jax.tree.leaves(g_corrected), jax.tree.leaves(g_plain)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        (dict(depth=0), "depth"),
        (dict(activation="gelu"), "activation"),
        (dict(negative_slope=1.5), "negative_slope"),
        (dict(n_in=0), "n_in"),
        (dict(init_law="orthogonal"), "init_law"),
    ],
)
def test_bad_architecture_names_the_parameter(kwargs, parameter):
    with pytest.raises((TypeError, ValueError), match=parameter):
        M.MLP(**kwargs)


def test_layer_names():
    assert M.MLP(depth=3).layer_names == ("w", "v1", "v2", "a")


def test_numpy_sizes_are_normalised_so_jit_and_cache_keys_agree():
    mlp = M.MLP(depth=np.int64(2), n_in=np.int32(3), negative_slope=np.float32(0.5))
    assert mlp == M.MLP(depth=2, n_in=3, negative_slope=0.5) and hash(mlp) == hash(
        M.MLP(depth=2, n_in=3, negative_slope=0.5)
    )
    assert type(mlp.depth) is int and type(mlp.n_in) is int and type(mlp.negative_slope) is float


def test_inputs_are_checked_against_n_in_before_the_matmul():
    mlp = M.MLP(n_in=3)
    p = M.init(mlp, 8, S.preset("mf"), key=KEY)
    with pytest.raises(ValueError, match=r"xs must have shape \(n, 3\)"):
        M.apply_batch(mlp, p, jnp.ones((5, 4)))
    with pytest.raises(ValueError, match="params"):
        M.apply(mlp, M.init(M.MLP(depth=2, n_in=3), 8, S.preset("mf"), key=KEY), jnp.ones(3))


# ----------------------------------------------------------------------------------------- IC-MF offset, span


def test_init_offset_is_the_reference_minus_the_scaled_logit_at_any_depth():
    """The offset turns the scaled net's initial logits into the reference's (float32: a few ulps of the logits)."""
    for depth in (1, 3):
        mlp = M.MLP(depth=depth, n_in=6)
        ref = M.init_reference(mlp, 32, key=KEY)
        p0 = M.init(mlp, 32, S.preset("mf"), key=KEY)
        xs = jax.random.normal(jax.random.PRNGKey(1), (7, 6))
        corrected = M.apply_batch(mlp, p0, xs) + M.init_offset(mlp, p0, ref, xs)
        np.testing.assert_allclose(corrected, M.apply_batch(mlp, ref, xs), rtol=1e-6, atol=1e-7)


def test_init_offset_from_preactivations_agrees_with_two_forward_passes():
    """One hidden layer: phi(Z0)(a_ref - a0) vs a_ref.phi(Z0) - a0.phi(Z0), in float32. Both are sums of d = 64 terms
    of size |a phi| ~ 0.1, so they agree to ~64 u (0.1 * 64) ~ 4e-7; the tolerance is 5e-6 absolute."""
    mlp = M.MLP(n_in=6)
    ref = M.init_reference(mlp, 64, key=KEY)
    p0 = M.init(mlp, 64, S.preset("mf"), key=KEY)
    xs = jax.random.normal(jax.random.PRNGKey(1), (9, 6))
    z0 = xs @ ref["w"].T
    got = M.init_offset_from_preactivations(mlp, z0, p0["a"], ref["a"])
    np.testing.assert_allclose(got, M.init_offset(mlp, p0, ref, xs), atol=5e-6)
    with pytest.raises(ValueError, match="a0"):
        M.init_offset_from_preactivations(mlp, z0, p0["a"][:5], ref["a"])


def test_init_offset_checks_the_draws():
    mlp = M.MLP(n_in=6)
    ref, other = M.init_reference(mlp, 8, key=KEY), M.init_reference(mlp, 16, key=KEY)
    with pytest.raises(ValueError, match="one width"):
        M.init_offset(mlp, other, ref, jnp.ones((2, 6)))
    with pytest.raises(ValueError, match="xs"):
        M.init_offset(mlp, ref, ref, jnp.ones((2, 5)))


def test_span_reparametrisation_is_the_weights_after_gd_steps():
    """Two GD steps of a one-hidden-layer net by autograd keep W in W0 + span(X); C^T follows the step rule
    C^T <- C^T - eta phi'(Z) * e a^T, and Z on new points is Z0 + G C^T. Float64, so agreement is to ~1e-12."""
    from widthlimits import numerics

    with numerics.x64():
        mlp = M.MLP(n_in=8)
        rng = np.random.default_rng(0)
        x, xe = jnp.asarray(rng.normal(size=(5, 8))), jnp.asarray(rng.normal(size=(3, 8)))
        y = jnp.asarray([0.0, 1.0, 1.0, 0.0, 1.0])
        p = {"w": jnp.asarray(rng.normal(size=(16, 8)) / 3), "v": (), "a": jnp.asarray(rng.normal(size=16) / 4)}
        w0, ct, eta = p["w"], jnp.zeros((5, 16)), 0.3

        def loss(q):
            return jnp.mean(jax.nn.softplus(-(2 * y - 1) * M.apply_batch(mlp, q, x)))

        for _ in range(2):
            z = M.span_preactivations(x @ w0.T, x @ x.T, ct)
            e = jax.grad(lambda f: jnp.mean(jax.nn.softplus(-(2 * y - 1) * f)))(M.apply_batch(mlp, p, x))
            ct = ct - eta * jnp.where(z > 0, 1.0, mlp.negative_slope) * jnp.outer(e, p["a"])
            g = jax.grad(loss)(p)
            p = {"w": p["w"] - eta * g["w"], "v": (), "a": p["a"] - eta * g["a"]}
        np.testing.assert_allclose(M.span_weights(w0, ct, x), p["w"], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(M.span_preactivations(xe @ w0.T, xe @ x.T, ct), xe @ p["w"].T, atol=1e-12)
    with pytest.raises(ValueError, match="ct"):
        M.span_preactivations(jnp.zeros((3, 4)), jnp.zeros((3, 5)), jnp.zeros((4, 4)))
    with pytest.raises(ValueError, match="gram"):
        M.span_preactivations(jnp.zeros((3, 4)), jnp.zeros((2, 5)), jnp.zeros((5, 4)))
    with pytest.raises(ValueError, match="ct"):
        M.span_weights(jnp.zeros((4, 8)), jnp.zeros((5, 3)), jnp.zeros((5, 8)))
