"""The mean-field particle picture: the particle logit and the map T_k against the library's float32 net and GD
step, the particle paths recorded by a training hook, closed forms of the kink offset and the initial sizes."""

import jax
import numpy as np
import pytest

from widthlimits import data, models, scalings
from widthlimits import particle_map as pm
from widthlimits.limits import Particles

MLP = models.MLP(n_in=3)
MF = scalings.preset("mf")
DS = data.toy_2d(16, 8, seed=0, kind="circle")
ON_TRAIN = data.Dataset(DS.x_train, DS.y_train, DS.x_train, DS.y_train)
LR = 0.2


@pytest.mark.parametrize("width", [8, 512])
def test_particle_logits_and_map_agree_with_the_library_at_every_width(width):
    hist, paths = pm.particle_paths(MLP, width, MF, ON_TRAIN, key=jax.random.PRNGKey(0), ref_lr=LR, n_steps=1)
    before, after = pm.snapshot(paths, 0), pm.snapshot(paths, -1)
    assert before.a_hat.dtype == np.float64 and before.w_hat.shape == (width, 3)
    # A float32 sum of d terms against float64: relative error ~ 1e-7 sqrt(d), far below 1e-5.
    f = pm.logits(MLP, before, DS.x_train)
    assert np.abs(np.asarray(hist.test_logits[0]) - f).max() / np.abs(f).max() < 1e-5
    # One float32 step against the float64 map: the step is a difference of nearby float32 numbers, ~ 1e-6 of it.
    mapped = pm.mf_step(MLP, before, DS.x_train, DS.y_train, ref_lr=LR)
    assert pm.step_deviation(before, after, mapped) < 1e-4


def test_paths_keep_every_snapshot_and_the_run_matches_the_plain_one():
    hist, paths = pm.particle_paths(MLP, 16, MF, DS, key=jax.random.PRNGKey(1), ref_lr=LR, n_steps=6, every=3)
    assert paths.a_hat.shape == (3, 16) and paths.w_hat.shape == (3, 16, 3)
    p0 = models.init(MLP, 16, MF, key=jax.random.PRNGKey(1))
    sigma = scalings.hyperparams(MF, 16, ref_lr=LR).sigma
    np.testing.assert_allclose(paths.a_hat[0], np.asarray(p0["a"], np.float64) / float(sigma), rtol=1e-6)
    assert hist.test_logits.shape == (7, len(DS.y_test))


def test_hat_weights_divide_the_output_weights_in_float64():
    p = models.init(MLP, 4, MF, key=jax.random.PRNGKey(2))
    h = pm.hat_weights(p, 0.5)
    assert h.a_hat.dtype == np.float64
    np.testing.assert_array_equal(h.a_hat, np.asarray(p["a"], np.float64) / 0.5)
    traced = jax.jit(lambda params: pm.hat_weights(params, 0.5))(p)  # as inside a record hook: its own dtype
    assert traced.a_hat.dtype == np.float32
    with pytest.raises(TypeError, match="params must be a dict"):
        pm.hat_weights({"a": p["a"]}, 0.5)
    with pytest.raises(ValueError, match="sigma"):
        pm.hat_weights(p, 0.0)


def test_kink_offset_is_the_signed_distance_of_the_kink_line():
    # w = (3, 4, 5): the line 3 x1 + 4 x2 + 5 = 0 is at distance 5 / 5 = 1 from the origin, which is active.
    np.testing.assert_allclose(pm.kink_offset(np.array([[3.0, 4.0, 5.0], [0.0, -2.0, -1.0]])), [1.0, -0.5])
    with pytest.raises(ValueError, match="w_hat must have a last axis of 3"):
        pm.kink_offset(np.ones((2, 4)))


def test_initial_sizes_match_the_draws():
    # E|a_hat| is exact; E||w_hat|| is Monte Carlo with 1e6 samples (relative s.e. ~ 3e-4), checked against the
    # mean row norm of one wide draw of 4096 rows, within 4 of that mean's standard errors (~ 7e-3 relative).
    for law, a_size in [("uniform", np.sqrt(3) / 2), ("normal", np.sqrt(2 / np.pi))]:
        mlp = models.MLP(n_in=3, init_law=law)
        w_size, a = pm.initial_sizes(mlp)
        assert a == pytest.approx(a_size, rel=1e-12)
        norms = np.linalg.norm(np.asarray(models.init_reference(mlp, 4096, key=jax.random.PRNGKey(3))["w"]), axis=1)
        assert abs(w_size - norms.mean()) < 4 * norms.std() / np.sqrt(len(norms))


def test_bad_arguments_are_named():
    deep = models.MLP(n_in=3, depth=2)
    cloud = Particles(np.ones(4), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"mlp\.depth must be 1"):
        pm.logits(deep, cloud, DS.x_train)
    with pytest.raises(ValueError, match="ref_lr"):
        pm.mf_step(MLP, cloud, DS.x_train, DS.y_train, ref_lr=0.0)
    with pytest.raises(TypeError, match="particles must be"):
        pm.logits(MLP, (np.ones(4), np.ones((4, 3))), DS.x_train)
    with pytest.raises(ValueError, match=r"particles\.w_hat"):
        pm.logits(MLP, Particles(np.ones(4), np.ones((4, 2))), DS.x_train)
    with pytest.raises(ValueError, match="every"):
        pm.particle_paths(MLP, 4, MF, DS, key=jax.random.PRNGKey(0), ref_lr=LR, n_steps=1, every=0)
    with pytest.raises(TypeError, match="paths must be"):
        pm.snapshot(None, 0)
    with pytest.raises(ValueError, match="paths must hold a snapshot axis"):
        pm.snapshot(cloud, 0)
    with pytest.raises(ValueError, match="k"):
        pm.snapshot(Particles(np.ones((2, 4)), np.ones((2, 4, 3))), 2)
    with pytest.raises(ValueError, match="after must differ"):
        pm.step_deviation(cloud, cloud, cloud)
    with pytest.raises(ValueError, match="n_samples"):
        pm.initial_sizes(MLP, n_samples=1)
