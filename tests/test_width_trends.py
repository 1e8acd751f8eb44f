"""Statistics of sweeps against width: closed forms on sweeps of known numbers, and Monte Carlo for the errors."""

import numpy as np
import pytest

from widthlimits import measure, training
from widthlimits import width_trends as W
from widthlimits.results_files import Sweep

WIDTHS = (128, 256, 512, 1024, 2048)


def make_sweep(values, *, hat=None, families=("MF", "NTK"), widths=WIDTHS, lrs=(None,)):
    """A Sweep whose four scalar records all equal ``values (W, K, L, S, T+1)``; ``hat`` the per-layer moves."""
    values = np.asarray(values, dtype=float)
    n_s, n_t = values.shape[3:]
    fields = dict.fromkeys(training.History._fields)
    fields.update(train_loss=values, test_loss=values, train_acc=values, test_acc=values, hat_distance=hat)
    fields["nonfinite_step"] = np.full(values.shape[:4], -1)
    return Sweep(tuple(widths), tuple(families), tuple(lrs), tuple(range(n_s)), n_t - 1, training.History(**fields))


def power_sweep(exponents, z, *, offset=0.4, n_steps=3):
    """Final values ``offset + d^p z_s`` (family ``k`` with exponent ``exponents[k]``), constant over steps."""
    d = np.asarray(WIDTHS, dtype=float)[:, None, None, None, None]
    p = np.asarray(exponents, dtype=float)[None, :, None, None, None]
    zz = np.asarray(z, dtype=float)[None, None, None, :, None]
    return make_sweep(offset + d**p * zz + 0 * np.zeros(n_steps + 1))


def test_seed_spread_recovers_an_exact_power_law():
    # s_d = d^p std(z) exactly, so log2 s_d is linear in log2 d: the fit is exact up to rounding (~1e-12).
    z = np.array([-1.0, 0.3, 0.5, 1.2, -0.7])
    sw = power_sweep([-0.5, 0.0], z)
    for family, p in [("MF", -0.5), ("NTK", 0.0)]:
        sp = W.seed_spread(sw, "test_loss", family)
        np.testing.assert_allclose(sp.std, np.asarray(WIDTHS) ** p * z.std(ddof=1), rtol=1e-9)
        assert sp.widths == WIDTHS and abs(sp.fit.slope - p) < 1e-9 and sp.fit.stderr < 1e-9
    with pytest.raises(ValueError, match="at least 2 seeds"):
        W.seed_spread(power_sweep([0.0, 0.0], [1.0]), "test_loss", "MF")


def test_mean_change_exact_and_its_standard_error_by_monte_carlo():
    v = np.zeros((2, 1, 1, 3, 2))
    v[0, 0, 0, :, -1], v[1, 0, 0, :, -1] = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    change, se = W.mean_change(make_sweep(v, families=("MF",), widths=(64, 128)), "test_acc", "MF")
    assert change == pytest.approx(2.0) and se == pytest.approx(np.sqrt((1.0 + 4.0) / 3))
    # With equal means, E[change^2] = Var(mean_2 - mean_1) = (s1^2 + s2^2) / S, the square of the error the
    # function reports on average (E[s^2] = sigma^2). R replications: both sides carry a relative Monte Carlo
    # error of about sqrt(2 / R) = 3%; 15% is five of those.
    rng = np.random.default_rng(0)
    sig, n_seeds, reps = np.array([0.3, 0.1]), 5, 2000
    sq, se2 = [], []
    for _ in range(reps):
        v = np.zeros((2, 1, 1, n_seeds, 2))
        v[:, 0, 0, :, -1] = 0.5 + sig[:, None] * rng.standard_normal((2, n_seeds))
        change, se = W.mean_change(make_sweep(v, families=("MF",), widths=(64, 128)), "test_loss", "MF")
        sq.append(change**2)
        se2.append(se**2)
    truth = (sig**2).sum() / n_seeds
    assert np.mean(sq) == pytest.approx(truth, rel=0.15) and np.mean(se2) == pytest.approx(truth, rel=0.15)
    one = make_sweep(np.zeros((2, 1, 1, 1, 2)), families=("MF",), widths=(64, 128))
    assert np.isnan(W.mean_change(one, "test_loss", "MF")[1])
    with pytest.raises(ValueError, match="at least 2 widths"):
        W.mean_change(make_sweep(np.zeros((1, 1, 1, 2, 2)), families=("MF",), widths=(64,)), "test_loss", "MF")


def test_paired_difference_leaves_out_step_zero():
    k = np.array([0.1, 0.3, 0.2, 0.6])  # per-seed offset over steps 1..T; step 0 is far off and must not count
    b = np.tile(np.linspace(0.7, 0.4, 6), (4, 1))
    a = b + k[:, None]
    a[:, 0] += 10.0
    mean, se = W.paired_difference(a, b)
    assert mean == pytest.approx(k.mean()) and se == pytest.approx(k.std(ddof=1) / 2)
    with pytest.raises(ValueError, match="same >= 2 seeds"):
        W.paired_difference(a, b[:, :-1])
    with pytest.raises(ValueError, match="T >= 1"):
        W.paired_difference(a[:, :1], b[:, :1])


def test_curve_gap_and_mean_standard_error():
    curves = np.array([[5.0, 1.0, 2.0, 3.0], [-5.0, 3.0, 2.0, 5.0]])  # seed mean 0, 2, 2, 4
    target = np.array([9.0, 1.0, 3.0, 4.0])
    assert W.curve_gap(curves, target) == pytest.approx((1 + 1 + 0) / 3)
    # seed s.e. per step: |difference| / 2 for two seeds (sd = |diff| / sqrt 2, divided by sqrt 2)
    assert W.mean_standard_error(curves) == pytest.approx((1 + 0 + 1) / 3)
    assert W.curve_gap(curves.astype(np.float32), target.astype(np.float32)) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="target must have shape"):
        W.curve_gap(curves, target[1:])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        W.mean_standard_error(curves[:1])


def test_reference_gaps_exact_summaries_and_bootstrap_errors():
    ref = np.tile([0.7, 0.5, 0.4, 0.3], (4, 1))  # (seed, step), no seed noise
    shift = np.array([0.02, 0.01, 0.0, 0.005])  # a family whose gap is largest at step 0, as MF's zero start
    g = W.reference_gaps(ref + shift, ref)
    assert (g.final, g.sup, g.argmax) == pytest.approx((0.005, 0.02, 0)) and g.mean == pytest.approx(0.00875)
    # identical seeds: every resample gives the same gaps, up to float64 round-off of a mean of 4
    assert max(g.final_se, g.mean_se, g.sup_se) < 1e-15
    # Seed noise that is the same in family and reference cancels: the bootstrap pairs the seeds.
    noise = np.random.default_rng(1).normal(0, 0.1, (4, 1))
    assert W.reference_gaps(ref + shift + noise, ref + noise).final_se == pytest.approx(0.0, abs=1e-12)
    # Unpaired noise of sd 0.01 per seed: the s.e. of the final gap is about 0.01 sqrt(2 / S).
    rng = np.random.default_rng(2)
    base = np.tile(ref[0], (400, 1))
    a, r = base + 1.0 + rng.normal(0, 0.01, base.shape), base + rng.normal(0, 0.01, base.shape)
    assert W.reference_gaps(a, r, n_boot=400).final_se == pytest.approx(0.01 * np.sqrt(2 / 400), rel=0.2)
    with pytest.raises(ValueError, match="same >= 2 seeds"):
        W.reference_gaps(ref, ref[:, :3])
    with pytest.raises(ValueError, match="n_boot"):
        W.reference_gaps(ref, ref, n_boot=1)


def test_gap_difference_is_the_difference_of_the_gaps_with_paired_errors():
    ref = np.tile([0.7, 0.5, 0.4, 0.3], (4, 1))
    a, b = ref + np.array([0.02, 0.01, 0.0, 0.005]), ref + 0.01  # a: zero-start-like; b: a constant offset
    d = W.gap_difference(a, b, ref)
    assert (d.final, d.mean, d.sup) == pytest.approx((-0.005, -0.00125, 0.01))
    ga, gb = W.reference_gaps(a, ref), W.reference_gaps(b, ref)
    assert d.final == pytest.approx(ga.final - gb.final) and d.sup == pytest.approx(ga.sup - gb.sup)
    # noise shared by a, b and the reference cancels in the difference: the resamples are joint
    noise = np.random.default_rng(3).normal(0, 0.1, (4, 1))
    d = W.gap_difference(a + noise, b + noise, ref + noise)
    assert max(d.final_se, d.mean_se, d.sup_se) < 1e-12
    with pytest.raises(ValueError, match="same >= 2 seeds"):
        W.gap_difference(a, b[:, :3], ref)


def test_gap_exponent_is_the_bootstrap_slope_of_the_gap():
    # gap = log 2 - y = d^-3/2 m_s: the seed mean is exactly proportional to d^-3/2.
    m = np.array([0.8, 1.0, 1.3, 0.9])
    d = np.asarray(WIDTHS, dtype=float)
    y = np.log(2) - d[:, None, None, None, None] ** -1.5 * m[None, None, None, :, None] * np.ones((1, 2, 1, 1, 3))
    sw = make_sweep(y)
    fit = W.gap_exponent(sw, "train_loss", "MF", level=np.log(2))
    assert fit.slope == pytest.approx(-1.5, abs=1e-9)
    assert fit == measure.bootstrap_slope(WIDTHS[-3:], np.log(2) - y[-3:, 0, 0, :, -1])  # the old implementation
    assert W.gap_exponent(sw, "train_loss", "MF", level=np.log(2), top=9).slope == pytest.approx(-1.5, abs=1e-9)
    with pytest.raises(ValueError, match="top"):
        W.gap_exponent(sw, "train_loss", "MF", level=np.log(2), top=1)


def test_family_difference_at_one_width():
    v = np.ones((2, 3, 1, 2, 4))
    v[1, 2, 0, 1, 3] += 0.25  # one family, seed and step differ at the second width only
    sw = make_sweep(v, families=("MF", "NTK", "SP"), widths=(128, 256))
    assert W.family_difference(sw, "train_loss", 128) == 0.0
    assert W.family_difference(sw, "train_loss", 256) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="width"):
        W.family_difference(sw, "train_loss", 512)


def test_move_exponents_match_the_seed_bootstrap_of_the_moves():
    rng = np.random.default_rng(1)
    d = np.asarray(WIDTHS, dtype=float)[:, None, None, None, None, None]
    p = np.array([[0.0, 0.0], [-0.5, -0.75]])[None, :, None, None, None, :]  # (family, layer) exponents
    hat = d**p * rng.uniform(0.5, 1.5, size=(1, 1, 1, 4, 1, 2)) * np.ones((1, 1, 1, 1, 3, 1))
    sw = make_sweep(np.zeros((5, 2, 1, 4, 3)), hat=hat)
    fits = W.move_exponents(sw, ["MF", "NTK"])
    assert set(fits) == {("MF", 0), ("MF", 1), ("NTK", 0), ("NTK", 1)}
    for (name, layer), fit in fits.items():
        k = sw.families.index(name)
        assert fit == measure.bootstrap_slope(WIDTHS, hat[:, k, 0, :, -1, layer])  # the old implementation
    upper = [512, 1024, 2048]
    np.testing.assert_array_equal(W.final_move(sw, "NTK", 1, upper), hat[2:, 1, 0, :, -1, 1])
    assert W.move_exponent(sw, "NTK", 1, upper) == measure.bootstrap_slope(upper, hat[2:, 1, 0, :, -1, 1])
    with pytest.raises(ValueError, match="layer"):
        W.final_move(sw, "MF", 2)
    with pytest.raises(TypeError, match="families"):
        W.move_exponents(sw, "MF")


def test_arguments_are_checked():
    sw = power_sweep([0.0, 0.0], [1.0, 2.0])
    with pytest.raises(TypeError, match="sw must be a Sweep"):
        W.seed_spread(sw.history, "test_loss", "MF")
    with pytest.raises(ValueError, match="field must be one of"):
        W.seed_spread(sw, "loss", "MF")
    with pytest.raises(ValueError, match="family"):
        W.seed_spread(sw, "test_loss", "SP")
    with pytest.raises(ValueError, match="field must be stored"):
        W.final_move(sw, "MF", 0)
    with pytest.raises(ValueError, match="scalar record"):
        W.final_values(make_sweep(np.zeros((5, 2, 1, 2, 2)), hat=np.zeros((5, 2, 1, 2, 2, 2))), "hat_distance", "MF")
    two_lrs = make_sweep(np.zeros((5, 2, 2, 2, 2)), lrs=(0.1, 0.2))
    with pytest.raises(ValueError, match="one learning rate"):
        W.seed_spread(two_lrs, "test_loss", "MF")
    with pytest.raises(TypeError, match="a must have a"):
        W.paired_difference(np.array([["x", "y"]]), np.zeros((1, 2)))


def test_classify_reads_an_exponent_with_its_standard_error():
    fit = measure.PowerLaw
    assert W.classify(fit(-1.0, 0.0, 0.1)) == "vanishing"
    assert W.classify(fit(0.0, 0.0, 0.05)) == "non-vanishing"
    assert W.classify(fit(-0.3, 0.0, 0.05)) == "unclassified"  # -0.3 + 3 * 0.05 > -1/4
    assert W.classify(fit(-0.3, 0.0, 0.05), n_se=0) == "vanishing"
    assert W.classify(fit(-0.3, 0.0, 0.05), boundary=-0.5) == "non-vanishing"
    with pytest.raises(TypeError, match="fit"):
        W.classify((-1.0, 0.0, 0.1))
    with pytest.raises(ValueError, match="n_se"):
        W.classify(fit(-1.0, 0.0, 0.1), n_se=-1)
