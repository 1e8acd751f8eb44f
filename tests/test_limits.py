"""Limit models: the MF particle recursion against nets and a hand-written step, kernel limits, divergences."""

import math

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


# ----------------------------------------------------------------------------------------- divergence flags


@pytest.mark.parametrize("loss", ["logistic", "mse"])
def test_limits_flag_a_finite_blow_up(loss):
    """Huge learning rates: logits pass DIVERGENCE_BOUND long before float32 overflows; the step is recorded."""
    mlp, data = M.MLP(n_in=40), toy_data()
    mf = Lim.mf_limit(mlp, data, n_particles=64, key=KEY, n_steps=6, ref_lr=1e3, loss=loss)
    k = Lim.limit_kernels(mlp, data)
    inter = Lim.kernel_limit(k, data, n_steps=30, ref_lr=50.0, loss="mse")
    for traj in (mf, inter):
        peak = np.abs(np.asarray(traj.test_logits)).max(-1)
        from_test = int(np.argmax(~np.isfinite(peak) | (peak > T.DIVERGENCE_BOUND)))
        # training logits are checked too (not recorded): the flag can come one step before the test logits'
        assert from_test - 1 <= int(traj.nonfinite_step) <= from_test and int(traj.nonfinite_step) > 0
    assert mf.nonfinite_step.dtype == np.int32 and mf.nonfinite_step.shape == ()
    ok = Lim.kernel_limit(k, data, n_steps=5, loss=loss)
    assert int(ok.nonfinite_step) == -1
    assert int(Lim.mf_limit(mlp, data, n_particles=64, key=KEY, n_steps=5, loss=loss).nonfinite_step) == -1


# ----------------------------------------------------------------------------------------- argument checks


def _bad_data(**fields):
    return toy_data()._replace(**fields)


@pytest.mark.parametrize(
    ("data", "error", "name"),
    [
        (_bad_data(y_train=2 * toy_data().y_train - 1), ValueError, "y_train"),  # +-1 labels
        (_bad_data(y_train=toy_data().y_train[:, None]), ValueError, "y_train"),  # a column broadcasts to (n, n)
        (_bad_data(y_train=toy_data().y_train[:1]), ValueError, "y_train"),
        (_bad_data(x_train=np.zeros((24, 7), np.float32)), ValueError, "n_in"),
        (_bad_data(x_train=np.full((24, 40), 128, np.uint8)), TypeError, "x_train"),  # raw pixels
        (_bad_data(x_test=np.zeros((0, 40), np.float32), y_test=np.zeros(0, np.float32)), ValueError, "x_test"),
        (_bad_data(x_test=np.full((12, 40), np.inf, np.float32)), ValueError, "x_test"),
    ],
)
def test_mf_limit_and_limit_kernels_check_the_dataset(data, error, name):
    mlp = M.MLP(n_in=40)
    with pytest.raises(error, match=name):
        Lim.mf_limit(mlp, data, n_particles=8, key=KEY, n_steps=1)
    with pytest.raises(error, match=name):
        Lim.limit_kernels(mlp, data)


def test_bad_scalar_and_structure_arguments_are_named():
    mlp, data = M.MLP(n_in=40), toy_data()
    p = Lim.mf_particles(mlp, 8, key=KEY)
    cases = [
        (lambda: Lim.mf_limit(mlp, data, n_particles=8, key=KEY, n_steps=1, ref_lr=0.0), ValueError, "ref_lr"),
        (lambda: Lim.mf_limit(mlp, data, n_particles=8, key=KEY, n_steps=-1), ValueError, "n_steps"),
        (lambda: Lim.mf_limit(mlp, data, n_particles=8, key=KEY, n_steps=1.5), TypeError, "n_steps"),
        (lambda: Lim.mf_limit(mlp, data, n_particles=8, key=KEY, n_steps=1, ref_width=0), ValueError, "ref_width"),
        (lambda: Lim.mf_limit(mlp, data, particles=p, n_particles=8, key=KEY, n_steps=1), ValueError, "not both"),
        (lambda: Lim.mf_limit(mlp, data, particles=(1, 2), n_steps=1), TypeError, "particles"),
        (
            lambda: Lim.mf_limit(mlp, data, particles=p._replace(w_hat=p.w_hat[:, :5]), n_steps=1),
            ValueError,
            "particles.w_hat",
        ),
        (lambda: Lim.mf_limit("mlp", data, n_particles=8, key=KEY, n_steps=1), TypeError, "mlp"),
        (lambda: Lim.mf_particles(mlp, 2**33, key=KEY), ValueError, "n_particles"),
        (lambda: Lim.mf_particles(mlp, 8, key=3), TypeError, "key"),
    ]
    k = Lim.limit_kernels(mlp, data)
    other = Lim.limit_kernels(mlp, toy_data(n=8, n_test=4))
    cases += [
        (lambda: Lim.kernel_limit(other, data, n_steps=1), ValueError, "k must be limit_kernels of data"),
        (lambda: Lim.kernel_limit(k, data, n_steps=1, f0=np.full(36, np.nan)), ValueError, "f0"),
        (lambda: Lim.kernel_limit(k, data, n_steps=1, ref_lr=-0.02), ValueError, "ref_lr"),
        (lambda: Lim.kernel_limit(k._asdict(), data, n_steps=1), TypeError, "k must be"),
        (lambda: Lim.kernel_limit(k, _bad_data(y_test=toy_data().y_test - 1), n_steps=1), ValueError, "y_test"),
        (lambda: Lim.gp_logits(k, key=KEY, n_samples=0), ValueError, "n_samples"),
        (lambda: Lim.gp_logits(k, key=KEY, n_samples=2, jitter=-1.0), ValueError, "jitter"),
        (lambda: Lim.gp_logits(k, key=jax.random.split(KEY, 2), n_samples=2), TypeError, "key"),
        (lambda: Lim.gaussian_kl(0.0, -1.0, 0.0, 1.0), ValueError, "var_p"),
        (lambda: Lim.gaussian_kl(np.zeros(3), 1.0, np.zeros(4), 1.0), ValueError, "broadcast"),
        (lambda: Lim.beta_kl(0.0, 1.0, 1.0, 1.0), ValueError, "a_p"),
        (lambda: Lim.beta_kl(1.0, 1.0, 1.0, np.nan), ValueError, "b_q"),
        (lambda: Lim.logit_divergences(np.full((3, 5), np.nan), np.zeros((4, 5))), ValueError, "logits"),
        (lambda: Lim.logit_divergences(np.zeros((3, 5)), np.zeros((1, 5))), ValueError, "ref_logits"),
    ]
    for call, error, name in cases:
        with pytest.raises(error, match=name):
            call()


def test_digamma_and_betaln_without_scipy():
    """Known values, and agreement with SciPy's where it is installed (it is not a dependency)."""
    euler = 0.57721566490153286
    x = np.array([1.0, 0.5, 2.0, 10.0, 1e-3, 1e6])
    # psi(1/2) = -euler - 2 ln 2, psi(n + 1) = H_n - euler, psi(x) = -1/x - euler + pi^2 x / 6 + O(x^2) near 0
    exact = [-euler, -euler - 2 * np.log(2), 1 - euler, 2.251752589066721, -1000.5755719318103, 13.815510057964274]
    np.testing.assert_allclose(Lim._digamma(x), exact, rtol=1e-14)
    assert np.isnan(Lim._digamma(np.array([0.0, -1.0]))).all()
    np.testing.assert_allclose(Lim._betaln(np.array([2.0, 0.5]), np.array([3.0, 0.5])), [np.log(1 / 12), np.log(np.pi)])
    # a << b: log B = lgamma(a) - [a ln b + a (a - 1) / (2b) - a (a - 1)(2a - 1) / (12 b^2)] + O(b^-3); no cancellation
    # of two lgamma values of order 1e7 (which would lose 7 digits)
    for a, b in [(0.1739, 7.84e5), (0.5, 1e6), (3.0, 5e7)]:
        series = math.lgamma(a) - (a * math.log(b) + a * (a - 1) / (2 * b) - a * (a - 1) * (2 * a - 1) / (12 * b * b))
        assert float(Lim._betaln(np.array(a), np.array(b))) == pytest.approx(series, rel=1e-14)
    # KL(U(0, 1) || Beta(2, 2)) = -int log(6 x (1 - x)) dx = 2 - log 6
    assert float(Lim.beta_kl(1.0, 1.0, 2.0, 2.0)) == pytest.approx(2 - np.log(6), rel=1e-12)
    special = pytest.importorskip("scipy.special")
    a, b = np.geomspace(1e-3, 1e8, 40), np.geomspace(5e7, 2e-3, 40)
    np.testing.assert_allclose(Lim._digamma(a), special.digamma(a), rtol=1e-13, atol=1e-13)
    # SciPy's own betaln errs by up to ~1e-9 relative for a < 1 << b (checked against the series below)
    np.testing.assert_allclose(Lim._betaln(a, b), special.betaln(a, b), rtol=1e-8)


def test_beta_divergence_is_nan_where_the_moments_admit_no_beta_law():
    """Two seeds whose sigmoids sit near 0 and 1: sample variance > m (1 - m), no Beta law fits."""
    logits = np.array([[-6.0, 0.1], [6.0, 0.3]])
    ref = np.random.default_rng(0).normal(0.0, 0.3, size=(50, 2))
    assert np.isnan(Lim.logit_divergences(logits, ref)["beta_kl"])
    assert np.isfinite(Lim.logit_divergences(logits[:, 1:], ref[:, 1:])["beta_kl"])
