"""Limit models: the MF particle recursion against nets and a hand-written step, kernel limits, divergences."""

import jax
import numpy as np
import pytest

from widthlimits import limits as Lim
from widthlimits import models as M
from widthlimits import scalings as S
from widthlimits import training as T
from widthlimits.data import Dataset

KEY = jax.random.PRNGKey(0)


def toy_data(n=24, n_test=12, n_in=40, seed=0):
    rng = np.random.default_rng(seed)
    x, xt = rng.normal(size=(n, n_in)).astype(np.float32), rng.normal(size=(n_test, n_in)).astype(np.float32)
    return Dataset(
        x, np.tile([0.0, 1.0], n // 2).astype(np.float32), xt, np.tile([0.0, 1.0], n_test // 2).astype(np.float32)
    )


@pytest.mark.parametrize("width", [128, 300])
def test_particle_system_with_the_nets_own_draw_is_the_mf_net(width):
    """M = d particles from the same key reproduce the width-d MF net (float32 rounding only)."""
    mlp, data = M.MLP(n_in=40), toy_data()
    net = T.train(mlp, width, S.preset("mf"), data, key=KEY, n_steps=15)
    lim = Lim.mf_limit(mlp, data, n_particles=width, key=KEY, n_steps=15)
    np.testing.assert_allclose(lim.test_logits, net.test_logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lim.train_loss, net.train_loss, rtol=1e-6)


def test_one_particle_step_equals_the_hat_variable_map_by_hand():
    """The map of the module docstring, written out in float64: step sizes eta*/sigma* and eta* sigma*."""
    mlp, data, m, lr = M.MLP(n_in=40), toy_data(), 50, 0.3
    p = Lim.mf_particles(mlp, m, key=KEY)
    a, w = np.asarray(p.a_hat, np.float64), np.asarray(p.w_hat, np.float64)
    x, y, xt = (np.asarray(v, np.float64) for v in data[:3])
    sigma_star = 1 / np.sqrt(3 * 128)
    c_star = sigma_star * 128
    z = x @ w.T
    f = c_star * np.where(z > 0, z, 0.1 * z) @ a / m
    g = -(2 * y - 1) / (1 + np.exp((2 * y - 1) * f))  # per-example dl/df
    a1 = a - lr / sigma_star * np.mean(g[:, None] * np.where(z > 0, z, 0.1 * z), axis=0)
    w1 = w - lr * sigma_star * np.mean((g[:, None] * np.where(z > 0, 1.0, 0.1) * a)[:, :, None] * x[:, None, :], 0)
    zt = xt @ w1.T
    expected = c_star * np.where(zt > 0, zt, 0.1 * zt) @ a1 / m
    lim = Lim.mf_limit(mlp, data, particles=p, n_steps=1, ref_lr=lr)
    np.testing.assert_allclose(lim.test_logits[1], expected, rtol=1e-4, atol=1e-6)


def test_particles_have_the_initial_law():
    p = Lim.mf_particles(M.MLP(n_in=40), 20000, key=KEY)
    a = np.asarray(p.a_hat)
    assert np.abs(a).max() <= np.sqrt(3) + 1e-6
    assert abs(a.var() - 1) < 0.05 and abs(a.mean()) < 0.05  # s.e. of the variance ~0.006, of the mean ~0.007
    np.testing.assert_array_equal(p.w_hat, M.init_reference(M.MLP(n_in=40), 20000, key=KEY)["w"])


def test_monte_carlo_fluctuations_shrink_like_inverse_sqrt_particles():
    """Std over 12 particle draws of the logits after 5 steps: 16x more particles, 4x smaller (accept 2.5..6.5)."""
    mlp, data = M.MLP(n_in=40), toy_data()
    keys = jax.random.split(KEY, 12)
    spread = [
        np.std([Lim.mf_limit(mlp, data, n_particles=m, key=k, n_steps=5).test_logits[-1] for k in keys], axis=0).mean()
        for m in (64, 1024)
    ]
    assert 2.5 < spread[0] / spread[1] < 6.5, spread


def test_kernel_limits_first_step_by_hand():
    mlp, data, lr = M.MLP(n_in=40), toy_data(), 0.05
    k = Lim.limit_kernels(mlp, data)
    n = len(data.y_train)
    inter = Lim.kernel_limit(k, data, n_steps=1, ref_lr=lr)
    expected = -lr * np.asarray(k.theta[n:]) @ (0.5 - data.y_train) / n  # sigmoid(0) = 1/2
    np.testing.assert_allclose(inter.test_logits[1], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(inter.test_logits[0], 0.0)
    f0 = Lim.gp_logits(k, key=KEY, n_samples=1)[0]
    ntk = Lim.kernel_limit(k, data, n_steps=1, ref_lr=lr, f0=f0)
    sig = 1 / (1 + np.exp(-np.asarray(f0[:n], np.float64)))
    expected = np.asarray(f0[n:]) - lr * np.asarray(k.theta[n:]) @ (sig - data.y_train) / n
    np.testing.assert_allclose(ntk.test_logits[1], expected, rtol=1e-4, atol=1e-6)


def test_wide_ntk_nets_approach_the_kernel_limit_from_their_own_start():
    """Gaussian init (Theta_ref is then exact in expectation): the error drops ~4x for 16x the width (accept >2.5x)."""
    mlp, data = M.MLP(n_in=40, init_law="normal"), toy_data()
    k = Lim.limit_kernels(mlp, data)
    x_all = np.concatenate([data.x_train, data.x_test])
    errors = []
    for width in (256, 4096):
        err = []
        for key in jax.random.split(KEY, 4):
            net = T.train(mlp, width, S.preset("ntk"), data, key=key, n_steps=10)
            f0 = M.apply_batch(mlp, M.init(mlp, width, S.preset("ntk"), key=key), x_all)
            lim = Lim.kernel_limit(k, data, n_steps=10, f0=f0)
            err.append(np.sqrt(np.mean((net.test_logits - lim.test_logits) ** 2)))
        errors.append(np.mean(err))
    assert errors[0] / errors[1] > 2.5, errors


def test_gp_logits_have_the_nngp_covariance():
    k = Lim.limit_kernels(M.MLP(n_in=40), toy_data(n=8, n_test=4))
    g = np.asarray(Lim.gp_logits(k, key=KEY, n_samples=20000), np.float64)
    cov, target = np.cov(g.T), np.asarray(k.nngp, np.float64)
    se = np.sqrt((np.outer(np.diag(target), np.diag(target)) + target**2) / len(g))  # s.e. of a sample covariance
    assert np.all(np.abs(cov - target) <= 5 * se + 1e-7)


def test_logit_divergences():
    rng = np.random.default_rng(0)
    ref = rng.normal(0.3, 0.5, size=(4000, 20))
    same = Lim.logit_divergences(rng.normal(0.3, 0.5, size=(4000, 20)), ref)
    assert same["gauss_kl"] < 0.01 and same["beta_kl"] < 0.01 and same["sign_gap"] < 0.05 and same["w2"] < 0.05
    shifted = Lim.logit_divergences(ref + 1.0, ref)
    assert shifted["w2_mean"] == pytest.approx(1.0) and shifted["w2_spread"] == pytest.approx(0.0, abs=1e-12)
    assert shifted["gauss_kl"] == pytest.approx(0.5 / 0.25, rel=0.05)  # KL = shift^2 / (2 sigma^2)
    deterministic = Lim.logit_divergences(np.zeros((3, 20)) + 0.3, ref)
    assert deterministic["gauss_kl"] == np.inf and deterministic["beta_kl"] == np.inf
    assert deterministic["w2_spread"] == pytest.approx(0.5, rel=0.05)
    assert float(Lim.beta_kl(2.0, 3.0, 2.0, 3.0)) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(Lim.gaussian_kl(0.0, 1.0, 1.0, 4.0), 0.5 * (np.log(4) + 2 / 4 - 1))


def test_bad_arguments():
    mlp, data = M.MLP(n_in=40), toy_data()
    with pytest.raises(ValueError, match="particles"):
        Lim.mf_limit(mlp, data, n_steps=1)
    with pytest.raises(ValueError, match="ref_lr"):
        Lim.mf_limit(mlp, data, n_particles=8, key=KEY, n_steps=1, ref_lr=-1.0)
    with pytest.raises(ValueError, match="depth"):
        Lim.mf_limit(M.MLP(n_in=40, depth=2), data, n_particles=8, key=KEY, n_steps=1)
    with pytest.raises(ValueError, match="n_particles"):
        Lim.mf_particles(mlp, 0, key=KEY)
    k = Lim.limit_kernels(mlp, data)
    with pytest.raises(ValueError, match="f0"):
        Lim.kernel_limit(k, data, n_steps=1, f0=np.zeros(3))
    with pytest.raises(ValueError, match="loss"):
        Lim.kernel_limit(k, data, n_steps=1, loss="hinge")
    with pytest.raises(ValueError, match="seed axis"):
        Lim.logit_divergences(np.zeros((1, 5)), np.zeros((4, 5)))
