"""The kernel's motion and the kernel models: exact identities checked to float32 round-off.

Every comparison here is between two float32 computations of the same quantity in a different order; the
tolerances are a few hundred float32 epsilons (1.2e-7) of the compared scale, for the few dozen accumulated
products of a short run.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import kernel_motion as KM
from widthlimits import kernels, losses, models, scalings, training
from widthlimits.data import Dataset

MLP = models.MLP(n_in=6)
TANH = models.MLP(n_in=6, activation="tanh")
NTK = scalings.preset("ntk")
LR, STEPS = 0.05, 5
RTOL = 1e-4


def toy() -> Dataset:
    rng = np.random.default_rng(0)
    x, xt = (rng.normal(size=(k, 6)).astype(np.float32) for k in (10, 4))
    return Dataset(x, np.tile([0.0, 1.0], 5).astype(np.float32), xt, np.array([0, 1, 1, 0], np.float32))


def plain_gd(mlp, params, hp, data, n_steps):
    """The reference: GD on the mean square loss by autograd, both layers at their own rates."""
    loss = lambda p: losses.square_loss(models.apply_batch(mlp, p, jnp.asarray(data.x_train)), data.y_train)  # noqa: E731
    for _ in range(n_steps):
        g = jax.grad(loss)(params)
        params = {"w": params["w"] - hp.lr_w * g["w"], "v": (), "a": params["a"] - hp.lr_a * g["a"]}
    return params


@pytest.mark.parametrize("mlp", [MLP, TANH], ids=["leaky_relu", "tanh"])
def test_trained_params_are_the_draw_and_plain_gd_from_it(mlp):
    data, width = toy(), 32
    p0, pt = KM.trained_params(mlp, width, NTK, data, key=jax.random.PRNGKey(3), ref_lr=LR, n_steps=STEPS)
    draw = models.init(mlp, width, NTK, key=jax.random.PRNGKey(3))
    np.testing.assert_allclose(p0["w"], draw["w"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(p0["a"], draw["a"], rtol=1e-6, atol=1e-8)
    ref = plain_gd(mlp, draw, scalings.hyperparams(NTK, width, ref_lr=LR), data, STEPS)
    for k in ("w", "a"):
        scale = float(jnp.abs(ref[k]).max())
        np.testing.assert_allclose(pt[k], ref[k], rtol=0, atol=RTOL * scale)


@pytest.mark.parametrize("mlp", [MLP, TANH], ids=["leaky_relu", "tanh"])
def test_split_sums_to_the_change_of_the_empirical_kernel_diagonal(mlp):
    data, width = toy(), 64
    p0, pt = KM.trained_params(mlp, width, NTK, data, key=jax.random.PRNGKey(1), ref_lr=LR, n_steps=STEPS)
    hp = scalings.hyperparams(NTK, width, ref_lr=LR)
    change = KM.split_change(mlp, p0, pt, hp.lr_w, hp.lr_a, data.x_test)
    lrs = jnp.stack([hp.lr_w, hp.lr_a])
    diag = [jnp.diag(kernels.empirical_ntk(mlp, p, data.x_test, data.x_test, lrs)) for p in (p0, pt)]
    expected = np.asarray(diag[1] - diag[0])
    np.testing.assert_allclose(change.total, expected, rtol=0, atol=RTOL * float(jnp.abs(diag[0]).max()))
    if mlp.activation == "leaky_relu":  # no flip without a pre-activation crossing 0
        flipped = np.sign(data.x_test @ np.asarray(p0["w"]).T) != np.sign(data.x_test @ np.asarray(pt["w"]).T)
        assert np.all((np.abs(change.flips) > 0) <= flipped.any(axis=1))


def test_split_changes_reproduces_the_recorded_kernel_of_training():
    data, widths, seeds = toy(), [16, 48], [0, 2]
    change = KM.split_changes(MLP, widths, NTK, data, seeds=seeds, ref_lr=LR, n_steps=STEPS, n_kernel=3)
    assert change.flips.shape == (2, 2, 3)
    for i, w in enumerate(widths):
        for j, s in enumerate(seeds):
            hist = training.train(MLP, w, NTK, data, key=jax.random.PRNGKey(s), ref_lr=LR, loss="mse",
                                  n_steps=STEPS, n_kernel=3)  # fmt: skip
            diag = np.asarray(hist.kernel).sum(axis=-2)  # (T+1, n_kernel)
            np.testing.assert_allclose(change.total[i, j], diag[-1] - diag[0], atol=RTOL * np.abs(diag[0]).max())


def test_linearised_outputs_start_at_the_network_and_follow_kernel_gd():
    data, widths, seeds = toy(), [32, 4096], [0, 1]
    x_all = np.concatenate([data.x_train, data.x_test])
    _, theta_ref = kernels.reference_kernels(data.x_train, x_all, mlp=MLP, ref_lr=LR)
    out = KM.linearised_outputs(MLP, widths, NTK, data, seeds=seeds, ref_lr=LR, n_steps=STEPS, theta_ref=theta_ref)
    assert out.linearised.shape == out.reference.shape == (2, 2, STEPS + 1, 4)
    np.testing.assert_allclose(out.linearised[:, :, 0], out.f0_test, atol=1e-6)
    np.testing.assert_allclose(out.reference[:, :, 0], out.f0_test, atol=1e-6)
    nets = np.array([[training.train(MLP, w, NTK, data, key=jax.random.PRNGKey(s), ref_lr=LR, loss="mse",
                                     n_steps=STEPS).test_logits for s in seeds] for w in widths])  # fmt: skip
    np.testing.assert_allclose(nets[:, :, 0], out.f0_test, atol=1e-5)
    moved = KM.sup_rms(nets, np.broadcast_to(nets[..., :1, :], nets.shape))
    gap = KM.sup_rms(nets, out.linearised)
    assert np.all(gap[1] < 0.05 * moved[1])  # the wide net is close to its linearisation
    assert gap[1].mean() < gap[0].mean()


def test_sup_rms_and_diagonal_motion_on_known_values():
    a = np.zeros((2, 3, 4))
    b = a.copy()
    b[1, 2] = 2.0
    np.testing.assert_allclose(KM.sup_rms(a, b), [0.0, 2.0])
    k = np.ones((1, 3, 2, 5))  # (run, step, layer, point): diagonal 2 everywhere
    k[0, -1] *= 1.5
    np.testing.assert_allclose(KM.diagonal_motion(k), [0.5])


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: KM.sup_rms(np.zeros((2, 3)), np.zeros((2, 4))), ValueError, "a and b"),
        (lambda: KM.diagonal_motion(np.zeros((3, 4))), ValueError, "kernel"),
        (lambda: KM.split_change(models.MLP(n_in=6, depth=2), {}, {}, 1.0, 1.0, np.zeros((1, 6))), ValueError,
         "depth"),
        (lambda: KM.trained_params(MLP, 8, scalings.preset("mf", optimizer="rmsprop"), toy(),
                                   key=jax.random.PRNGKey(0), ref_lr=LR, n_steps=1), ValueError, "optimizer"),
        (lambda: KM.split_changes(MLP, [8], NTK, toy(), seeds=[0], ref_lr=LR, n_steps=1, n_kernel=9), ValueError,
         "n_kernel"),
        (lambda: KM.linearised_outputs(MLP, [8], NTK, toy(), seeds=[0], ref_lr=LR, n_steps=1,
                                       theta_ref=np.zeros((3, 3))), ValueError, "theta_ref"),
    ],
)  # fmt: skip
def test_bad_inputs_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()
