"""The MF particle recursion's own checks: the net = recursion identity, independent clouds, the Euler order."""

import jax
import numpy as np
import pytest

from widthlimits import models as M
from widthlimits import numerics
from widthlimits import particle_limit as PL
from widthlimits.data import Dataset

KEY = jax.random.PRNGKey(0)


def toy_data(n=24, n_test=12, n_in=40, seed=0):
    rng = np.random.default_rng(seed)
    x, xt = rng.normal(size=(n, n_in)).astype(np.float32), rng.normal(size=(n_test, n_in)).astype(np.float32)
    y, yt = np.tile([0.0, 1.0], n // 2), np.tile([0.0, 1.0], n_test // 2)
    return Dataset(x, y.astype(np.float32), xt, yt.astype(np.float32))


def test_net_is_the_recursion_to_the_round_off_bound():
    """Width 32, 8 steps: the float64 gap sits inside its worst-case bound (and far below the float32 one), the
    float32 gap inside the float32 bound; the bound is the documented (T+1)(n0+d)u max|f|."""
    mlp, data = M.MLP(n_in=40), toy_data()
    check = PL.net_vs_recursion(mlp, data, key=KEY, n_steps=8, width=32)
    for dt, u in numerics.UNIT_ROUNDOFF.items():
        assert check.bound[dt] == pytest.approx(9 * (40 + 32) * u * check.f_max, rel=1e-12)
        assert 0 <= check.gap[dt] <= check.bound[dt]
    assert check.gap["float64"] < check.bound["float32"] * 2.0**-29  # float64 is round-off of float64, not float32
    assert check.f_max > 0 and check.kink_flips >= 0


def test_kink_flips_count_the_pre_activations_near_zero():
    """The expected flips are (T+1) (n + n_test) d times the near-kink fraction of the initial pre-activations."""
    mlp, data = M.MLP(n_in=40), toy_data()
    check = PL.net_vs_recursion(mlp, data, key=KEY, n_steps=3, width=16)
    z0 = np.concatenate([data.x_train, data.x_test]) @ np.asarray(M.init_reference(mlp, 16, key=KEY)["w"]).T
    frac = numerics.near_kink_fraction(z0, np.sqrt(40) * numerics.UNIT_ROUNDOFF["float32"])
    assert check.kink_flips == pytest.approx(4 * 36 * 16 * frac, rel=1e-6)


def test_clouds_are_mf_limits_from_their_seeds():
    mlp, data = M.MLP(n_in=40), toy_data()
    clouds = PL.mf_clouds(mlp, data, 64, seeds=(3, 5), n_steps=4, ref_lr=0.05)
    for seed, cloud in zip((3, 5), clouds):
        one = PL.mf_limit(mlp, data, n_particles=64, key=jax.random.PRNGKey(seed), n_steps=4, ref_lr=0.05)
        np.testing.assert_array_equal(cloud.test_logits, one.test_logits)
    assert not np.array_equal(clouds[0].test_logits[-1], clouds[1].test_logits[-1])
    with pytest.raises(ValueError, match="seeds"):
        PL.mf_clouds(mlp, data, 64, seeds=(3, 3), n_steps=4)


def test_step_halving_finds_first_order_for_a_smooth_activation():
    """tanh has a smooth velocity field, so Euler's global error is C eta + O(eta^2): successive differences halve
    (ratio 2 + O(eta); accept 1.7..2.3) and the Richardson flow is closer to the finest run than the coarsest is."""
    mlp, data = M.MLP(n_in=40, activation="tanh"), toy_data()
    cloud = PL.mf_particles(mlp, 256, key=KEY)
    run = PL.step_halving(mlp, data, cloud, [0.2, 0.1, 0.05, 0.025], t_final=2.0)
    ratios = np.array(run.halving[:-1]) / np.array(run.halving[1:])
    assert np.all((1.7 < ratios) & (ratios < 2.3)), ratios
    assert run.final.shape == (4, 12) and run.flow.shape == (12,)
    assert run.to_flow == pytest.approx(2 * run.halving[0], rel=0.2)  # the sum of a geometric series of halvings
    assert run.moved == pytest.approx(np.sqrt(np.mean(run.final[0] ** 2)))
    assert np.sqrt(np.mean((run.final[-1] - run.flow) ** 2)) < run.to_flow / 4


def test_bad_arguments_are_named():
    mlp, data = M.MLP(n_in=40), toy_data()
    cloud = PL.mf_particles(mlp, 8, key=KEY)
    with pytest.raises(ValueError, match="etas"):
        PL.step_halving(mlp, data, cloud, [0.2, 0.15], t_final=1.0)
    with pytest.raises(ValueError, match="etas"):
        PL.step_halving(mlp, data, cloud, [0.2], t_final=1.0)
    with pytest.raises(ValueError, match="t_final"):
        PL.step_halving(mlp, data, cloud, [0.2, 0.1], t_final=0.0)
    with pytest.raises(ValueError, match="depth"):
        PL.net_vs_recursion(M.MLP(n_in=40, depth=2), data, key=KEY, n_steps=1)
    with pytest.raises(ValueError, match="width"):
        PL.net_vs_recursion(mlp, data, key=KEY, n_steps=1, width=0)
    with pytest.raises(TypeError, match="key"):
        PL.net_vs_recursion(mlp, data, key=0, n_steps=1)
