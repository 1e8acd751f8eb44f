"""Training: hand-checked GD and RMSProp steps, determinism, engines, compilation, divergence flags."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from widthlimits import _validate
from widthlimits import data as D
from widthlimits import divergence as Dv
from widthlimits import models as M
from widthlimits import scalings as S
from widthlimits import training as T
from widthlimits.data import Dataset

KEY = jax.random.PRNGKey(0)


def toy_data(n=6, n_test=4, n_in=5, seed=0):
    rng = np.random.default_rng(seed)
    x, xt = rng.normal(size=(n, n_in)).astype(np.float32), rng.normal(size=(n_test, n_in)).astype(np.float32)
    return Dataset(x, (rng.random(n) > 0.5).astype(np.float32), xt, (rng.random(n_test) > 0.5).astype(np.float32))


def hand_gd_step(w, a, x, y, lr_w, lr_a, slope=0.1):
    """One full-batch GD step of the mean logistic loss, written out with numpy (float64)."""
    yt = 2 * y - 1
    z = x @ w.T
    phi, dphi = np.where(z > 0, z, slope * z), np.where(z > 0, 1.0, slope)
    f = phi @ a
    g = -yt / (1 + np.exp(yt * f)) / len(x)  # d(mean loss)/df_j
    a_new = a - lr_a * phi.T @ g
    w_new = w - lr_w * ((dphi * g[:, None]) * a[None, :]).T @ x
    return w_new, a_new


@pytest.mark.parametrize("engine", ["direct", "gram"])
@pytest.mark.parametrize("name", ["mf", "ntk", "sp"])
def test_one_gd_step_equals_hand_written_update(engine, name):
    mlp, width, data = M.MLP(n_in=5), 8, toy_data()
    s = S.preset(name)
    hist = T.train(mlp, width, s, data, key=KEY, n_steps=1, engine=engine)
    hp = S.hyperparams(s, width)
    p0 = M.init(mlp, width, s, key=KEY)
    w, a = (np.asarray(p0[k], np.float64) for k in ("w", "a"))
    w1, a1 = hand_gd_step(w, a, data.x_train, data.y_train, float(hp.lr_w), float(hp.lr_a))
    z = data.x_test @ w1.T
    np.testing.assert_allclose(hist.test_logits[1], np.where(z > 0, z, 0.1 * z) @ a1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hist.test_logits[0], M.apply_batch(mlp, p0, data.x_test), rtol=1e-6)


def test_rmsprop_steps_equal_pytorch_formula():
    """v <- a v + (1 - a) g^2, step -lr g / (sqrt(v) + eps); the first is -lr sign(g) / sqrt(1 - a)."""
    lrs = {"w": 0.1, "v": (0.01,), "a": 0.001}
    opt = T.optimizer("rmsprop", lrs)
    params = {"w": jnp.ones((2, 3)), "v": (jnp.ones((2, 2)),), "a": jnp.ones(2)}
    g1 = {
        "w": jnp.array([[1.0, -2.0, 3e-3], [4.0, -5.0, 6.0]]),
        "v": (jnp.array([[1.0, -1.0], [2.0, 0.5]]),),
        "a": jnp.array([-1e-3, 7.0]),
    }
    g2 = jax.tree.map(lambda g: -0.5 * g + 0.1, g1)
    state = opt.init(params)
    u1, state = opt.update(g1, state, params)
    u2, _ = opt.update(g2, state, params)
    for path, lr in [("w", 0.1), ("a", 0.001)]:
        g, h = np.asarray(g1[path], np.float64), np.asarray(g2[path], np.float64)
        v1 = 0.01 * g**2
        np.testing.assert_allclose(u1[path], -lr * g / (np.sqrt(v1) + 1e-8), rtol=1e-5)
        np.testing.assert_allclose(u1[path], -lr * np.sign(g) / np.sqrt(0.01), rtol=1e-4)
        v2 = 0.99 * v1 + 0.01 * h**2
        np.testing.assert_allclose(u2[path], -lr * h / (np.sqrt(v2) + 1e-8), rtol=1e-5)
    np.testing.assert_allclose(u1["v"][0], -0.01 * np.sign(g1["v"][0]) / 0.1, rtol=1e-4)


def test_gd_optimizer_uses_per_layer_learning_rates():
    opt = T.optimizer("gd", {"w": 0.5, "v": (), "a": 2.0})
    p = {"w": jnp.ones(2), "v": (), "a": jnp.ones(2)}
    u, _ = opt.update({"w": jnp.ones(2), "v": (), "a": jnp.ones(2)}, opt.init(p), p)
    # Two statements: assert_allclose returns None, so joining them with `and` skipped the output-layer check.
    np.testing.assert_allclose(u["w"], -0.5)
    np.testing.assert_allclose(u["a"], -2.0)
    with pytest.raises(ValueError, match="optimizer"):
        T.optimizer("adam", {"w": 1.0, "v": (), "a": 1.0})


def test_same_seed_identical_history_different_seed_not():
    mlp, data = M.MLP(n_in=5), toy_data()
    h1 = T.train(mlp, 16, S.preset("mf"), data, key=KEY, n_steps=5)
    h2 = T.train(mlp, 16, S.preset("mf"), data, key=KEY, n_steps=5)
    h3 = T.train(mlp, 16, S.preset("mf"), data, key=jax.random.PRNGKey(1), n_steps=5)
    for a, b in zip(h1, h2):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(h1.test_logits, h3.test_logits)


def test_all_scalings_coincide_at_reference_width():
    mlp, data = M.MLP(n_in=5), toy_data()
    hists = [T.train(mlp, 128, S.preset(n), data, key=KEY, n_steps=4) for n in ["sp", "mf", "ntk", "intermediate"]]
    for h in hists[1:]:
        np.testing.assert_allclose(h.test_logits, hists[0].test_logits, rtol=1e-6, atol=1e-7)


def test_gram_engine_matches_direct_engine_on_cifar_like_sizes():
    """The Gram engine is exact algebra; differences are float32 rounding (tolerances 1e-4 relative)."""
    rng = np.random.default_rng(0)
    data = Dataset(
        rng.normal(size=(64, 300)).astype(np.float32),
        (rng.random(64) > 0.5).astype(np.float32),
        rng.normal(size=(32, 300)).astype(np.float32),
        (rng.random(32) > 0.5).astype(np.float32),
    )
    mlp = M.MLP(n_in=300)
    for name, corrected in [("mf", False), ("mf", True), ("ntk", False)]:
        kw = dict(key=KEY, n_steps=20, init_corrected=corrected)
        hd = T.train(mlp, 256, S.preset(name), data, engine="direct", **kw)
        hg = T.train(mlp, 256, S.preset(name), data, engine="gram", **kw)
        for field in ["train_loss", "test_loss", "test_logits", "hat_distance"]:
            a, b = np.asarray(getattr(hd, field)), np.asarray(getattr(hg, field))
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(a).max(), err_msg=field)
        # Leaky-ReLU kernels jump when a pre-activation changes sign under rounding: 1e-2 relative.
        np.testing.assert_allclose(hd.kernel, hg.kernel, rtol=1e-2, atol=1e-2 * float(np.abs(hd.kernel).max()))


def test_gram_engine_refuses_where_it_is_not_exact():
    data = toy_data()
    with pytest.raises(ValueError, match="engine"):
        T.train(M.MLP(n_in=5), 8, S.preset("mf", optimizer="rmsprop"), data, key=KEY, n_steps=1, engine="gram")
    with pytest.raises(ValueError, match="engine"):
        T.train(M.MLP(n_in=5, depth=2), 8, S.preset("mf"), data, key=KEY, n_steps=1, engine="gram")
    with pytest.raises(ValueError, match="engine must be"):
        T.train(M.MLP(n_in=5), 8, S.preset("mf"), data, key=KEY, n_steps=1, engine="fast")


def test_compiles_once_per_width_not_per_exponent_lr_or_seed():
    mlp, data = M.MLP(n_in=5, activation="tanh"), toy_data()
    before = T._train_runs._cache_size()  # the compiled function behind the checking wrapper train_runs
    for name, lr, seed in [("mf", 0.02, 0), ("ntk", 0.5, 1), ("sym_default", 0.001, 2)]:
        T.train(mlp, 24, S.preset(name), data, key=jax.random.PRNGKey(seed), ref_lr=lr, n_steps=3)
    assert T._train_runs._cache_size() == before + 1
    T.train(mlp, 48, S.preset("mf"), data, key=KEY, n_steps=3)
    assert T._train_runs._cache_size() == before + 2


def test_initialisation_corrected_mf_starts_at_sp_logits_with_mf_kernel():
    mlp, data = M.MLP(n_in=5), toy_data()
    ic = T.train(mlp, 512, S.preset("mf"), data, key=KEY, n_steps=3, init_corrected=True)
    sp = T.train(mlp, 512, S.preset("sp"), data, key=KEY, n_steps=3)
    mf = T.train(mlp, 512, S.preset("mf"), data, key=KEY, n_steps=3)
    np.testing.assert_allclose(ic.test_logits[0], sp.test_logits[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ic.kernel[0], mf.kernel[0], rtol=1e-6)
    assert not np.allclose(ic.test_logits[0], mf.test_logits[0])


def test_divergence_is_flagged_with_its_step():
    mlp, data = M.MLP(n_in=5), toy_data()
    hist = T.train(mlp, 64, S.preset("sp"), data, key=KEY, ref_lr=1e38, n_steps=5)
    assert int(hist.nonfinite_step) == 1
    ok = T.train(mlp, 64, S.preset("sp"), data, key=KEY, n_steps=5)
    assert int(ok.nonfinite_step) == -1


@pytest.mark.parametrize("engine", ["direct", "gram"])
def test_finite_blow_up_is_flagged(engine):
    """from_hat(0, 12) at width 256 grows its logits ~100x per step: 1e23 after 10 steps, never inf or NaN.

    It must be flagged at the first step whose logits exceed DIVERGENCE_BOUND (its initial logits are O(1), so
    the threshold is the bound itself); test logits are recorded, training logits are not, so the flagged step
    can only be earlier than the one read off the test logits, and is at most one step earlier here.
    """
    mlp, data = M.MLP(n_in=3), D.toy_2d(16, 16)
    hist = T.train(mlp, 256, S.from_hat(0.0, 12.0), data, key=KEY, n_steps=10, engine=engine)
    peak = np.abs(np.asarray(hist.test_logits)).max(-1)
    assert np.all(np.isfinite(peak)) and peak[-1] > 1e20 and peak[0] < 1  # finite, huge: NaN checks miss it
    from_test = int(np.argmax(peak > T.DIVERGENCE_BOUND))
    assert from_test - 1 <= int(hist.nonfinite_step) <= from_test
    assert int(hist.nonfinite_step) > 0  # not at initialisation: the logits start at O(1)


def test_divergence_threshold_is_relative_to_large_initial_logits():
    """A stable model with huge initial logits (hat exponents +-10) is not 'diverged at step 0'; growth is."""
    assert T.DIVERGENCE_BOUND == Dv.DIVERGENCE_BOUND == 1e8  # re-exported where History documents it
    assert float(Dv.divergence_threshold(np.array([0.3, -0.5]))) == Dv.DIVERGENCE_BOUND
    assert float(Dv.divergence_threshold(np.array([4e8, 1.0]))) == pytest.approx(4e16)
    flags = Dv.diverged(np.array([1e7, 2e8, np.nan, -np.inf, -3e8]))
    np.testing.assert_array_equal(flags, [False, True, True, True, True])
    bad = np.array([[0, 0, 1, 1], [0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(Dv.first_diverged_step(bad), [2, -1])
    np.testing.assert_array_equal(Dv.first_diverged_step(bad, steps=np.array([9, 7, 5, 3])), [3, -1])
    mlp, data = M.MLP(n_in=3), D.toy_2d(16, 16)
    far = T.train(mlp, 16, S.from_hat(-10.0, 10.0), data, key=KEY, n_steps=2)
    assert np.abs(np.asarray(far.test_logits[0])).max() > T.DIVERGENCE_BOUND  # 4e8 at initialisation, by design
    assert int(far.nonfinite_step) == -1


@pytest.mark.parametrize("optimizer", S.OPTIMIZERS)
def test_deep_nets_train_and_record_every_layer(optimizer):
    mlp, data = M.MLP(depth=3, n_in=5), toy_data()
    hist = T.train(mlp, 32, S.preset("mf", optimizer=optimizer), data, key=KEY, n_steps=4)
    assert hist.kernel.shape == (5, 4, 4) and hist.hat_distance.shape == (5, 4) and hist.preact_rms.shape == (5, 3)
    assert np.all(np.asarray(hist.hat_distance[0]) == 0) and np.all(np.asarray(hist.hat_distance[1:]) > 0)
    assert int(hist.nonfinite_step) == -1


def test_history_shapes_and_zero_steps():
    mlp, data = M.MLP(n_in=5), toy_data()
    hist = T.train(mlp, 16, S.preset("ntk"), data, key=KEY, n_steps=0, n_kernel=10)
    assert hist.train_loss.shape == (1,) and hist.test_logits.shape == (1, 4) and hist.kernel.shape == (1, 2, 4)
    with pytest.raises(ValueError, match="n_steps"):
        T.train(mlp, 16, S.preset("ntk"), data, key=KEY, n_steps=-1)


def test_loss_and_accuracy():
    f, y = jnp.array([2.0, -1.0, 0.5]), jnp.array([1.0, 1.0, 0.0])
    expected = np.mean(np.log1p(np.exp(-np.array([2.0, -1.0, -0.5]))))
    assert float(T.logistic_loss(f, y)) == pytest.approx(expected, rel=1e-6)
    assert float(T.accuracy(f, y)) == pytest.approx(1 / 3)
    assert optax  # optax is the optimiser library under test


@pytest.mark.parametrize("engine", ["direct", "gram"])
def test_one_step_of_square_loss_equals_hand_written_update(engine):
    mlp, width, data = M.MLP(n_in=5), 8, toy_data()
    s = S.preset("ntk")
    hist = T.train(mlp, width, s, data, key=KEY, n_steps=1, engine=engine, loss="mse")
    hp, p0 = S.hyperparams(s, width), M.init(mlp, width, s, key=KEY)
    w, a, x = np.asarray(p0["w"], np.float64), np.asarray(p0["a"], np.float64), data.x_train
    z = x @ w.T
    phi, dphi = np.where(z > 0, z, 0.1 * z), np.where(z > 0, 1.0, 0.1)
    g = (phi @ a - (2 * data.y_train - 1)) / len(x)  # d(mean of (f - y)^2 / 2)/df_j
    a1 = a - float(hp.lr_a) * phi.T @ g
    w1 = w - float(hp.lr_w) * ((dphi * g[:, None]) * a[None, :]).T @ x
    zt = data.x_test @ w1.T
    np.testing.assert_allclose(hist.test_logits[1], np.where(zt > 0, zt, 0.1 * zt) @ a1, rtol=1e-5, atol=1e-7)
    assert float(hist.train_loss[0]) == pytest.approx(0.5 * np.mean((phi @ a - (2 * data.y_train - 1)) ** 2), rel=1e-5)
    with pytest.raises(ValueError, match="loss must be"):
        T.train(mlp, width, s, data, key=KEY, n_steps=1, loss="hinge")


@pytest.mark.parametrize("engine", ["direct", "gram"])
def test_preactivation_record(engine):
    mlp, data = M.MLP(n_in=5), toy_data()
    hist = T.train(mlp, 16, S.preset("mf"), data, key=KEY, n_steps=2, engine=engine)
    p0 = M.init(mlp, 16, S.preset("mf"), key=KEY)
    h1 = np.asarray(data.x_test) @ np.asarray(p0["w"]).T
    assert hist.preact_rms.shape == (3, 1)
    assert float(hist.preact_rms[0, 0]) == pytest.approx(np.sqrt(np.mean(h1**2)), rel=1e-5)


def _rounded(m, bits):
    """Round to ``bits`` explicit mantissa bits (TF32 keeps 10, bfloat16 7): a model of reduced-precision matmuls."""
    if bits is None:
        return m
    mant, ex = np.frexp(m)
    return np.ldexp(np.round(mant * 2.0 ** (bits + 1)) / 2.0 ** (bits + 1), ex)


def numpy_gd_losses(w, a, data, lr_w, lr_a, n_steps, bits=None, slope=0.1):
    """Train and test losses ``(T+1, 2)`` of full-batch GD in float64, matmul operands rounded to ``bits``."""
    x, y, xt, yt = (np.asarray(v, np.float64) for v in data)

    def mm(u, v):
        return _rounded(u, bits) @ _rounded(v, bits)

    out = []
    for _ in range(n_steps + 1):
        z, zt = mm(x, w.T), mm(xt, w.T)
        phi = np.where(z > 0, z, slope * z)
        f, ft = mm(phi, a[:, None])[:, 0], mm(np.where(zt > 0, zt, slope * zt), a[:, None])[:, 0]
        out.append([np.mean(np.logaddexp(0, -(2 * y - 1) * f)), np.mean(np.logaddexp(0, -(2 * yt - 1) * ft))])
        g = -(2 * y - 1) / (1 + np.exp((2 * y - 1) * f)) / len(x)
        a, w = (
            a - lr_a * mm(phi.T, g[:, None])[:, 0],
            w - lr_w * mm(((np.where(z > 0, 1.0, slope) * g[:, None]) * a).T, x),
        )
    return np.array(out)


FP32_TOL, TF32_TOL = 2e-5, 1e-3


@pytest.mark.parametrize("name", ["mf", "ntk"])
def test_matmul_precision_against_float64(name):
    """Full float32 ("highest", the default) tracks float64 GD within FP32_TOL over 30 steps on CIFAR2 inputs.

    A float64 model of TF32 matmuls (10-bit mantissas) drifts by ~7e-5, more than FP32_TOL, so the first check
    would catch a silent fall-back to TF32; TF32_TOL bounds what ``precision="default"`` may do on a GPU (on
    CPU every precision is float32, and the two runs are identical).
    """
    ds, mlp, width, key = D.load_cifar2(128, 64), M.MLP(), 512, KEY
    s = S.preset(name)
    hp, p0 = S.hyperparams(s, width), M.init(mlp, width, s, key=key)
    args = (np.asarray(p0["w"], np.float64), np.asarray(p0["a"], np.float64), ds, float(hp.lr_w), float(hp.lr_a), 30)
    ref, tf32 = numpy_gd_losses(*args), numpy_gd_losses(*args, bits=10)
    runs = {}
    for engine in ["gram", "direct"]:
        for precision in ["highest", "default"]:
            h = T.train(mlp, width, s, ds, key=key, n_steps=30, engine=engine, precision=precision)
            runs[engine, precision] = np.stack([h.train_loss, h.test_loss], axis=1)
    assert FP32_TOL < np.abs(tf32 - ref).max() < TF32_TOL
    for (engine, precision), losses in runs.items():
        err = np.abs(losses - ref).max()
        assert err < (FP32_TOL if precision == "highest" else TF32_TOL), (engine, precision, err)
    if jax.default_backend() == "cpu":
        np.testing.assert_array_equal(runs["gram", "highest"], runs["gram", "default"])
    with pytest.raises(ValueError, match="precision must be"):
        T.train(mlp, width, s, ds, key=key, n_steps=1, precision="tf32")


@pytest.mark.parametrize("engine", ["direct", "gram"])
def test_runs_sharing_a_key_equal_separate_runs(engine):
    """runs_per_key=3 computes one initial draw per group; results equal runs drawn one by one."""
    rng = np.random.default_rng(1)
    data = Dataset(
        rng.normal(size=(16, 40)).astype(np.float32),
        (rng.random(16) > 0.5).astype(np.float32),
        rng.normal(size=(8, 40)).astype(np.float32),
        (rng.random(8) > 0.5).astype(np.float32),
    )
    mlp, names, seeds = M.MLP(n_in=40), ["mf", "ntk", "intermediate"], [4, 7]
    runs = T.Run(
        S.stack([S.preset(n) for _ in seeds for n in names]),
        jnp.full(6, 0.02, jnp.float32),
        jnp.zeros(6, jnp.float32),
        jnp.stack([jax.random.PRNGKey(s) for s in seeds for _ in names]),
    )
    shared = T.train_runs(mlp, 64, runs, data, n_steps=5, engine=engine, runs_per_key=3)
    for i, (seed, name) in enumerate((s, n) for s in seeds for n in names):
        one = T.train(mlp, 64, S.preset(name), data, key=jax.random.PRNGKey(seed), n_steps=5, engine=engine)
        np.testing.assert_allclose(shared.test_logits[i], one.test_logits, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="runs_per_key"):
        T.train_runs(mlp, 64, runs, data, n_steps=1, runs_per_key=4)


# ----------------------------------------------------------------------------------------- argument checks


def _run(n=2, **kw):
    base = dict(
        scaling=S.stack([S.preset("mf")] * n),
        ref_lr=jnp.full(n, 0.02, jnp.float32),
        init_corrected=jnp.zeros(n, jnp.float32),
        key=jnp.stack([jax.random.PRNGKey(i) for i in range(n)]),
    )
    return T.Run(**(base | kw))


def _with(data, **fields):
    return data._replace(**fields)


_GOOD = toy_data()
_EMPTY_TEST = _GOOD._replace(x_test=np.zeros((0, 5), np.float32), y_test=np.zeros(0, np.float32))
_BAD_CALLS = {
    "labels +-1": (dict(data=_with(_GOOD, y_train=2 * _GOOD.y_train - 1)), ValueError, "y_train"),
    "label column": (dict(data=_with(_GOOD, y_train=_GOOD.y_train[:, None])), ValueError, "y_train"),
    "one label": (dict(data=_with(_GOOD, y_train=_GOOD.y_train[:1])), ValueError, "y_train"),
    "test labels": (dict(data=_with(_GOOD, y_test=_GOOD.y_test + 2)), ValueError, "y_test"),
    "uint8 pixels": (dict(data=_with(_GOOD, x_train=np.full((6, 5), 200, np.uint8))), TypeError, "x_train"),
    "empty test set": (dict(data=_EMPTY_TEST), ValueError, "x_test"),
    "NaN input": (dict(data=_with(_GOOD, x_train=np.full((6, 5), np.nan, np.float32))), ValueError, "x_train"),
    "n_in mismatch": (dict(mlp=M.MLP(n_in=7)), ValueError, "n_in"),
    "negative lr": (dict(ref_lr=-0.02), ValueError, "ref_lr"),
    "zero lr": (dict(ref_lr=0.0), ValueError, "ref_lr"),
    "NaN lr": (dict(ref_lr=float("nan")), ValueError, "ref_lr"),
    "string lr": (dict(ref_lr="0.02"), TypeError, "ref_lr"),
    "n_kernel": (dict(n_kernel=-3), ValueError, "n_kernel"),
    "n_kernel zero": (dict(n_kernel=0), ValueError, "n_kernel"),
    "n_steps float": (dict(n_steps=2.0), TypeError, "n_steps"),
    "n_steps bool": (dict(n_steps=True), TypeError, "n_steps"),
    "huge width": (dict(width=2**33), ValueError, "width"),
    "zero width": (dict(width=0), ValueError, "width"),
    "ref_width": (dict(ref_width=0), ValueError, "ref_width"),
    "scaling": (dict(scaling="mf"), TypeError, "scaling"),
    "key": (dict(key=0), TypeError, "key"),
    "key shape": (dict(key=jnp.zeros(3, jnp.uint32)), TypeError, "key"),
    "init_corrected": (dict(init_corrected=1), TypeError, "init_corrected"),
    "engine": (dict(engine="fast"), ValueError, "engine"),
    "loss": (dict(loss="hinge"), ValueError, "loss"),
    "precision": (dict(precision="tf32"), ValueError, "precision"),
    "mlp": (dict(mlp="mlp"), TypeError, "mlp"),
    "data": (dict(data=_GOOD[:3]), TypeError, "data"),
}


@pytest.mark.parametrize("case", list(_BAD_CALLS))
def test_train_rejects_bad_arguments_by_name(case):
    change, error, name = _BAD_CALLS[case]
    kw = dict(mlp=M.MLP(n_in=5), width=8, scaling=S.preset("mf"), data=_GOOD, key=KEY, n_steps=1) | change
    with pytest.raises(error, match=name):
        T.train(kw.pop("mlp"), kw.pop("width"), kw.pop("scaling"), kw.pop("data"), **kw)


@pytest.mark.parametrize(
    ("runs", "kw", "error", "name"),
    [
        (_run(ref_lr=jnp.array([0.02, -0.02], jnp.float32)), {}, ValueError, "runs.ref_lr"),
        (_run(ref_lr=jnp.array([0.02, 0.0], jnp.float32)), {}, ValueError, "runs.ref_lr"),
        (_run(ref_lr=jnp.array([0.02, jnp.nan], jnp.float32)), {}, ValueError, "runs.ref_lr"),
        (_run(ref_lr=jnp.zeros((0,), jnp.float32)), {}, ValueError, "runs.ref_lr"),
        (_run(init_corrected=jnp.array([0.0, 0.5], jnp.float32)), {}, ValueError, "runs.init_corrected"),
        (_run(init_corrected=jnp.zeros(3, jnp.float32)), {}, ValueError, "runs.init_corrected"),
        (_run(key=jax.random.PRNGKey(0)), {}, ValueError, "runs.key"),
        (_run(), dict(runs_per_key=0), ValueError, "runs_per_key"),
        (_run(), dict(runs_per_key=3), ValueError, "runs_per_key"),
        (_run(), dict(n_steps=-1), ValueError, "n_steps"),
        (_run(), dict(width=2**33), ValueError, "width"),
        (_run()._asdict(), {}, TypeError, "runs"),
    ],
)
def test_train_runs_rejects_bad_arguments_by_name(runs, kw, error, name):
    args = dict(width=8, n_steps=1) | kw
    with pytest.raises(error, match=name):
        T.train_runs(M.MLP(n_in=5), args.pop("width"), runs, _GOOD, **args)


def test_make_run_rejects_bad_rates_before_wrapping_them():
    for lr in (-0.02, 0.0, float("inf")):
        with pytest.raises(ValueError, match="ref_lr"):
            T.make_run(S.preset("mf"), key=KEY, ref_lr=lr)
    with pytest.raises(TypeError, match="init_corrected"):
        T.make_run(S.preset("mf"), key=KEY, init_corrected="yes")
    assert float(T.make_run(S.preset("mf"), key=KEY, ref_lr=jnp.float32(0.5)).ref_lr) == 0.5


def test_losses_reject_mismatched_shapes():
    f = jnp.zeros(4)
    for fn in (T.logistic_loss, T.square_loss, T.accuracy):
        with pytest.raises(ValueError, match="logits and y"):
            fn(f, jnp.zeros((4, 1)))  # a label column would broadcast the loss to (4, 4)
    with pytest.raises(ValueError, match=r"lrs\['a'\]"):
        T.optimizer("gd", {"w": 0.1, "v": (), "a": -1.0})
    with pytest.raises(ValueError, match="n_train"):
        T.resolve_engine(M.MLP(n_in=5), "gd", 0)


def test_checks_run_on_concrete_arguments_and_train_runs_still_jits_inside_a_caller():
    """Under a caller's jit the values are tracers: shape checks still apply, value checks are skipped."""
    mlp, runs = M.MLP(n_in=5), _run()

    @jax.jit
    def losses(lr):
        return T.train_runs(mlp, 8, runs._replace(ref_lr=lr), _GOOD, n_steps=2).train_loss

    direct = T.train_runs(mlp, 8, runs, _GOOD, n_steps=2).train_loss
    np.testing.assert_allclose(losses(runs.ref_lr), direct, rtol=1e-6)


_TOY = D.toy_2d(16, 16)
_GOOD_WIDTHS = st.integers(1, 4)
_BAD_WIDTHS = st.one_of(
    st.integers(-3, 0), st.just(2**33), st.just(_validate.MAX_WIDTH + 1), st.floats(1, 8), st.booleans(), st.none()
)
_GOOD_STEPS, _BAD_STEPS = st.integers(0, 2), st.one_of(st.integers(-3, -1), st.floats(0, 3), st.booleans(), st.text())
_GOOD_KERNEL, _BAD_KERNEL = st.integers(1, 40), st.one_of(st.integers(-5, 0), st.floats(1, 5), st.booleans())
_GOOD_LR = st.floats(1e-4, 1e3)
_BAD_LR = st.one_of(
    st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf")), st.booleans(), st.just("0.02")
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_bad_scalar_arguments_always_raise_good_ones_always_train(data):
    """Some of width, n_steps, n_kernel, ref_lr are drawn bad (often none); any bad one raises, naming a bad one."""
    names = ("width", "n_steps", "n_kernel", "ref_lr")
    chosen = data.draw(st.sets(st.sampled_from(names), max_size=2), label="bad arguments")
    bad = {name: name in chosen for name in names}
    pick = {
        "width": (_BAD_WIDTHS, _GOOD_WIDTHS),
        "n_steps": (_BAD_STEPS, _GOOD_STEPS),
        "n_kernel": (_BAD_KERNEL, _GOOD_KERNEL),
        "ref_lr": (_BAD_LR, _GOOD_LR),
    }
    args = {name: data.draw(pick[name][0] if bad[name] else pick[name][1], label=name) for name in pick}
    event("trains" if not chosen else "raises")
    call = dict(key=KEY, n_steps=args["n_steps"], n_kernel=args["n_kernel"], ref_lr=args["ref_lr"])
    if any(bad.values()):
        with pytest.raises((TypeError, ValueError)) as err:
            T.train(M.MLP(n_in=3), args["width"], S.preset("mf"), _TOY, **call)
        assert any(name in str(err.value) for name, b in bad.items() if b), str(err.value)
    else:
        hist = T.train(M.MLP(n_in=3), args["width"], S.preset("mf"), _TOY, **call)
        assert hist.train_loss.shape == (args["n_steps"] + 1,)
        assert hist.kernel.shape == (args["n_steps"] + 1, 2, min(args["n_kernel"], 16))


# --- the public step-level API: TrainConfig, engine, record ---------------------------------------------------


def test_train_config_checks_and_overrides():
    cfg = T.TrainConfig(n_steps=3, loss="mse")
    assert cfg.replace(n_steps=4).n_steps == 4 and cfg.replace(n_steps=4).loss == "mse"
    with pytest.raises(ValueError, match="loss"):
        T.TrainConfig(loss="hinge")
    with pytest.raises(ValueError, match="n_steps"):
        T.TrainConfig(n_steps=-1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        T._config(None, {"n_step": 3})


def test_engine_steps_reproduce_train_and_record_sees_each_step():
    mlp = M.MLP(n_in=5)
    key = jax.random.PRNGKey(3)
    cfg = T.TrainConfig(n_steps=3, engine="direct")
    hist = T.train(mlp, 16, S.preset("mf"), _GOOD, cfg, key=key)
    eng = T.engine(mlp, 16, T.make_run(S.preset("mf"), key=key), _GOOD, cfg)
    state, losses = eng.init(), []
    for _ in range(4):
        step = eng.observe(state)
        losses.append(float(step.metrics["train_loss"]))
        state = eng.update(state, step)
    np.testing.assert_allclose(losses, np.asarray(hist.train_loss), rtol=1e-6)

    def record(info):  # the update applied at step k and the loss it saw
        return dict(
            k=info.step, move=jnp.abs(info.next_params["a"] - info.params["a"]).max(), loss=info.metrics["train_loss"]
        )

    hist2, rec = T.train(mlp, 16, S.preset("mf"), _GOOD, cfg, key=key, record=record)
    np.testing.assert_array_equal(np.asarray(rec["k"]), np.arange(4))
    np.testing.assert_array_equal(np.asarray(rec["loss"]), np.asarray(hist2.train_loss))
    assert np.all(np.asarray(rec["move"]) > 0)


def test_gram_engine_params_are_the_direct_engines():
    mlp = M.MLP(n_in=5)
    run = T.make_run(S.preset("ntk"), key=jax.random.PRNGKey(1))
    direct = T.engine(mlp, 8, run, _GOOD, T.TrainConfig(engine="direct"))
    gram = T.engine(mlp, 8, run, _GOOD, T.TrainConfig(engine="gram"))
    s_d, s_g = direct.init(), gram.init()
    for _ in range(2):
        s_d, s_g = direct.update(s_d, direct.observe(s_d)), gram.update(s_g, gram.observe(s_g))
    p_d, p_g = direct.params(s_d), gram.params(s_g)
    np.testing.assert_allclose(np.asarray(p_g["w"]), np.asarray(p_d["w"]), atol=1e-5)
    np.testing.assert_allclose(np.asarray(p_g["a"]), np.asarray(p_d["a"]), atol=1e-6)


def test_record_rejects_the_gram_engine_and_non_callables():
    mlp = M.MLP(n_in=5)
    with pytest.raises(ValueError, match="record"):
        T.train(mlp, 8, S.preset("mf"), _GOOD, key=jax.random.PRNGKey(0), n_steps=1, engine="gram", record=lambda i: 0)
    with pytest.raises(TypeError, match="record"):
        T.train(mlp, 8, S.preset("mf"), _GOOD, key=jax.random.PRNGKey(0), n_steps=1, record=3)
