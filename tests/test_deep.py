"""Deep nets: the reference code's per-layer init factors and learning rates, as a training run uses them.

The expected exponents are typed from the tables of science.md section 1.4 (camera-ready code), not computed
from ``scalings``: each entry is a power of ``rho = width / 128`` for (weight factor on the hidden and output
layers, lr of the input layer W, lr of every hidden layer V, lr of the output layer a).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import models as M
from widthlimits import scalings as S
from widthlimits import training as T
from widthlimits.data import Dataset

KEY = jax.random.PRNGKey(3)
TABLE = {
    ("mf", "gd"): (-0.5, 1, 0, -1),
    ("ntk", "gd"): (0, 0, -1, -1),
    ("sp", "gd"): (0, 0, 0, 0),
    ("mf", "rmsprop"): (-0.5, 0, -1, -1),
    ("ntk", "rmsprop"): (0, -0.5, -1.5, -1),
    ("sp", "rmsprop"): (0, 0, 0, 0),
}
REF_LR = {"gd": 0.02, "rmsprop": 0.0002}
ALPHA = 0.99  # torch.optim.RMSprop's default smoothing constant


def toy_data(n=12, n_test=6, n_in=7, seed=1):
    rng = np.random.default_rng(seed)
    x, xt = rng.normal(size=(n, n_in)).astype(np.float32), rng.normal(size=(n_test, n_in)).astype(np.float32)
    return Dataset(x, (rng.random(n) > 0.5).astype(np.float32), xt, (rng.random(n_test) > 0.5).astype(np.float32))


def table_values(name, optimizer, width):
    """(init factor, lr_W, lr_V, lr_a) from the typed table."""
    rho = width / 128
    e_factor, e_w, e_v, e_a = TABLE[(name, optimizer)]
    lr = REF_LR[optimizer]
    return rho**e_factor, lr * rho**e_w, lr * rho**e_v, lr * rho**e_a


def layer_list(p):
    return [p["w"], *p["v"], p["a"]]


def from_layers(layers):
    return {"w": layers[0], "v": tuple(layers[1:-1]), "a": layers[-1]}


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("name, optimizer", list(TABLE))
def test_deep_hyperparams_and_init_follow_the_reference_table(name, optimizer, depth):
    mlp = M.MLP(depth=depth, n_in=7)
    for width in (32, 512):
        factor, lr_w, lr_v, lr_a = table_values(name, optimizer, width)
        hp = S.hyperparams(S.preset(name, optimizer=optimizer), width)
        np.testing.assert_allclose([hp.init_factor, hp.lr_w, hp.lr_v, hp.lr_a], [factor, lr_w, lr_v, lr_a], rtol=1e-6)
        np.testing.assert_allclose(hp.sigma, factor / math.sqrt(3 * width), rtol=1e-6)
        p = M.init(mlp, width, S.preset(name, optimizer=optimizer), key=KEY)
        ref = M.init_reference(mlp, width, key=KEY)
        np.testing.assert_array_equal(p["w"], ref["w"])  # the input layer is never rescaled
        assert len(p["v"]) == depth - 1
        for got, base in zip(layer_list(p)[1:], layer_list(ref)[1:]):
            np.testing.assert_allclose(got, factor * base, rtol=1e-6)


@pytest.mark.parametrize("name", ["mf", "ntk", "sp"])
def test_deep_init_std_of_hidden_layers(name):
    # PyTorch's U(+-1/sqrt(d)) has std 1/sqrt(3d); the MF factor rho^-1/2 makes it proportional to 1/d.
    width, depth = 512, 3
    factor = table_values(name, "gd", width)[0]
    p = M.init(M.MLP(depth=depth, n_in=7), width, S.preset(name), key=KEY)
    for v in p["v"]:
        assert float(jnp.std(v)) == pytest.approx(factor / math.sqrt(3 * width), rel=0.01)


@pytest.mark.parametrize("width", [32, 512])
@pytest.mark.parametrize("name", ["mf", "ntk", "sp"])
def test_deep_gd_run_uses_the_table_learning_rates_per_layer(name, width):
    mlp, data = M.MLP(depth=3, n_in=7), toy_data()
    s = S.preset(name)
    hist = T.train(mlp, width, s, data, key=KEY, n_steps=1)
    _, lr_w, lr_v, lr_a = table_values(name, "gd", width)
    lrs = [lr_w, lr_v, lr_v, lr_a]
    p0 = M.init(mlp, width, s, key=KEY)
    grads = jax.grad(lambda p: T.logistic_loss(M.apply_batch(mlp, p, data.x_train), data.y_train))(p0)
    p1 = from_layers([q - lr * g for q, g, lr in zip(layer_list(p0), layer_list(grads), lrs)])
    np.testing.assert_allclose(hist.test_logits[1], M.apply_batch(mlp, p1, data.x_test), rtol=2e-5, atol=1e-7)
    # The recorded kernel is weighted by the same per-layer rates.
    kernel0 = jnp.asarray(lrs)[:, None] * M.layer_kernel_diag(mlp, p0, data.x_test)
    np.testing.assert_allclose(hist.kernel[0], kernel0, rtol=1e-5)


@pytest.mark.parametrize("width", [32, 512])
@pytest.mark.parametrize("name", ["mf", "ntk", "sp"])
def test_deep_first_rmsprop_step_is_a_sign_step(name, width):
    """Step 1 of RMSProp is -lr g / (sqrt((1 - alpha) g^2) + eps), i.e. -lr sign(g) / sqrt(1 - alpha) where eps is
    negligible; the whole deep training run must take exactly this step, with the table's rate in every layer."""
    mlp, data = M.MLP(depth=3, n_in=7), toy_data()
    s = S.preset(name, optimizer="rmsprop")
    hist = T.train(mlp, width, s, data, key=KEY, n_steps=1)
    factor, lr_w, lr_v, lr_a = table_values(name, "rmsprop", width)
    lrs = [lr_w, lr_v, lr_v, lr_a]
    p0 = M.init(mlp, width, s, key=KEY)
    grads = layer_list(jax.grad(lambda p: T.logistic_loss(M.apply_batch(mlp, p, data.x_train), data.y_train))(p0))
    steps = [-lr * g / (math.sqrt(1 - ALPHA) * jnp.abs(g) + 1e-8) for g, lr in zip(grads, lrs)]
    signs = [-lr * jnp.sign(g) / math.sqrt(1 - ALPHA) for g, lr in zip(grads, lrs)]
    for g, step, sign in zip(grads, steps, signs):  # eps aside (|g| >> 1e-7), the step is the sign step
        big = np.abs(np.asarray(g)) > 1e-5
        np.testing.assert_allclose(np.asarray(step)[big], np.asarray(sign)[big], rtol=0.011)  # eps / (0.1 * 1e-5)
    p1 = from_layers([q + u for q, u in zip(layer_list(p0), steps)])
    np.testing.assert_allclose(hist.test_logits[1], M.apply_batch(mlp, p1, data.x_test), rtol=1e-4, atol=1e-6)
    # In hat units the run moved every row of W by the step's row norm and every other entry by |step| / sigma ...
    sigma = factor / math.sqrt(3 * width)
    exact = [jnp.mean(jnp.linalg.norm(steps[0], axis=1)), *(jnp.mean(jnp.abs(u)) / sigma for u in steps[1:])]
    np.testing.assert_allclose(hist.hat_distance[1], exact, rtol=1e-4)
    # ... which the sign step's 10 lr sqrt(n_in) and 10 lr / sigma bound (eps only shrinks a step).
    signed = np.array([10 * lr_w * math.sqrt(mlp.n_in), 10 * lr_v / sigma, 10 * lr_v / sigma, 10 * lr_a / sigma])
    assert np.all(np.asarray(hist.hat_distance[1]) <= signed * (1 + 1e-5))


@pytest.mark.parametrize("name", ["mf", "ntk", "sp"])
def test_deep_rmsprop_first_update_is_elementwise_sign_step(name):
    """The optimiser itself (not a formula): its first update equals -lr sign(g) / sqrt(1 - alpha) in every entry of
    every layer, up to eps's relative effect eps / (sqrt(1 - alpha) |g|), with the table's per-layer rate."""
    depth, width = 3, 64
    mlp, data = M.MLP(depth=depth, n_in=7), toy_data()
    s = S.preset(name, optimizer="rmsprop")
    _, lr_w, lr_v, lr_a = table_values(name, "rmsprop", width)
    lrs = {"w": lr_w, "v": (lr_v,) * (depth - 1), "a": lr_a}
    p0 = M.init(mlp, width, s, key=KEY)
    grads = jax.grad(lambda p: T.logistic_loss(M.apply_batch(mlp, p, data.x_train), data.y_train))(p0)
    tx = T.optimizer("rmsprop", lrs)
    updates, _ = tx.update(grads, tx.init(p0), p0)
    for g, u, lr in zip(layer_list(grads), layer_list(updates), [lr_w, lr_v, lr_v, lr_a]):
        g, u = np.asarray(g, dtype=np.float64), np.asarray(u, dtype=np.float64)
        sign_step = -lr * np.sign(g) / math.sqrt(1 - ALPHA)
        rel_eps = 1e-8 / (math.sqrt(1 - ALPHA) * np.abs(g))  # eps's relative shrinkage of each entry
        nonzero = g != 0
        assert nonzero.mean() > 0.9  # leaky ReLU: almost no exactly-zero gradient entries
        np.testing.assert_allclose(u[nonzero], sign_step[nonzero] / (1 + rel_eps[nonzero]), rtol=1e-5)
        big = np.abs(g) > 1e-4  # where eps is negligible (relative effect < 1e-3) the step is the sign step
        assert big.mean() > 0.5
        np.testing.assert_allclose(u[big], sign_step[big], rtol=1.1e-3)
