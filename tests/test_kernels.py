"""Kernels: closed forms against Monte Carlo and hand-derived cases, finite nets, kernel dynamics, bad inputs.

Monte-Carlo tolerances are stated in units of the estimate's own standard error (SE): a check ``|mc - exact| <=
Z * SE`` with ``Z = 5`` fails by chance with probability below 1e-6 per entry, and the SE is printed into the
assertion message so that a failure says how far off it was.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import experiments, models, scalings, training
from widthlimits import kernels as K

KEY = jax.random.PRNGKey(0)
Z = 5.0
PHI = {
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.1 * z), lambda z: np.where(z > 0, 1.0, 0.1)),
    "erf": (lambda z: np.asarray(jax.scipy.special.erf(z), float), lambda z: 2 / np.sqrt(np.pi) * np.exp(-(z**2))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
}


@pytest.fixture(scope="module")
def gauss_pairs():
    return np.random.default_rng(0).standard_normal((2, 1_000_000))


@pytest.mark.parametrize("activation", models.ACTIVATIONS)
@pytest.mark.parametrize("rho", [-0.9, 0.0, 0.5, 0.99])
def test_dual_matches_monte_carlo(gauss_pairs, activation, rho):
    """10^6 Gaussian pairs; tolerance Z standard errors of the sample mean (plus 2e-6 for float32 rounding)."""
    s11, s22 = 1.3, 0.7
    z1, z2 = gauss_pairs
    u, v = np.sqrt(s11) * z1, np.sqrt(s22) * (rho * z1 + np.sqrt(1 - rho**2) * z2)
    exact = K.dual(activation, s11, rho * np.sqrt(s11 * s22), s22)
    for (fn, name), value in zip([(PHI[activation][0], "phi"), (PHI[activation][1], "dphi")], exact):
        samples = fn(u) * fn(v)
        se = samples.std() / np.sqrt(samples.size)
        assert abs(samples.mean() - float(value)) <= Z * se + 2e-6, (name, samples.mean(), float(value), se)


def test_activations_have_one_home():
    assert not hasattr(K, "ACTIVATIONS")  # kernels takes models.ACTIVATIONS: one list, one place to extend


@pytest.mark.parametrize("activation", models.ACTIVATIONS)
def test_mc_dual_is_the_sample_mean_the_closed_forms_are_the_limit_of(gauss_pairs, activation):
    """mc_dual against the hand-written samples above (same pairs: equal to float32 rounding of phi) and against
    dual within Z of its own standard errors; the error is the sample std / sqrt(N)."""
    s11, s22, rho = 1.3, 0.7, 0.4
    z1, z2 = gauss_pairs
    u, v = np.sqrt(s11) * z1, np.sqrt(s22) * (rho * z1 + np.sqrt(1 - rho**2) * z2)
    mc = K.mc_dual(activation, s11, rho * np.sqrt(s11 * s22), s22, gauss_pairs)
    exact = K.dual(activation, s11, rho * np.sqrt(s11 * s22), s22)
    for fn, (mean, se), value in zip(PHI[activation], mc, exact):
        samples = fn(u) * fn(v)
        np.testing.assert_allclose(se, samples.std() / np.sqrt(samples.size), rtol=1e-5)
        assert abs(mean - samples.mean()) <= 1e-6 * max(1.0, abs(samples.mean()))  # phi in float32 vs float64
        assert abs(mean - float(value)) <= Z * se + 2e-6, (mean, float(value), se)


def test_mc_dual_rejects_bad_inputs():
    with pytest.raises(ValueError, match="s12"):
        K.mc_dual("relu", 1.0, 2.0, 1.0, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="z"):
        K.mc_dual("relu", 1.0, 0.5, 1.0, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="s11"):
        K.mc_dual("relu", 0.0, 0.0, 1.0, np.zeros((2, 4)))


@pytest.mark.parametrize("alpha", [0.02, 0.3, 0.75])
@pytest.mark.parametrize("rho", [-0.6, 0.4])
def test_leaky_relu_any_slope_matches_monte_carlo(gauss_pairs, alpha, rho):
    """Slopes other than the default 0.1; same Z-standard-error tolerance as above."""
    s11, s22 = 0.8, 2.1
    z1, z2 = gauss_pairs
    u, v = np.sqrt(s11) * z1, np.sqrt(s22) * (rho * z1 + np.sqrt(1 - rho**2) * z2)
    exact = K.dual("leaky_relu", s11, rho * np.sqrt(s11 * s22), s22, negative_slope=alpha)
    phi, dphi = (lambda t: np.where(t > 0, t, alpha * t)), (lambda t: np.where(t > 0, 1.0, alpha))
    for fn, value in zip((phi, dphi), exact):
        samples = fn(u) * fn(v)
        se = samples.std() / np.sqrt(samples.size)
        assert abs(samples.mean() - float(value)) <= Z * se + 2e-6, (samples.mean(), float(value), se)


def test_arc_cosine_degree_one_special_angles():
    """Cho & Saul: k_1 = |x||y| J_1(theta)/pi with J_1(0) = pi, J_1(pi/2) = 1; our E[relu relu] is k_1 / 2."""
    s = 1.7
    e0, d0 = K.dual("relu", s, s, s)  # angle 0
    e90, d90 = K.dual("relu", s, 0.0, s)  # angle pi/2
    np.testing.assert_allclose([e0, d0], [s / 2, 0.5], rtol=1e-6)
    np.testing.assert_allclose([e90, d90], [s / (2 * np.pi), 0.25], rtol=1e-6)
    e180, d180 = K.dual("relu", s, -s, s)  # relu(u) relu(-u) = 0
    np.testing.assert_allclose([e180, d180], [0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5, 1.0])
def test_leaky_relu_special_cases(alpha):
    s11, s22, s12 = 1.3, 0.7, 0.4
    e, d = K.dual("leaky_relu", s11, s12, s22, negative_slope=alpha)
    e_diag, d_diag = K.dual("leaky_relu", s11, s11, s11, negative_slope=alpha)
    np.testing.assert_allclose([e_diag, d_diag], [(1 + alpha**2) / 2 * s11, (1 + alpha**2) / 2], rtol=1e-6)
    if alpha == 0:
        np.testing.assert_allclose([e, d], K.dual("relu", s11, s12, s22), rtol=1e-6)
    if alpha == 1:  # the identity: the linear kernel
        np.testing.assert_allclose([e, d], [s12, 1.0], rtol=1e-6)


def test_erf_closed_form_matches_quadrature_and_broadcasts():
    s11 = jnp.array([[0.3], [1.0], [2.5]])  # (3, 1)
    s22 = jnp.array([[0.5, 1.5]])  # (1, 2)
    s12 = 0.6 * jnp.sqrt(s11 * s22)  # (3, 2)
    closed = K.dual("erf", s11, s12, s22)
    erf = jax.scipy.special.erf
    derf = lambda z: 2 / jnp.sqrt(jnp.pi) * jnp.exp(-(z**2))  # noqa: E731
    quad = (
        K.gaussian_expectation(lambda u, v: erf(u) * erf(v), s11, s12, s22, n_points=64),
        K.gaussian_expectation(lambda u, v: derf(u) * derf(v), s11, s12, s22, n_points=64),
    )
    for c, q in zip(closed, quad):
        assert c.shape == (3, 2)
        np.testing.assert_allclose(c, q, atol=2e-5)


def test_linear_and_critical_relu_recursions_by_hand():
    """alpha = 1 is a linear net: NNGP = sw2^(L+1) x.x'/n0 and NTK = (L+1) times that. He-init ReLU keeps q fixed."""
    x = np.random.default_rng(1).standard_normal((5, 7)).astype(np.float32)
    lin = x @ x.T / 7
    sw2, L = 1.3, 3
    nngp, ntk = K.nngp_ntk(x, x, depth=L, activation="leaky_relu", negative_slope=1.0, sigma_w2=sw2)
    np.testing.assert_allclose(nngp, sw2 ** (L + 1) * lin, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ntk, (L + 1) * sw2 ** (L + 1) * lin, rtol=1e-5, atol=1e-6)
    nngp, ntk = K.nngp_ntk(x, x, depth=L, activation="relu", sigma_w2=2.0)
    np.testing.assert_allclose(np.diag(nngp), 2 * np.diag(lin), rtol=1e-5)
    # arccos is ill-conditioned at rho = 1: float32 rounding of x.x versus |x|^2 (1e-7) moves theta by ~5e-4
    np.testing.assert_allclose(np.diag(ntk), 2 * (L + 1) * np.diag(lin), rtol=1e-3)


@pytest.mark.parametrize("parametrization", K.PARAMETRIZATIONS)
@pytest.mark.parametrize(
    ("activation", "sigma_b2", "depth", "width"),
    [("relu", 0.0, 1, 64), ("erf", 0.2, 3, 512), ("leaky_relu", 0.2, 2, 512), ("tanh", 0.1, 2, 512)],
)
def test_recursions_match_finite_nets(parametrization, activation, sigma_b2, depth, width):
    """Mean of 24 finite nets against the closed forms, entry by entry.

    With one hidden layer the estimates are unbiased at any width (the first layer is exactly Gaussian), so the
    tolerance is Z standard errors. Deeper, the mean also carries the O(depth / width) finite-width correction; we
    allow 2 * depth / width relative on top (the measured errors sit well inside it).
    """
    x = np.random.default_rng(2).standard_normal((4, 9)).astype(np.float32)
    kw = dict(depth=depth, activation=activation, sigma_w2=1.6, sigma_b2=sigma_b2, parametrization=parametrization)
    exact = K.nngp_ntk(x, x, **kw)
    mc = K.mc_kernels(x, x, width=width, key=KEY, n_samples=24, **kw)
    bias = 0.0 if depth == 1 else 2 * depth / width
    for name, e, samples in zip(("nngp", "ntk"), exact, mc):
        samples = np.asarray(samples, float)
        mean, se = samples.mean(0), samples.std(0, ddof=1) / np.sqrt(len(samples))
        err = np.abs(mean - np.asarray(e))
        assert np.all(err <= Z * se + bias * np.abs(np.asarray(e)) + 1e-6), (name, err.max(), se.max())


def test_standard_and_ntk_parametrisations_differ_only_by_learning_rates():
    x = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
    t = K.layer_terms(x, x, depth=2, activation="erf", sigma_w2=1.5, sigma_b2=0.3)
    _, ntk = K.nngp_ntk(x, x, depth=2, activation="erf", sigma_w2=1.5, sigma_b2=0.3)
    _, std = K.nngp_ntk(x, x, depth=2, activation="erf", sigma_w2=1.5, sigma_b2=0.3, parametrization="standard")
    np.testing.assert_allclose(ntk, np.sum((1.5 * t.inputs + 0.3) * t.backward, 0), rtol=1e-5)
    np.testing.assert_allclose(std, np.sum((t.inputs + 1) * t.backward, 0), rtol=1e-5)


def test_empirical_ntk_is_lr_weighted_sum_and_converges_to_layer_terms():
    """A widthlimits MLP (normal law, sigma_w^2 = 1/3 in every layer) against A^l P^l, layer by layer."""
    mlp = models.MLP(depth=2, activation="relu", n_in=12, init_law="normal")
    x = np.random.default_rng(4).standard_normal((3, 12)).astype(np.float32)
    width, lrs = 512, jnp.array([0.3, 0.2, 0.1])
    terms = K.layer_terms(x, x, depth=2, activation="relu", sigma_w2=1 / 3)
    p = models.init_reference(mlp, width, key=KEY)
    direct = jnp.tensordot(lrs, models.layer_kernels(mlp, p, x, x), axes=1)
    np.testing.assert_allclose(K.empirical_ntk(mlp, p, x, x, lrs, batch_size=2), direct, rtol=1e-5)
    one_hot, fans = np.eye(3), np.array([12, width, width])
    per_seed = np.array(
        [
            [
                K.empirical_ntk(mlp, models.init_reference(mlp, width, key=k), x, x, one_hot[l]) / fans[l]
                for l in range(3)
            ]
            for k in jax.random.split(KEY, 24)
        ],
        dtype=float,
    )
    mean, se = per_seed.mean(0), per_seed.std(0, ddof=1) / np.sqrt(len(per_seed))
    exact = np.asarray(terms.inputs * terms.backward, float)
    assert np.all(np.abs(mean - exact) <= Z * se + 2 * 2 / width * np.abs(exact)), np.abs(mean - exact).max()


@pytest.mark.parametrize("law", models.INIT_LAWS)
def test_reference_kernel_is_the_mean_lr_weighted_kernel_on_the_mf_ntk_line(law):
    """E Theta_d = Theta_ref at every width. The diagonal is exact for both laws: leaky ReLU is homogeneous and
    u = w.x is symmetric, so E phi(u)^2 = (1 + a^2)/2 E u^2 whatever the law of w. Tolerance: Z seed SEs."""
    mlp = models.MLP(n_in=48, init_law=law)
    x = np.random.default_rng(5).standard_normal((6, 48)).astype(np.float32)
    fams = {name: scalings.preset(name) for name in ("ntk", "mf", "intermediate")}
    stats = experiments.at_init(mlp, [16, 128], fams, x, seeds=range(96))
    theta = stats.kernel.sum(-2)  # (W, K, S, n): lr-weighted diagonal, summed over layers
    _, ref = K.reference_kernels(x, x, mlp=mlp)
    mean, se = theta.mean(2), theta.std(2, ddof=1) / np.sqrt(theta.shape[2])
    assert np.all(np.abs(mean - np.diag(ref)) <= Z * se), (np.abs(mean - np.diag(ref)) / se).max()


def test_reference_kernel_off_diagonal_with_gaussian_weights():
    mlp = models.MLP(n_in=48, init_law="normal")
    x = np.random.default_rng(6).standard_normal((4, 48)).astype(np.float32)
    nngp, ref = K.reference_kernels(x, x, mlp=mlp, ref_lr=0.02)
    hp = scalings.hyperparams(scalings.preset("ntk"), 512)
    lrs = jnp.stack([hp.lr_w, hp.lr_a])
    thetas, covs = [], []
    for key in jax.random.split(KEY, 48):
        p = models.init(mlp, 512, scalings.preset("ntk"), key=key)
        thetas.append(K.empirical_ntk(mlp, p, x, x, lrs))
        feats = mlp.phi(x @ p["w"].T)  # the output's covariance given the hidden layer is feats feats^T / (3 d)
        covs.append(feats @ feats.T / (3 * 512))
    thetas, covs = np.array(thetas, float), np.array(covs, float)
    for name, est, exact in [("ntk", thetas, ref), ("nngp", covs, nngp)]:
        mean, se = est.mean(0), est.std(0, ddof=1) / np.sqrt(len(est))
        assert np.all(np.abs(mean - np.asarray(exact)) <= Z * se), name


@pytest.fixture(scope="module")
def toy_problem():
    rng = np.random.default_rng(7)
    n, n_test, p = 12, 5, 30
    feats = rng.standard_normal((n + n_test, p)).astype(np.float32)
    theta = feats @ feats.T / p
    y = (rng.random(n) > 0.5).astype(np.float32)
    f0 = rng.standard_normal(n + n_test).astype(np.float32) * 0.3
    return feats, theta, y, f0, n


@pytest.mark.parametrize("scale", [0.5, 1.6, 2.3])
def test_mse_closed_form_matches_kernel_gd(toy_problem, scale):
    """Scales put the top eigenvalue of Theta/n below 1, between 1 and 2, and above 2 (diverging)."""
    _, theta, y, f0, n = toy_problem
    theta = theta * scale * n / float(np.linalg.eigvalsh(theta[:n, :n]).max())
    args = (theta[:n, :n], theta[n:, :n], f0[:n], f0[n:], y)
    f_tr, f_te, f_bad = K.kernel_gd(*args, n_steps=20, loss="mse")
    c_tr, c_te, c_bad = K.mse_kernel_gd(*args, np.arange(21))
    np.testing.assert_allclose(c_tr, f_tr, rtol=1e-3, atol=1e-4 * max(1, float(np.abs(f_tr).max())))
    np.testing.assert_allclose(c_te, f_te, rtol=1e-3, atol=1e-4 * max(1, float(np.abs(f_te).max())))
    # 20 steps at 2.3 grow the top mode by |1 - 2.3|^20 ~ 2e2 only: below DIVERGENCE_BOUND, so nothing is flagged
    assert int(f_bad) == int(c_bad) == -1


def test_mse_flow_is_the_small_step_limit(toy_problem):
    """Kernel GD with Theta / m for m t steps approaches the flow at time t with an O(1/m) error."""
    _, theta, y, f0, n = toy_problem
    args = (theta[:n, :n], theta[n:, :n], f0[:n], f0[n:], y)
    flow_tr, flow_te = K.mse_kernel_flow(*args, np.array([0.0, 7.5]))
    # At t = 0 the flow is (2y - 1) + V V^T e0 with float32 eigenvectors V: their orthogonality error is a few
    # n * eps, so |f(0) - f0| is up to ~ n * eps * |e0|; 4x that margin (7e-6 here; 1e-6 was hit by 1.2e-6).
    e0 = np.abs(f0[:n] - (2 * y - 1)).max()
    np.testing.assert_allclose(flow_tr[0], f0[:n], atol=4 * n * np.finfo(np.float32).eps * e0)
    errors = []
    for m in (10, 40):
        args_m = (theta[:n, :n] / m, theta[n:, :n] / m, f0[:n], f0[n:], y)
        tr, te, _ = K.kernel_gd(*args_m, n_steps=int(7.5 * m), loss="mse")
        errors.append(max(np.abs(tr[-1] - flow_tr[1]).max(), np.abs(te[-1] - flow_te[1]).max()))
    assert errors[1] < errors[0] / 3 and errors[1] < 5e-3, errors


def test_kernel_gd_is_gd_on_the_linear_model(toy_problem):
    """Logistic loss: GD on theta of f(x) = f0(x) + phi(x).theta equals kernel GD with lr * Phi Phi^T."""
    feats, _, y, f0, n = toy_problem
    lr = 0.7
    theta = lr * feats @ feats.T
    f_tr, f_te, _ = K.kernel_gd(theta[:n, :n], theta[n:, :n], f0[:n], f0[n:], y, n_steps=15)
    w = np.zeros(feats.shape[1])
    for k in range(15):
        f = f0 + feats @ w
        np.testing.assert_allclose(f_tr[k], f[:n], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(f_te[k], f[n:], rtol=1e-4, atol=1e-5)
        grad_f = (1 / (1 + np.exp(-f[:n])) - y) / n  # d mean loss / d f
        w = w - lr * feats[:n].T @ grad_f


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: K.dual("gelu", 1.0, 0.5, 1.0), "activation"),
        (lambda: K.dual("leaky_relu", 1.0, 0.5, 1.0, negative_slope=1.5), "negative_slope"),
        (lambda: K.nngp_ntk(np.ones((2, 3)), np.ones((2, 3)), depth=0, activation="relu"), "depth"),
        (lambda: K.nngp_ntk(np.ones((2, 3)), np.ones((2, 3)), depth=1, activation="relu", sigma_w2=0.0), "sigma_w2"),
        (lambda: K.nngp_ntk(np.ones((2, 3)), np.ones((2, 3)), depth=1, activation="relu", sigma_b2=-1), "sigma_b2"),
        (
            lambda: K.nngp_ntk(np.ones((2, 3)), np.ones((2, 3)), depth=1, activation="relu", parametrization="mup"),
            "parametrization",
        ),
        (lambda: K.nngp_ntk(np.ones((2, 3)), np.ones((2, 4)), depth=1, activation="relu"), "x1 and x2"),
        (lambda: K.mc_kernels(np.ones((2, 3)), np.ones((2, 3)), width=0, depth=1, activation="relu", key=KEY), "width"),
        (lambda: K.reference_kernels(np.ones((2, 3)), np.ones((2, 3)), mlp=models.MLP(depth=2)), "mlp.depth"),
        (lambda: K.reference_kernels(np.ones((2, 3)), np.ones((2, 3)), ref_lr=-1.0), "ref_lr"),
        (lambda: K.kernel_gd(np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.ones(2), n_steps=-1), "n_steps"),
        (
            lambda: K.kernel_gd(
                np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.ones(2), n_steps=1, loss="hinge"
            ),
            "loss",
        ),
        (
            lambda: K.kernel_gd(np.eye(3), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.ones(2), n_steps=1),
            "theta_train",
        ),
        (
            lambda: K.kernel_gd(np.eye(2), np.ones((2, 2)), np.zeros(2), np.zeros(1), np.ones(2), n_steps=1),
            "theta_test_train",
        ),
        (lambda: K.kernel_gd(np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), -np.ones(2), n_steps=1), "y"),
        (lambda: K.mse_kernel_flow(np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.ones(2), [-1.0]), "times"),
    ],
)
def test_bad_inputs_raise_value_errors_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_empirical_ntk_rejects_wrong_number_of_learning_rates():
    mlp = models.MLP(n_in=3)
    p = models.init_reference(mlp, 8, key=KEY)
    with pytest.raises(ValueError, match="lrs"):
        K.empirical_ntk(mlp, p, np.ones((2, 3)), np.ones((2, 3)), [0.1, 0.2, 0.3])


def test_closed_forms_agree_with_neural_tangents():
    nt = pytest.importorskip(
        "neural_tangents",
        reason="neural-tangents is an optional cross-check, not a dependency (it pulls in TensorFlow); not installed",
    )
    stax = nt.stax
    x = np.random.default_rng(8).standard_normal((4, 6)).astype(np.float32)
    for act, layer in [("relu", stax.Relu()), ("erf", stax.Erf())]:
        _, _, kernel_fn = stax.serial(
            stax.Dense(64, W_std=1.2, b_std=0.3), layer, stax.Dense(64, W_std=1.2, b_std=0.3), layer,
            stax.Dense(1, W_std=1.2, b_std=0.3),
        )  # fmt: skip
        ref = kernel_fn(x, x, ("nngp", "ntk"))
        ours = K.nngp_ntk(x, x, depth=2, activation=act, sigma_w2=1.44, sigma_b2=0.09)
        np.testing.assert_allclose(ours[0], ref.nngp, rtol=1e-4)
        np.testing.assert_allclose(ours[1], ref.ntk, rtol=1e-4)


# ----------------------------------------------------------------------------------------- divergence and checks


def test_kernel_gd_and_its_closed_form_flag_a_blow_up(toy_problem):
    """Top eigenvalue of Theta/n at 3: the top mode grows by |1 - 3| = 2 per step, past DIVERGENCE_BOUND near
    step 27 with no inf in 40 steps; both the iteration and the closed form flag it, at the step their own
    outputs first exceed the bound (the initial outputs are O(1), so the threshold is the bound itself)."""
    _, theta, y, f0, n = toy_problem
    theta = theta * 3.0 * n / float(np.linalg.eigvalsh(theta[:n, :n]).max())
    args = (theta[:n, :n], theta[n:, :n], f0[:n], f0[n:], y)
    run = K.kernel_gd(*args, n_steps=40, loss="mse")
    closed = K.mse_kernel_gd(*args, np.arange(41))
    for f_tr, f_te, bad in (run, closed):
        peak = np.maximum(np.abs(np.asarray(f_tr)).max(-1), np.abs(np.asarray(f_te)).max(-1))
        assert np.all(np.isfinite(peak)) and peak[-1] > 1e10
        assert int(bad) == int(np.argmax(peak > training.DIVERGENCE_BOUND)) > 0
    # the closed form reports a step number, not an index: requested steps need not start at 0 or be sorted
    assert int(K.mse_kernel_gd(*args, np.array([40, 5, 35])).nonfinite_step) == 35
    tr, _, bad = K.kernel_gd(args[0] * 1e12, args[1] * 1e12, *args[2:], n_steps=3)  # logistic: one huge jump
    assert int(bad) == 1 and np.isfinite(np.asarray(tr)).all()
    assert int(K.kernel_gd(*args, n_steps=3).nonfinite_step) == -1


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: K.dual("relu", -1.0, 0.0, 1.0), ValueError, "s11"),
        (lambda: K.dual("relu", np.ones(3), np.ones(2), 1.0), ValueError, "broadcast"),
        (lambda: K.dual("relu", 1.0, np.nan, 1.0), ValueError, "s12"),
        (lambda: K.dual("tanh", 1.0, 0.5, 1.0, n_points=0), ValueError, "n_points"),
        (lambda: K.dual("leaky_relu", 1.0, 0.5, 1.0, negative_slope="0.1"), TypeError, "negative_slope"),
        (lambda: K.gaussian_expectation(np.tanh, 1.0, 0.5, 1.0, n_points=10_000), ValueError, "n_points"),
        (lambda: K.gaussian_expectation("tanh", 1.0, 0.5, 1.0), TypeError, "fn"),
        (lambda: K.nngp_ntk(np.ones((2, 3)), np.ones((2, 3)), depth=True, activation="relu"), TypeError, "depth"),
        (
            lambda: K.nngp_ntk(np.ones((2, 3)), np.ones((2, 3)), depth=1, activation="relu", sigma_w2="1"),
            TypeError,
            "sigma_w2",
        ),
        (lambda: K.nngp_ntk(np.full((2, 3), np.nan), np.ones((2, 3)), depth=1, activation="relu"), ValueError, "x1"),
        (lambda: K.nngp_ntk(np.ones((0, 3)), np.ones((2, 3)), depth=1, activation="relu"), ValueError, "x1"),
        (lambda: K.nngp_ntk(np.ones(3), np.ones((2, 3)), depth=1, activation="relu"), ValueError, "x1"),
        (
            lambda: K.mc_kernels(np.ones((2, 3)), np.ones((2, 3)), width=2**33, depth=1, activation="relu", key=KEY),
            ValueError,
            "width",
        ),
        (
            lambda: K.mc_kernels(np.ones((2, 3)), np.ones((2, 3)), width=8, depth=1, activation="relu", key=1),
            TypeError,
            "key",
        ),
        (lambda: K.reference_kernels(np.ones((2, 3)), np.ones((2, 3)), ref_width=2**33), ValueError, "ref_width"),
        (lambda: K.reference_kernels(np.ones((2, 3)), np.ones((2, 3)), mlp="mlp"), TypeError, "mlp"),
        (
            lambda: K.kernel_gd(np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.zeros((2, 1)), n_steps=1),
            ValueError,
            "y",
        ),
        (
            lambda: K.kernel_gd(np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.zeros(0), n_steps=1),
            ValueError,
            "y",
        ),
        (
            lambda: K.kernel_gd(np.eye(2) * np.nan, np.ones((1, 2)), np.zeros(2), np.zeros(1), np.ones(2), n_steps=1),
            ValueError,
            "theta_train",
        ),
        (
            lambda: K.kernel_gd(np.eye(2), np.ones((1, 2)), np.zeros(3), np.zeros(1), np.ones(2), n_steps=1),
            ValueError,
            "f0_train",
        ),
        (
            lambda: K.kernel_gd(np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.ones(2), n_steps=1.0),
            TypeError,
            "n_steps",
        ),
        (
            lambda: K.mse_kernel_gd(np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.ones(2), np.zeros(0, int)),
            ValueError,
            "steps",
        ),
        (
            lambda: K.mse_kernel_flow(np.eye(2), np.ones((1, 2)), np.zeros(2), np.zeros(1), np.ones(2), ["a"]),
            TypeError,
            "times",
        ),
    ],
)
def test_more_bad_inputs_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_empirical_ntk_checks_params_inputs_and_rates():
    mlp = models.MLP(n_in=3)
    p = models.init_reference(mlp, 8, key=KEY)
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="n_in"):
        K.empirical_ntk(mlp, p, np.ones((2, 4)), np.ones((2, 4)), [0.1, 0.2])
    with pytest.raises(ValueError, match="lrs"):
        K.empirical_ntk(mlp, p, x, x, [0.1, -0.2])
    with pytest.raises(ValueError, match=r"params\['a'\]"):
        K.empirical_ntk(mlp, p | {"a": p["a"][:3]}, x, x, [0.1, 0.2])
    with pytest.raises(TypeError, match="params"):
        K.empirical_ntk(mlp, [p["w"], p["a"]], x, x, [0.1, 0.2])
    with pytest.raises(ValueError, match="batch_size"):
        K.empirical_ntk(mlp, p, x, x, [0.1, 0.2], batch_size=0)
