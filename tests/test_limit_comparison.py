"""Nets against limits: the Monte-Carlo-corrected distance, the learned part, W2, the comparison across rates."""

import jax
import numpy as np
import pytest

from widthlimits import limit_comparison as LC
from widthlimits import limits as Lim
from widthlimits import losses
from widthlimits import models as M
from widthlimits.data import Dataset

KEY = jax.random.PRNGKey(0)


def traj(test_logits):
    t = np.asarray(test_logits, np.float32)
    z = np.zeros(t.shape[0], np.float32)
    return Lim.Trajectory(z, z, z, z, t, np.int32(-1))


def test_distance_to_proxy_removes_the_clouds_monte_carlo_variance():
    """Limit f, clouds f + N(0, s^2), nets f + N(0, t^2): sq_err -> t^2, mc_var -> s^2 / 2. Averages over 4000
    points: a variance estimate has relative s.e. sqrt(2/4000) ~ 2%, so 10% is five of them."""
    rng = np.random.default_rng(0)
    f = rng.normal(size=(3, 4000))  # (T+1, n)
    s, t = 0.3, 0.2
    clouds = [traj(f + s * rng.normal(size=f.shape)) for _ in range(2)]
    nets = f + t * rng.normal(size=(2, 5, *f.shape))
    d = LC.distance_to_proxy(nets.astype(np.float32), clouds)
    np.testing.assert_allclose(d.mc_var, s**2 / 2, rtol=0.1)
    np.testing.assert_allclose(d.sq_err, t**2, rtol=0.1)
    assert d.pooled.shape == d.initial.shape == (2, 5) and d.rms_by_step.shape == (2, 3)
    np.testing.assert_allclose(d.pooled, t, rtol=0.1)
    with pytest.raises(TypeError, match="proxies"):
        LC.distance_to_proxy(nets, clouds[:1])
    with pytest.raises(ValueError, match="shape"):
        LC.distance_to_proxy(nets[..., :10], clouds)


def test_learned_part_error_and_w2_in_closed_form():
    steps = np.arange(4.0)[None, :, None]
    ref = np.repeat(0.5 + 0.1 * steps * np.ones((1, 1, 6)), 3, axis=0)  # three identical seeds
    assert LC.learned_part_error(ref, ref[:1]) == pytest.approx(0.0, abs=1e-12)
    shifted = ref[:1] + 0.2 * (steps > 0)  # learns 0.2 more at every step k >= 1
    assert LC.learned_part_error(ref, shifted) == pytest.approx(0.2, rel=1e-9)
    rng = np.random.default_rng(1)
    r = rng.normal(0.0, 1.0, size=(20000, 5))
    m = rng.normal(0.5, 2.0, size=(20000, 5))
    # W2 of N(0.5, 4) and N(0, 1) is sqrt(0.25 + 1); sampling error of the moments ~ 1e-2
    assert LC.w2_to_ref(m, r, random_limit=True) == pytest.approx(np.sqrt(1.25), rel=0.02)
    assert LC.w2_to_ref(m, r, random_limit=False) == pytest.approx(np.sqrt(0.25 + 1.0), rel=0.03)  # spread 0: |0-1|


def fake_limits(rng, lrs, names=("MF", "NTK", "intermediate"), k=4, s=6, steps=3, n=5):
    ref = {lr: rng.normal(size=(s, steps, n)) for lr in lrs}
    lim = {lr: {nm: rng.normal(size=(k if nm != "intermediate" else 1, steps, n)) for nm in names} for lr in lrs}
    return ref, lim


def test_compare_limits_is_the_direct_computation_with_one_resample_set_per_rate():
    rng = np.random.default_rng(2)
    lrs = (0.01, 0.1)
    ref, lim = fake_limits(rng, lrs)
    cmp = LC.compare_limits(ref, lim, n_boot=50, seed=3)
    draws = np.random.default_rng(3)
    for lr in lrs:
        boots = draws.integers(0, 6, size=(50, 6))
        for nm in ("MF", "NTK", "intermediate"):
            vals = [LC.learned_part_error(ref[lr], lim[lr][nm], b) for b in boots]
            np.testing.assert_array_equal(cmp.learned_boot[lr, nm], vals)
            assert cmp.learned[lr, nm] == LC.learned_part_error(ref[lr], lim[lr][nm])
            assert cmp.learned_se[lr, nm] == pytest.approx(np.std(vals))
            last = LC.w2_to_ref(lim[lr][nm][:, -1], ref[lr][:, -1], random_limit=nm == "NTK")
            assert cmp.w2_last[lr, nm] == last
    with pytest.raises(ValueError, match="learning rates"):
        LC.compare_limits(ref, {0.01: lim[0.01]})
    with pytest.raises(ValueError, match="limits"):
        LC.compare_limits(ref, {lr: {"MF": lim[lr]["MF"]} if lr == 0.1 else lim[lr] for lr in lrs})


def test_crossover_and_its_phrase():
    table = {(0.1, "MF"): 2.0, (0.1, "NTK"): 1.0, (0.2, "MF"): 0.5, (0.2, "NTK"): 1.0, (0.4, "MF"): 0.5}
    table[0.4, "NTK"] = 1.0
    cmp = LC.LimitComparison((0.1, 0.2, 0.4), ("MF", "NTK"), {}, {}, {}, {}, table)
    assert cmp.crossover() == (0.2, True)
    assert cmp.where_closer() == "the MF limit is closer from $\\eta^* = 0.2$ on"
    table[0.4, "MF"] = 3.0
    assert cmp.crossover() == (0.2, False) and "not at every larger rate" in cmp.where_closer()
    never = LC.LimitComparison((0.1,), ("MF", "NTK"), {}, {}, {}, {}, {(0.1, "MF"): 2.0, (0.1, "NTK"): 1.0})
    # None: MF is never closer, which is "monotone" vacuously
    assert never.crossover() == (None, True) and "NTK limit is closer at every rate" in never.where_closer()
    with pytest.raises(ValueError, match="dist"):
        cmp.crossover("kl")


def test_limit_divergences_treat_the_deterministic_limits_as_point_masses():
    rng = np.random.default_rng(4)
    ref = rng.normal(size=(400, 2, 8))
    lim = {"NTK": rng.normal(size=(400, 2, 8)), "MF": rng.normal(size=(2, 2, 8))}
    dv = LC.limit_divergences(lim, ref)
    assert dv["MF"]["gauss_kl"] == np.inf and dv["MF"]["beta_kl"] == np.inf
    assert dv["NTK"]["gauss_kl"] < 0.05  # same law; KL of fitted normals from 400 seeds ~ 1/400 per point
    assert dv["MF"]["w2_spread"] == pytest.approx(1.0, rel=0.1)


def test_test_losses_are_the_logistic_loss():
    rng = np.random.default_rng(5)
    y = np.tile([0.0, 1.0], 5).astype(np.float32)
    logits = rng.normal(size=(3, 4, 10)).astype(np.float32)
    expected = np.vectorize(lambda i, j: float(losses.logistic_loss(logits[i, j], y)))(*np.indices((3, 4)))
    np.testing.assert_allclose(LC.mean_test_loss(logits, y), expected, rtol=1e-6)
    gaps, se = LC.test_loss_gaps(logits, {"same": logits, "other": logits + 1.0}, y)
    assert gaps["same"] == 0.0 and gaps["other"] > 0
    assert se == pytest.approx(LC.mean_test_loss(logits, y).std(0, ddof=1).mean() / np.sqrt(3))
    with pytest.raises(ValueError, match="y"):
        LC.mean_test_loss(logits, y[:3])


def test_three_limits_stack_the_limit_models():
    rng = np.random.default_rng(6)
    x, xt = rng.normal(size=(8, 20)).astype(np.float32), rng.normal(size=(4, 20)).astype(np.float32)
    data = Dataset(x, np.tile([0.0, 1.0], 4).astype(np.float32), xt, np.array([0.0, 1.0, 0.0, 1.0], np.float32))
    mlp = M.MLP(n_in=20)
    k = Lim.limit_kernels(mlp, data)
    gp = Lim.gp_logits(k, key=KEY, n_samples=3)
    clouds = Lim.mf_clouds(mlp, data, 32, seeds=(0, 1), n_steps=2, ref_lr=0.1)
    out = LC.three_limits(k, data, gp, clouds, ref_lr=0.1, n_steps=2)
    assert {nm: v.shape for nm, v in out.items()} == {"MF": (2, 3, 4), "NTK": (3, 3, 4), "intermediate": (1, 3, 4)}
    np.testing.assert_array_equal(out["NTK"][1], Lim.kernel_limit(k, data, n_steps=2, f0=gp[1], ref_lr=0.1).test_logits)
    np.testing.assert_array_equal(out["MF"][0], clouds[0].test_logits)
    with pytest.raises(TypeError, match="mf_runs"):
        LC.three_limits(k, data, gp, [], ref_lr=0.1, n_steps=2)


def test_w2_noise_var_is_subtracted_from_the_spread_and_w2_difference_pairs_draws():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(400, 3000))  # spread 1
    noisy = rng.normal(size=(400, 3000)) * np.sqrt(1.0 + 0.44)  # spread 1 plus noise of variance 0.44
    assert LC.w2_to_ref(noisy, ref, random_limit=True) == pytest.approx(0.2, abs=0.02)  # |1.2 - 1|
    assert LC.w2_to_ref(noisy, ref, random_limit=True, noise_var=np.full(3000, 0.44)) < 0.1  # floor: spread noise
    lim = {"IC-MF": noisy[:50, None].repeat(2, 1), "NTK": ref[:80, None].repeat(2, 1)}
    lim["MF"] = 0 * ref[:2, None].repeat(2, 1)
    r = ref[100:140, None].repeat(2, 1)
    d, se = LC.w2_difference(lim, r, "IC-MF", "MF", step=1, n_boot=20)
    direct = LC.w2_to_ref(lim["IC-MF"][:, 1], r[:, 1], random_limit=True) - LC.w2_to_ref(
        lim["MF"][:, 1], r[:, 1], random_limit=False)
    assert d == pytest.approx(direct) and se > 0
    d2, _ = LC.w2_difference(lim, r, "IC-MF", "NTK", step=0, n_boot=20)
    direct2 = LC.w2_to_ref(lim["IC-MF"][:, 0], r[:, 0], random_limit=True) - LC.w2_to_ref(
        lim["NTK"][:50, 0], r[:, 0], random_limit=True)  # NTK with as many samples as IC-MF
    assert d2 == pytest.approx(direct2)
    with pytest.raises(ValueError, match="a and b"):
        LC.w2_difference(lim, r, "IC-MF", "SP", step=0)
