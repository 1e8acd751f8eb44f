import numpy as np
import pytest

from widthlimits import cell_limits, data, experiments, models, scalings


@pytest.fixture(scope="module")
def sweep_and_families():
    fam = {"A": scalings.from_hat(-0.75, 0.5), "B": scalings.from_hat(-0.625, 0.25)}
    ds = data.load_cifar2(16, 8)
    sw = experiments.sweep(models.MLP(), (64, 128, 256), fam, ds, seeds=range(3), n_steps=2,
                           progress=False, cache=False)
    return sw, fam


def test_scale_exponent():
    assert cell_limits.logit_scale_exponent(scalings.from_hat(-0.5, 0.0)) == 0.0
    assert cell_limits.logit_scale_exponent(scalings.from_hat(-1.5, 1.5)) == -0.5


def test_paired_distance_vanishes_at_reference_width(sweep_and_families):
    sw, fam = sweep_and_families
    d = cell_limits.trajectory_distance(sw, ("A", fam["A"]), ("B", fam["B"]))
    assert d.shape == (3, 3)
    np.testing.assert_allclose(d[1], 0.0, atol=1e-5)  # width 128 = d*: the two families are the same net
    unpaired = cell_limits.trajectory_distance(sw, ("A", fam["A"]), ("B", fam["B"]), paired=False)
    assert np.all(unpaired[1] > 1e-3)


def test_trend_and_bad_input(sweep_and_families):
    sw, fam = sweep_and_families
    tr = cell_limits.distance_trend(sw, ("A", fam["A"]), ("B", fam["B"]), paired=False, n_boot=20)
    assert np.isfinite(tr.exponent) and tr.exponent_se >= 0 and tr.distances.shape == (3,)
    with pytest.raises(ValueError, match="family"):
        cell_limits.normalised_logits(sw, "C", fam["A"])
    with pytest.raises(TypeError, match="sw"):
        cell_limits.normalised_logits(None, "A", fam["A"])
    with pytest.raises(ValueError, match="widths"):
        cell_limits.distance_trend(sw, ("A", fam["A"]), ("B", fam["B"]), widths=(64,))
    with pytest.raises(TypeError, match="paired"):
        cell_limits.trajectory_distance(sw, ("A", fam["A"]), ("B", fam["B"]), paired=1)


def test_correction_exponents_and_cells():
    e = cell_limits.correction_exponents(scalings.from_hat(-0.75, 0.5))  # cell 4: start -1/4, motion -1/4
    assert e == {"kernel motion": -0.25, "finite-width noise": -0.5, "vanishing start": -0.25}
    assert cell_limits.predicted_exponent(scalings.from_hat(-3.0, 2.5)) == -0.5  # cell 9
    assert cell_limits.predicted_exponent(scalings.from_hat(-10.0, 9.75)) == -0.25  # cell 12 (far)
    with pytest.raises(ValueError, match="cells"):
        cell_limits.correction_exponents(scalings.preset("mf"))


def test_frozen_limits_and_check_cells():
    ds = data.load_cifar2(16, 8)
    lim = cell_limits.frozen_limits(models.MLP(), ds, n_steps=3)
    assert set(lim) == {4, 9, 12} and lim[4].shape == (4, 8)
    np.testing.assert_allclose(lim[4][:2], lim[12][:2], atol=1e-6)  # one step from f = 0: the same
    np.testing.assert_allclose(lim[12][3], 3 * lim[12][1], rtol=1e-6)  # linear loss: equal increments
    fam = {"4": scalings.from_hat(-0.75, 0.5), "12": scalings.from_hat(-10.0, 9.75)}
    sw = experiments.sweep(models.MLP(), (128, 256), fam, ds, seeds=range(2), n_steps=3, progress=False, cache=False)
    checks = cell_limits.check_cells(sw, fam, lim, n_boot=10)
    assert checks["4"].neighbour == 12 and checks["12"].high == -0.25
    low, high = checks["4"].allowed
    assert low <= high
    with pytest.raises(ValueError, match="limit"):
        cell_limits.distance_to_limit(sw, "4", fam["4"], lim[4][:2], coupled=False)
    with pytest.raises(TypeError, match="coupled"):
        cell_limits.distance_to_limit(sw, "4", fam["4"], lim[4], coupled=0)
