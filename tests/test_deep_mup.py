"""The deep μP control: its init and rates against their definitions, its training against a hand-written loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import deep_mup as DM
from widthlimits import losses
from widthlimits import models as M
from widthlimits import scalings as S
from widthlimits.data import Dataset

MLP3 = M.MLP(depth=3, n_in=6)


def toy(n=5, n_probe=4, n_in=6, seed=0):
    rng = np.random.default_rng(seed)
    x, xp = (rng.normal(size=(k, n_in)).astype(np.float32) for k in (n, n_probe))
    return Dataset(x, np.array([0, 1, 1, 0, 1][:n], np.float32), xp, np.array([1, 0, 1, 0][:n_probe], np.float32))


def test_init_rescales_only_the_output_layer():
    key, width = jax.random.PRNGKey(3), 512
    ref, p = M.init_reference(MLP3, width, key=key), DM.init(MLP3, width, key=key)
    np.testing.assert_array_equal(p["w"], ref["w"])
    for v, v_ref in zip(p["v"], ref["v"]):
        np.testing.assert_array_equal(v, v_ref)
    np.testing.assert_allclose(p["a"], ref["a"] * (width / 128) ** -0.5, rtol=1e-6)


def test_learning_rates_are_mf_gd():
    hp = S.hyperparams(S.preset("mf"), 512)
    lrs = DM.learning_rates(512, ref_lr=0.02)
    np.testing.assert_allclose([lrs["w"], lrs["v"], lrs["a"]], [0.02 * 4, 0.02, 0.02 / 4], rtol=1e-6)
    np.testing.assert_allclose([hp.lr_w, hp.lr_v, hp.lr_a], [lrs["w"], lrs["v"], lrs["a"]])


def hand_loop(mlp, width, data, key, n_steps, lr):
    p = DM.init(mlp, width, key=key)
    p0, rates = p, DM.learning_rates(width, ref_lr=lr)
    loss = lambda q: losses.logistic_loss(M.apply_batch(mlp, q, data.x_train), data.y_train)  # noqa: E731
    out, logits = [], []
    for _ in range(n_steps + 1):
        out.append(float(loss(p)))
        logits.append(np.asarray(M.apply_batch(mlp, p, data.x_test) - M.apply_batch(mlp, p0, data.x_test)))
        g = jax.grad(loss)(p)
        p = {"w": p["w"] - rates["w"] * g["w"], "v": tuple(v - rates["v"] * gv for v, gv in zip(p["v"], g["v"])),
             "a": p["a"] - rates["a"] * g["a"]}
    return np.array(out), np.array(logits)


def test_train_matches_a_hand_written_gd_loop():
    data, widths, seeds = toy(), (16, 32), (0, 1)
    rec = DM.train(MLP3, widths, data, seeds=seeds, n_steps=3, ref_lr=0.5)
    assert rec["loss"].shape == (2, 2, 4) and rec["learned"].shape == (2, 2, 4, 4)
    for i, w in enumerate(widths):
        for j, s in enumerate(seeds):
            loss, dlogit = hand_loop(MLP3, w, data, jax.random.PRNGKey(s), 3, 0.5)
            np.testing.assert_allclose(rec["loss"][i, j], loss, rtol=1e-5)
            np.testing.assert_allclose(rec["learned"][i, j, :, -1], np.sqrt(np.mean(dlogit**2, axis=1)),
                                       rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(rec["learned"][:, :, 0], 0.0)  # nothing learned before the first step
    f0 = M.apply_batch(MLP3, DM.init(MLP3, 16, key=jax.random.PRNGKey(0)), data.x_test)
    np.testing.assert_allclose(rec["full"][0, 0, 0, -1], jnp.sqrt(jnp.mean(f0**2)), rtol=1e-5)
    acc0 = losses.accuracy(f0, data.y_test)
    np.testing.assert_allclose(rec["test_acc"][0, 0, 0], acc0)


def test_learned_exponents_recover_a_known_power_law():
    widths, rng = (64, 256, 1024), np.random.default_rng(0)
    learned = np.empty((3, 4, 3, 2))
    for i, w in enumerate(widths):
        learned[i] = np.array([1.0, 0.5 * w**-0.5])[None, None, :] * np.exp(0.01 * rng.normal(size=(4, 3, 2)))
    fits = DM.learned_exponents({"learned": learned}, widths, 2)
    np.testing.assert_allclose([f.slope for f in fits], [0.0, -0.5], atol=0.02)
    with pytest.raises(ValueError, match="step"):
        DM.learned_exponents({"learned": learned}, widths, 3)
    with pytest.raises(ValueError, match="widths"):
        DM.learned_exponents({"learned": learned}, widths[:2], 1)


def test_arguments_are_checked():
    data = toy()
    with pytest.raises(ValueError, match="widths"):
        DM.train(MLP3, (0,), data, seeds=(0,), n_steps=1)
    with pytest.raises(ValueError, match="n_steps"):
        DM.train(MLP3, (16,), data, seeds=(0,), n_steps=0)
    with pytest.raises(ValueError, match="ref_lr"):
        DM.train(MLP3, (16,), data, seeds=(0,), n_steps=1, ref_lr=-1.0)
    with pytest.raises(ValueError, match="width"):
        DM.init(MLP3, 0, key=jax.random.PRNGKey(0))
