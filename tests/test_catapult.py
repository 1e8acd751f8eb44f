"""The catapult measurements: the learning-rate-weighted kernel against autodiff, runs set to eta* lambda_0,
labelled selection, the peak-step rate, and argument checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import catapult, data, models, scalings, training

NTK = scalings.preset("ntk")
MLP = models.MLP(n_in=3)
DS = data.toy_2d(16, 8, seed=0, kind="circle")


def test_lr_kernel_is_the_rate_weighted_jacobian_gram():
    """Theta/n = sum_l eta_l J_l J_l^T / n with J_l the Jacobian of the logits in layer l (float32 round-off)."""
    width, x = 32, jnp.asarray(DS.x_train)
    p = models.init(MLP, width, NTK, key=jax.random.PRNGKey(1))
    hp = scalings.hyperparams(NTK, width, ref_lr=0.3)
    jac = jax.jacobian(lambda q: models.apply_batch(MLP, q, x))(p)
    expected = sum(
        rate * jac[name].reshape(len(x), -1) @ jac[name].reshape(len(x), -1).T
        for name, rate in (("w", hp.lr_w), ("a", hp.lr_a))
    ) / len(x)
    got = catapult.lr_kernel(MLP, p, hp, x)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6 * float(jnp.abs(expected).max()))


def test_top_eigenvalue_in_float64_and_nan_where_not_finite():
    k = np.stack([np.diag([1.0, 3.0, 2.0]), np.full((3, 3), np.nan)]).astype(np.float32)
    top = catapult.top_eigenvalue(k)
    assert top[0] == 3.0 and np.isnan(top[1])
    with pytest.raises(ValueError, match="kernels"):
        catapult.top_eigenvalue(np.ones((2, 3)))


@pytest.fixture(scope="module")
def runs():
    return catapult.runs(MLP, [64], [1.0, 2.5, 30.0], [0, 1], DS, scaling=NTK, n_steps=12)


def test_runs_start_exactly_at_the_requested_eta_lambda(runs):
    """eta* lambda_0 = kappa up to float32 round-off of the rate and the eigenvalue; the recorded kernel of
    step 0 is the initial one, so kappa_t[..., 0] reproduces kappa."""
    assert runs.axes == ("width", "kappa", "seed") and runs.loss.shape == (1, 3, 2, 13)
    np.testing.assert_allclose(runs.kappa_t[..., 0], runs.kappa0, rtol=1e-5)
    np.testing.assert_allclose(runs.ref_lr * runs.lam0, runs.kappa0, rtol=1e-6)
    lazy = runs.sel(width=64, kappa=1.0)
    assert lazy.axes == ("seed",) and not lazy.diverged.any() and np.all(lazy.rel_change < 0.2)
    assert runs.sel(width=64, kappa=30.0).diverged.all()  # far beyond any edge
    assert runs.sel(width=64).first_divergence() == 30.0
    assert runs.sel(width=64).converging_above(0.5) == [1.0, 2.5]
    assert runs.sel(width=64).converged_ratio_above(2.0).shape == (2,)  # the two seeds at 2.5


def test_runs_match_training_and_reuse_known_runs(runs):
    """The kernel hook does not change the training: the Gram engine retrains the same losses (float32, a short
    run, no catapult yet amplifying round-off); runs already in ``known`` are returned as they are."""
    one = runs.sel(width=64, kappa=[1.0, 2.5])
    hist = catapult.retrain(MLP, one, DS, scaling=NTK, engine="gram")
    np.testing.assert_allclose(np.asarray(hist.train_loss).reshape(one.loss.shape), one.loss, rtol=2e-4)
    gap, same, no_later = catapult.retrain_agreement(one, hist)
    assert gap < 2e-4 and same and no_later
    with pytest.raises(ValueError, match="history must hold"):
        catapult.retrain_agreement(runs.sel(width=64), hist)
    with pytest.raises(TypeError, match="runs must be"):
        catapult.retrain_agreement(one.loss, hist)
    again = catapult.runs(MLP, [64], [2.5], [1], DS, scaling=NTK, n_steps=12, known=runs)
    np.testing.assert_array_equal(again.loss[0, 0, 0], runs.sel(width=64, kappa=2.5, seed=1).loss)


def test_labelled_selection_and_its_errors(runs):
    with pytest.raises(ValueError, match="kappa=7"):
        runs.sel(kappa=7.0)
    with pytest.raises(ValueError, match="width is not an axis"):
        runs.sel(width=64).sel(width=64)
    with pytest.raises(ValueError, match="one width"):
        catapult.retrain(MLP, runs, DS, scaling=NTK)


def test_runs_check_their_arguments():
    good = dict(scaling=NTK, n_steps=2)
    with pytest.raises(ValueError, match="loss must be 'mse'"):
        catapult.runs(MLP, [16], [1.0], [0], DS, loss="logistic", **good)
    with pytest.raises(ValueError, match="kappas must be distinct"):
        catapult.runs(MLP, [16], [1.0, 1.0], [0], DS, **good)
    with pytest.raises(ValueError, match="kappas"):
        catapult.runs(MLP, [16], [0.0], [0], DS, **good)
    with pytest.raises(TypeError, match="known"):
        catapult.runs(MLP, [16], [1.0], [0], DS, known={}, **good)
    with pytest.raises(TypeError, match="config"):
        catapult.runs(MLP, [16], [1.0], [0], DS, "mse", **good)


def test_steps_per_octave_is_the_slope_per_doubling_with_a_seed_bootstrap():
    widths = [64, 128, 256, 512]
    exact = np.array([[2.0, 2.0, 2.0], [3.0, 3.0, 3.0], [4.0, 4.0, 4.0], [5.0, 5.0, 5.0]])
    rate, se = catapult.steps_per_octave(widths, exact, n_boot=50)
    assert rate == pytest.approx(1.0) and se == pytest.approx(0.0, abs=1e-12)  # every resample is the same
    noisy = exact + np.random.default_rng(0).normal(0, 1, size=(4, 40))[:, :3]
    assert catapult.steps_per_octave(widths, noisy, n_boot=50)[1] > 0
    with pytest.raises(ValueError, match="steps must have shape"):
        catapult.steps_per_octave(widths, exact[:3])
    with pytest.raises(ValueError, match="n_boot"):
        catapult.steps_per_octave(widths, exact, n_boot=1)


def test_kernel_record_is_one_hook_per_architecture():
    assert catapult.kernel_record(MLP) is catapult.kernel_record(models.MLP(n_in=3))
    _, rec = training.train(
        MLP, 16, NTK, DS, key=jax.random.PRNGKey(0), n_steps=1, loss="mse", record=catapult.kernel_record(MLP)
    )
    assert np.asarray(rec).shape[-2:] == (16, 16)
