"""Logit laws across seeds: the per-point and pooled Gaussian KLs against closed forms, the jackknife against the
exact standard error of a mean, and bad inputs named."""

import numpy as np
import pytest

from widthlimits import limits
from widthlimits import logit_statistics as laws


def normal_logits(mean, std, shape, seed):
    return mean + std * np.random.default_rng(seed).standard_normal(shape)


def test_per_point_kl_is_the_mean_of_gaussian_kls_fitted_across_seeds():
    f, g = normal_logits(0.3, 1.5, (5, 3, 7), 0), normal_logits(0.0, 1.0, (9, 3, 7), 1)
    # The chapter's original formula, written with standard deviations.
    s1, s2 = f.std(0, ddof=1), g.std(0, ddof=1)
    direct = np.log(s2 / s1) + (s1**2 + (f.mean(0) - g.mean(0)) ** 2) / (2 * s2**2) - 0.5
    np.testing.assert_allclose(laws.per_point_kl(f, g), direct.mean(-1), rtol=1e-12)
    assert laws.per_point_kl(f, g).shape == (3,)


def test_pooled_kl_converges_to_the_kl_of_the_two_normals():
    # 4000 seeds, 50 points: the pooled variances have relative s.e. ~ sqrt(2 / (S n)) ~ 3e-3, the mean distance
    # an s.e. ~ 2 sigma_p / sqrt(S n) per unit variance; a tolerance of 0.02 is > 5 s.e. of the KL.
    f, g = normal_logits(0.5, 2.0, (4000, 50), 2), normal_logits(0.0, 1.0, (4000, 50), 3)
    exact = limits.gaussian_kl(0.5, 4.0, 0.0, 1.0)
    pooled = laws.pooled_kl(f, g)
    assert pooled.kl == pytest.approx(exact, abs=0.02)
    assert pooled.spread_ratio == pytest.approx(4.0, rel=0.02)
    assert pooled.mean_distance == pytest.approx(0.25, abs=0.01)


def test_pooled_kl_of_equal_laws_is_unbiased_around_zero():
    # The noise correction makes the mean-distance term unbiased: over 400 replicas of 4 vs 8 seeds its average is
    # zero within 4 standard errors of that average.
    rng = np.random.default_rng(4)
    m = np.array(
        [laws.pooled_kl(rng.standard_normal((4, 30)), rng.standard_normal((8, 30))).mean_distance for _ in range(400)]
    )
    assert abs(m.mean()) < 4 * m.std(ddof=1) / np.sqrt(len(m))


def test_pooled_statistics_keep_the_dtype_of_the_logits():
    f = normal_logits(0.0, 1.0, (4, 3, 6), 5).astype(np.float32)
    g = normal_logits(0.0, 1.0, (6, 3, 6), 6).astype(np.float32)
    assert laws.pooled_kl(f, g).kl.dtype == np.float32


def test_jackknife_of_a_mean_is_the_classical_standard_error():
    # For the sample mean the delete-one jackknife reproduces s / sqrt(n) exactly; independent samples add.
    a, b = normal_logits(0.0, 1.0, (7, 2), 7), normal_logits(0.0, 3.0, (11, 2), 8)
    exact = np.sqrt(a[:, 0].var(ddof=1) / 7 + b[:, 0].var(ddof=1) / 11)
    se = laws.jackknife_se(lambda x, y: x[:, 0].mean() - y[:, 0].mean(), a, b)
    assert se == pytest.approx(exact, rel=1e-10)


def test_paired_samples_lose_their_shared_seed_noise():
    f, g = normal_logits(0.0, 1.0, (4, 5, 6), 9), normal_logits(0.0, 1.0, (8, 5, 6), 10)
    assert laws.paired_kl_difference_se(f, f, g) == 0.0
    # Paired: the same seeds deleted from both arrays of the tuple; the statistic sees two arrays.
    se = laws.jackknife_se(lambda pair: float(pair[0].mean() - pair[1].mean()), (f, f + 1.0))
    assert se == pytest.approx(0.0, abs=1e-12)


def test_compare_collects_the_statistics_by_name():
    f, g = normal_logits(0.2, 1.2, (4, 5, 6), 11), normal_logits(0.0, 1.0, (8, 5, 6), 12)
    c = laws.compare({"proxy": f}, g)["proxy"]
    assert c.per_point == pytest.approx(laws.per_point_kl(f, g)[1:].mean())
    assert c.mean == pytest.approx(laws.mean_pooled_kl(f, g))
    assert c.se == pytest.approx(laws.jackknife_se(laws.mean_pooled_kl, f, g))
    np.testing.assert_array_equal(c.pooled.kl, laws.pooled_kl(f, g).kl)


def test_bad_inputs_are_named():
    g = normal_logits(0.0, 1.0, (4, 3, 2), 13)
    with pytest.raises(ValueError, match="f must have shape"):
        laws.pooled_kl(g[:1], g)
    with pytest.raises(ValueError, match="f and g must agree"):
        laws.pooled_kl(g[:, :2], g)
    with pytest.raises(ValueError, match="g must vary across seeds"):
        laws.pooled_kl(g, np.zeros_like(g))
    with pytest.raises(TypeError, match="steps must be a slice"):
        laws.mean_pooled_kl(g, g, 1)
    with pytest.raises(ValueError, match="steps must select"):
        laws.mean_pooled_kl(g, g, slice(5, None))
    with pytest.raises(TypeError, match="statistic must be callable"):
        laws.jackknife_se(None, g)
    with pytest.raises(ValueError, match="samples must hold"):
        laws.jackknife_se(np.mean)
    with pytest.raises(ValueError, match=r"samples\[0\] pairs arrays"):
        laws.jackknife_se(lambda p: 0.0, (g, g[:3]))
    with pytest.raises(TypeError, match="one real number"):
        laws.jackknife_se(lambda x: x.mean(0), g)
    with pytest.raises(TypeError, match="logits must be a non-empty mapping"):
        laws.compare({}, g)
