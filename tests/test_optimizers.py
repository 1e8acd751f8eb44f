"""Optimisers: RMSProp's eps factor against the first step the optimiser actually takes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import optimizers as O


def grads_of_scale(scale, shapes=((6, 5), (6, 6), (6,)), seed=0):
    """A gradient whose entries are log-uniform over two decades around ``scale``, random signs."""
    rng = np.random.default_rng(seed)
    g = [(scale * 10 ** rng.uniform(-1, 1, s) * rng.choice([-1, 1], s)).astype(np.float32) for s in shapes]
    return {"w": jnp.asarray(g[0]), "v": (jnp.asarray(g[1]),), "a": jnp.asarray(g[2])}


@pytest.mark.parametrize("scale", [1e-9, 1e-7, 1e-5])
def test_eps_factor_is_the_first_rmsprop_move_over_the_sign_move(scale):
    """First step from v = 0 with unit rates: |u| = |g| / (sqrt(1-a)|g| + eps), the sign step is 1/sqrt(1-a)."""
    g = grads_of_scale(scale)
    opt = O.optimizer("rmsprop", {"w": 1.0, "v": (1.0,), "a": 1.0})
    params = jax.tree.map(jnp.zeros_like, g)
    u, _ = opt.update(g, opt.init(params), params)
    sign = 1 / np.sqrt(1 - O.RMSPROP_DECAY)
    rows = np.linalg.norm(np.asarray(u["w"], np.float64), axis=1) / (sign * np.sqrt(g["w"].shape[1]))
    moves = [rows.mean(), *(np.mean(np.abs(np.asarray(q, np.float64))) / sign for q in (u["v"][0], u["a"]))]
    # two float32 evaluations of one formula (sqrt of the moment, eps added in different places): a few ulps
    np.testing.assert_allclose(O.rmsprop_eps_factor(g), moves, rtol=1e-5)


def test_eps_factor_limits_and_half_point():
    big, small = grads_of_scale(1.0), grads_of_scale(1e-12)
    np.testing.assert_allclose(O.rmsprop_eps_factor(big), 1.0, atol=1e-5)  # eps/|g| <= 1e-6
    assert np.all(np.asarray(O.rmsprop_eps_factor(small)) < 1e-4)  # |g|/scale <= 1e-4
    at = {"w": jnp.full((3, 4), O.RMSPROP_EPS_SCALE), "v": (), "a": -jnp.full((3,), O.RMSPROP_EPS_SCALE)}
    np.testing.assert_allclose(O.rmsprop_eps_factor(at), 0.5, rtol=1e-6)
    assert O.RMSPROP_EPS_SCALE == pytest.approx(1e-7, rel=1e-12)


def test_eps_factor_is_jittable_and_rejects_bad_trees():
    g = grads_of_scale(1e-7)
    # compiled, XLA may sum a row in another order: a few float32 ulps
    np.testing.assert_allclose(jax.jit(O.rmsprop_eps_factor)(g), O.rmsprop_eps_factor(g), rtol=1e-6)
    with pytest.raises(TypeError, match="grads"):
        O.rmsprop_eps_factor([g["w"], g["a"]])
    with pytest.raises(ValueError, match="grads"):
        O.rmsprop_eps_factor({"w": g["w"][0], "v": (), "a": g["a"]})
    with pytest.raises(TypeError, match="lrs"):
        O.optimizer("gd", {"w": 1.0, "a": 1.0})
    with pytest.raises(ValueError, match="optimizer"):
        O.optimizer("adam", {"w": 1.0, "v": (), "a": 1.0})
