"""Per-layer records of deep nets: the record hook against a hand-written training loop, the statistics at
initialisation against their exact formula, the eps crossover on a known power law, labelled selection."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import layer_dynamics as LD
from widthlimits import losses, optimizers
from widthlimits import models as M
from widthlimits import scalings as S
from widthlimits.data import Dataset

MLP3 = M.MLP(depth=3, n_in=6)
#: float32 records of two compilations of the same float32 trajectory: sums of <= 50 terms, each off by an ulp
#: or so, and three steps that pass a perturbation on with O(1) gain: about 100 ulps (2**-23 ~ 1.2e-7) at most.
RTOL = 1e-5


def toy(n=5, n_probe=4, n_in=6, seed=0):
    rng = np.random.default_rng(seed)
    x, xp = (rng.normal(size=(k, n_in)).astype(np.float32) for k in (n, n_probe))
    return Dataset(x, np.array([0, 1, 1, 0, 1][:n], np.float32), xp, np.zeros(n_probe, np.float32))


def reference_records(mlp, width, scaling, data, key, n_steps):
    """The chapter's former loop, one run: GD or RMSProp through a switch on the unit-rate RMSProp update, and
    the records written out in float64 NumPy from the float32 parameters (an independent implementation)."""
    hp = S.hyperparams(scaling, width)
    p_ref = M.init_reference(mlp, width, key=key)
    p = {"w": p_ref["w"], "v": tuple(hp.init_factor * v for v in p_ref["v"]), "a": hp.init_factor * p_ref["a"]}
    p0, n_v = p, mlp.depth - 1
    sigma = float(hp.init_factor) / np.sqrt(3.0 * width)
    lrs = {"w": hp.lr_w, "v": (hp.lr_v,) * n_v, "a": hp.lr_a}
    rms_tx = optimizers.optimizer("rmsprop", {"w": 1.0, "v": (1.0,) * n_v, "a": 1.0})
    state, is_rms = rms_tx.init(p), scaling.optimizer == "rmsprop"
    x, y, xp, _ = data
    layers = lambda q: [np.asarray(m, np.float64) for m in (q["w"], *q["v"], q["a"])]  # noqa: E731

    def hat(q):
        return np.array([np.linalg.norm(q[0], axis=1).mean(), *(np.abs(m).mean() / sigma for m in q[1:])])

    def forward(q):  # learned parts (against p0) and pre-activations on the probe inputs, then the logit
        learned, full, z = [], [], np.asarray(xp, np.float64)
        for m, m0 in zip(layers(q)[:-1], layers(p0)[:-1]):
            learned.append(z @ (m - m0).T)
            full.append(z @ m.T)
            z = np.where(full[-1] > 0, full[-1], 0.1 * full[-1])
        return learned, full, z @ layers(q)[-1]

    f0 = forward(p0)[2]

    def parts(q):  # (L+1,) RMS each
        learned, full, f = forward(q)
        rms = lambda hs: np.array([np.sqrt(np.mean(h**2)) for h in hs])  # noqa: E731
        return rms([*learned, f - f0]), rms([*full, f])

    out = {f: [] for f in LD.FIELDS} | {"bound": []}
    for _ in range(n_steps + 1):
        loss, g = jax.value_and_grad(lambda q: losses.logistic_loss(M.apply_batch(mlp, q, x), y))(p)
        u_rms, state = rms_tx.update(g, state, p)
        u = jax.tree.map(lambda ur, gi, lr: lr * (ur if is_rms else -gi), u_rms, g, lrs)
        nxt = jax.tree.map(jnp.add, p, u)
        learned, full = parts(p)
        g64 = layers(g)
        r = [np.abs(q) / (np.abs(q) + optimizers.RMSPROP_EPS_SCALE) for q in g64]
        rec = dict(loss=float(loss), step=hat(layers(u)), dist=hat([a - b for a, b in zip(layers(p), layers(p0))]),
                   learned=learned, full=full, log_grad=np.array([np.mean(np.log(np.abs(q))) for q in g64]),
                   eps_factor=np.array([np.sqrt((r[0] ** 2).mean(1)).mean(), *(q.mean() for q in r[1:])]))
        # next_params - params differs from u by the round-off of p + u: at most half an ulp of p + u per entry
        rec["bound"] = hat([np.asarray(np.spacing(np.abs(np.asarray(q))), np.float64) / 2 for q in layers(nxt)])
        for f, v in rec.items():
            out[f].append(v)
        p = nxt
    return {f: np.array(v) for f, v in out.items()}


@pytest.mark.parametrize("optimizer", ["gd", "rmsprop"])
def test_record_hook_reproduces_the_hand_written_loop(optimizer):
    data, width, seeds, n_steps = toy(), 8, (0, 3), 3
    scaling = S.preset("mf", optimizer=optimizer)
    rec = LD.train_recorded(MLP3, width, scaling, data, seeds=seeds, n_steps=n_steps)
    for i, seed in enumerate(seeds):
        ref = reference_records(MLP3, width, scaling, data, jax.random.PRNGKey(seed), n_steps)
        for f in LD.FIELDS:
            assert rec[f][i].shape == ref[f].shape, f
            slack = ref["bound"] if (f == "step" and optimizer == "rmsprop") else 0.0
            slack = np.where(np.arange(n_steps + 1)[:, None] == 0, 0.0, slack)  # step 0 is recomputed exactly
            err = np.abs(rec[f][i] - ref[f]) - slack
            # f - f0 is a difference of two float32 logits: its round-off is relative to the logit itself
            scale = np.maximum(np.abs(ref[f]), ref["full"]) if f == "learned" else np.abs(ref[f])
            assert np.all(err <= RTOL * scale + 1e-12), (f, rec[f][i], ref[f])
        assert np.all(rec["learned"][i][0] == 0) and np.all(rec["dist"][i][0] == 0)


def test_first_rmsprop_move_is_the_sign_move_times_the_eps_factor():
    data, width = toy(), 8
    rec = LD.train_recorded(MLP3, width, S.preset("mf", optimizer="rmsprop"), data, seeds=(0,), n_steps=1)
    hp = S.hyperparams(S.preset("mf", optimizer="rmsprop"), width)
    sigma = float(hp.init_factor) / np.sqrt(3 * width)
    sign = 10 * np.array([float(hp.lr_w) * np.sqrt(MLP3.n_in), *[float(hp.lr_v) / sigma] * 2, float(hp.lr_a) / sigma])
    np.testing.assert_allclose(rec["step"][0, 0], sign * rec["eps_factor"][0, 0], rtol=RTOL)


def test_init_mean_squares_match_the_exact_formula():
    """Monte Carlo over 400 draws: the seed mean of measured / exact is 1 within 4 standard errors."""
    mlp, width, scaling = M.MLP(depth=3, n_in=20), 16, S.preset("mf")
    x = np.random.default_rng(1).normal(size=(8, 20)).astype(np.float32)
    ms = LD.init_mean_squares(mlp, width, scaling, x, seeds=range(400))
    assert ms.shape == (2, 400, 4)
    x_sq = np.mean(np.sum(x.astype(np.float64) ** 2, axis=1))
    for j, init in enumerate(LD.INITS):
        ratio = ms[j] / LD.exact_mean_squares(mlp, width, scaling, x_sq, init=init)
        z = (ratio.mean(0) - 1) / (ratio.std(0, ddof=1) / np.sqrt(len(ratio)))
        assert np.all(np.abs(z) < 4), (init, z)


def test_exact_mean_squares_closed_form():
    mlp, x_sq = M.MLP(depth=2, n_in=10), 5.0
    mf = LD.exact_mean_squares(mlp, 256, S.preset("mf"), x_sq)  # kappa = 1.01/2 * 128/(3*256)
    kappa = 0.505 * 128 / (3 * 256)
    np.testing.assert_allclose(mf, [x_sq / 30, x_sq / 30 * kappa, x_sq / 30 * kappa**2], rtol=1e-12)
    mup = LD.exact_mean_squares(mlp, 256, S.preset("mf"), x_sq, init="pytorch")
    np.testing.assert_allclose(mup, [x_sq / 30, x_sq / 30 * 0.505 / 3, x_sq / 30 * 0.505 / 3 * kappa], rtol=1e-12)
    with pytest.raises(ValueError, match="init"):
        LD.exact_mean_squares(mlp, 256, S.preset("mf"), x_sq, init="mup")
    with pytest.raises(ValueError, match="activation"):
        LD.exact_mean_squares(M.MLP(activation="tanh"), 256, S.preset("mf"), x_sq)


def test_eps_half_width_on_a_known_power_law():
    """g = c d^-1 with c = 1e-7 * 2^12 crosses eps / sqrt(1 - a) at d = 2^12; 1% seed noise moves the fit by
    about 0.01/ln 2 / (4 octaves) ~ 0.004 octaves."""
    widths = [64, 128, 256, 512, 1024]
    noise = 1 + 0.01 * np.random.default_rng(0).standard_normal((5, 6))
    g = optimizers.RMSPROP_EPS_SCALE * 2.0**12 / np.array(widths)[:, None] * noise
    value, err = LD.eps_half_width(widths, g)
    assert abs(value - 12) < 0.05 and 0 < err < 0.05
    assert LD.eps_half_width(widths, np.ones((5, 6))) == (np.inf, np.nan) or np.isinf(
        LD.eps_half_width(widths, np.ones((5, 6)))[0])
    with pytest.raises(ValueError, match="samples"):
        LD.eps_half_width(widths, -g)


def test_record_depths_labels_and_selection():
    rng = np.random.default_rng(0)
    data = Dataset(rng.normal(size=(4, 3072)).astype(np.float32), np.array([0, 1, 0, 1], np.float32),
                   rng.normal(size=(3, 3072)).astype(np.float32), np.zeros(3, np.float32))
    variants = {"GD": S.preset("mf"), "RMSProp": S.preset("mf", optimizer="rmsprop")}
    recs = LD.record_depths((2,), (4, 8), variants, data, seeds=(0, 1), init_seeds=(5, 6, 7), n_steps=2)
    assert recs.finite()
    assert recs.sel("step", depth=2, variant="GD").shape == (2, 2, 3, 3)
    assert recs.sel("step", depth=2, variant="GD", step=1, layer=0).shape == (2, 2)
    assert recs.sel("loss", depth=2, variant="RMSProp", step=range(1, 3)).shape == (2, 2, 2)
    assert recs.init(2, "pytorch").shape == (2, 3, 3)
    one = LD.train_recorded(M.MLP(depth=2), 8, variants["RMSProp"], data, seeds=(0, 1), n_steps=2)
    np.testing.assert_array_equal(recs.sel("full", depth=2, variant="RMSProp")[1], one["full"])
    with pytest.raises(ValueError, match="depth"):
        recs.sel("step", depth=3, variant="GD")
    with pytest.raises(ValueError, match="variant"):
        recs.sel("step", depth=2, variant="Adam")
    with pytest.raises(ValueError, match="layer"):
        recs.sel("loss", depth=2, variant="GD", layer=0)
    with pytest.raises(ValueError, match="field"):
        recs.sel("kernel", depth=2, variant="GD")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="optimizer_name"):
        LD.record_hook(MLP3, "adam")
    with pytest.raises(ValueError, match="seeds"):
        LD.train_recorded(MLP3, 8, S.preset("mf"), toy(), seeds=(0, 0), n_steps=1)
    with pytest.raises(TypeError, match="variants"):
        LD.record_depths((1,), (8,), {}, toy(), seeds=(0,), init_seeds=(0,), n_steps=1)
    assert LD.record_hook(MLP3, "gd") is LD.record_hook(M.MLP(depth=3, n_in=6), "gd")  # one compilation


# --- exponents and predictions on synthetic records with known power laws ---

WIDTHS = (64, 128, 256, 512)


def synthetic(depth=2, n_seeds=6, n_steps=2, noise=0.01, seed=0):
    """Records whose every field is ``c_l d^{p_l}`` times (1 + noise) per seed, with ``p_l = -l/2`` per layer,
    and statistics at init equal to the exact mean squares times the same kind of noise."""
    rng = np.random.default_rng(seed)
    p = -np.arange(depth + 1) / 2
    runs, at_init = {}, {}
    mlp, mf = M.MLP(depth=depth), S.preset("mf")
    for w in WIDTHS:
        base = 0.3 * w**p * np.ones((n_seeds, n_steps + 1, depth + 1))
        for v in ("GD", "RMSProp"):
            vals = base * (1 + noise * rng.standard_normal(base.shape))
            runs[depth, w, v] = {f: vals for f in ("step", "dist", "learned", "full", "eps_factor")}
            runs[depth, w, v] |= {"log_grad": np.log(base), "loss": np.full((n_seeds, n_steps + 1), 0.6)}
        exact = np.stack([LD.exact_mean_squares(mlp, w, mf, 2.0, init=i) for i in LD.INITS])  # (2, L+1)
        at_init[depth, w] = exact[:, None, :] * (1 + noise * rng.standard_normal((2, 50, depth + 1)))
    return LD.Records((depth,), WIDTHS, ("GD", "RMSProp"), tuple(range(n_seeds)), n_steps, runs, at_init)


def test_exponents_recover_known_power_laws():
    """1% seed noise over 3 octaves moves a slope by about 0.01/sqrt(6)/ln 2/3 ~ 0.002: tolerance 0.02."""
    recs = synthetic()
    for step in (1, range(3)):
        fits = LD.exponents(recs, "step", depth=2, variant="GD", step=step)
        np.testing.assert_allclose([f.slope for f in fits], [0, -0.5, -1], atol=0.02)
        assert all(0 < f.stderr < 0.02 for f in fits)
    only = LD.exponents(recs, "learned", depth=2, variant="RMSProp", step=0, layers=[2])
    assert len(only) == 1 and abs(only[0].slope + 1) < 0.02
    np.testing.assert_allclose(recs.sel("grad", depth=2, variant="GD"), np.exp(recs.sel("log_grad", depth=2,
                                                                                      variant="GD")))


def test_gd_equivalent_adds_the_rate_minus_hat_exponent():
    recs = synthetic()  # geometric-mean gradients exactly 0.3 d^{-l/2}: slopes 0, -1/2, -1 to round-off
    np.testing.assert_allclose(LD.gd_equivalent(recs, 2, "GD", 1), [1.0, 0.5, -1.0], atol=1e-9)


def test_init_statistics_on_the_exact_formula():
    """At the exact mean squares the RMS exponents are the power-counting ones (to round-off), and 1% noise on
    50 seeds gives z-scores that are standard normal (24 of them: max below 4.5 but for 1 case in 10^4)."""
    recs = synthetic()
    for init in LD.INITS:
        fits = LD.init_exponents(recs, 2, init)
        np.testing.assert_allclose([f.slope for f in fits], LD.power_counting("init_rms", 2, init), atol=2e-3)
    assert LD.init_z_max(recs, 2, S.preset("mf"), 2.0) < 4.5
    assert LD.init_z_max(recs, 2, S.preset("mf"), 2.0 * 1.05) > 10  # a 5% bias is seen


def test_power_counting_closed_forms():
    assert LD.power_counting("first_move", 3, "GD") == [-1.0, -0.5, -0.5, -1.0]
    assert LD.power_counting("first_move", 3, "RMSProp") == [0.0] * 4
    assert LD.power_counting("grad", 3) == [-2.0, -1.5, -1.5, -1.0]
    assert LD.power_counting("learned_gd", 3) == [-1.0, -0.5, -1.0]
    assert LD.power_counting("init_rms", 3, "scaled") == [0.0, -0.5, -1.0, -1.5]
    assert LD.power_counting("init_rms", 3, "pytorch") == [0.0, 0.0, 0.0, -0.5]
    with pytest.raises(ValueError, match="quantity"):
        LD.power_counting("loss", 3)
    with pytest.raises(ValueError, match="variant"):
        LD.power_counting("first_move", 3, "Adam")


def test_rmsprop_move_bounds_are_the_sign_move_in_hat_units():
    """The bound is width-free and equals the sign move 10 eta (row norm of W, |dV|/sigma, |da|/sigma)."""
    for width in (32, 128, 512):
        hp = S.hyperparams(S.preset("mf", optimizer="rmsprop"), width)
        sigma = float(hp.init_factor) / np.sqrt(3 * width)
        sign = 10 * np.array([float(hp.lr_w) * np.sqrt(3072), float(hp.lr_v) / sigma, float(hp.lr_a) / sigma])
        bounds = LD.rmsprop_move_bounds(2, n_in=3072, ref_lr=S.REF_LR["rmsprop"])
        np.testing.assert_allclose(bounds, sign, rtol=1e-6)
    with pytest.raises(ValueError, match="ref_lr"):
        LD.rmsprop_move_bounds(2, n_in=3072, ref_lr=0.0)


def test_record_statistics_reject_bad_arguments():
    recs = synthetic()
    with pytest.raises(TypeError, match="records"):
        LD.exponents({"step": 1}, "step", depth=2, variant="GD", step=0)
    with pytest.raises(ValueError, match="depth"):
        LD.gd_equivalent(recs, 3, "GD", 0)
    with pytest.raises(ValueError, match="variant"):
        LD.exponents(recs, "step", depth=2, variant="Adam", step=0)
    with pytest.raises(TypeError, match="records"):
        LD.init_z_max(None, 2, S.preset("mf"), 1.0)
