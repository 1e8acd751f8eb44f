"""Tables and verdicts of the gaps to the reference: closed forms on known curves, and bad input."""

import numpy as np
import pytest

from widthlimits import gap_reports as G
from widthlimits import width_trends as W


def curves(level, noise=0.0, seed=0, n_seeds=4, n_steps=5):
    rng = np.random.default_rng(seed)
    return level + noise * rng.normal(size=(n_seeds, n_steps + 1))


def test_verdicts_follow_the_sign_beyond_level_standard_errors():
    d = W.GapDifference(final=-0.3, mean=0.05, sup=0.3, final_se=0.1, mean_se=0.1, sup_se=0.1)
    v = G.verdicts(d, level=2)
    assert (v["final"].word, v["mean"].word, v["sup"].word) == ("closer", "not resolved", "farther")
    assert v["mean"].resolvable == pytest.approx(0.2)
    with pytest.raises(TypeError, match="GapDifference"):
        G.verdicts((0, 0, 0, 1, 1, 1))
    with pytest.raises(ValueError, match="level"):
        G.verdicts(d, level=0)


def test_tables_name_every_family_and_say_what_is_not_resolved():
    ref = curves(0.6, 0.01)
    a, b = curves(0.61, 0.01, seed=1), curves(0.7, 0.01, seed=2)
    gaps = {"A": W.reference_gaps(a, ref), "B": W.reference_gaps(b, ref)}
    text = G.gap_table(gaps, label="family")
    assert "| A |" in text and "| B |" in text and "sup at step" in text
    out = G.difference_table({"A - B": W.gap_difference(a, b, ref)})
    assert "A - B: last step: closer" in out  # 0.01 against 0.1, far beyond the seed noise
    with pytest.raises(TypeError, match="gaps"):
        G.gap_table({})
    with pytest.raises(TypeError, match="diffs"):
        G.difference_table([])


def test_difference_table_survives_seeds_that_agree_exactly():
    # two families that coincide (as at d = d*) give a zero difference with zero spread: no division by zero
    same = W.GapDifference(final=0.0, mean=0.0, sup=0.01, final_se=0.0, mean_se=0.0, sup_se=0.0)
    out = G.difference_table({"A - A": same})
    assert "(exact)" in out and "(no seed spread)" in out and "A - A: last step: not resolved" in out


def test_gaps_across_lrs_is_gap_difference_at_each_rate_in_order():
    ref = {0.1: curves(0.5, 0.01), 0.01: curves(0.6, 0.01, seed=3)}
    fam = {lr: {"A": curves(0.55, 0.01, seed=4), "B": curves(0.9, 0.01, seed=5)} for lr in ref}
    out = G.gaps_across_lrs(fam, ref, "A", "B", n_boot=50)
    assert list(out) == [0.01, 0.1]
    direct = W.gap_difference(fam[0.1]["A"], fam[0.1]["B"], ref[0.1], n_boot=50)
    assert out[0.1] == direct
    with pytest.raises(TypeError, match="learning rates"):
        G.gaps_across_lrs(fam, {0.1: ref[0.1]}, "A", "B")


def test_mirrored_loss_is_the_even_part_of_the_logistic_loss():
    f = np.array([[0.0, 1.0, -2.0]])
    y = np.array([1, 0, 1])
    loss = lambda g: np.mean(np.logaddexp(0, -(2 * y - 1) * g), -1)  # noqa: E731
    np.testing.assert_allclose(G.mirrored_loss(f, y), (loss(f) + loss(-f)) / 2, rtol=1e-12)
    assert G.mirrored_loss(np.zeros((2, 3)), y) == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="y"):
        G.mirrored_loss(f, y[:2])


def test_even_step0_at_the_reference_width_is_one_network():
    from widthlimits.data import Dataset
    from widthlimits.models import MLP

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 8)).astype(np.float32)
    y = (np.arange(10) % 2).astype(np.float32)
    ds = Dataset(x[:6], y[:6], x[6:], y[6:])
    ev = G.even_step0(MLP(n_in=8), ds, 128, seeds=range(3))
    np.testing.assert_allclose(ev["IC-MF"], ev["reference"], rtol=1e-6)
    np.testing.assert_allclose(ev["MF"], ev["reference"], rtol=1e-5)  # every scaling is the identity at d*
    wide = G.even_step0(MLP(n_in=8), ds, 512, seeds=range(3))
    assert wide["MF"].shape == (3,) and np.all(wide["MF"] < wide["IC-MF"] + 1)
