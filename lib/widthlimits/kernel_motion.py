r"""How far a one-hidden-layer net's tangent kernel and outputs move in training, and the kernel models they leave.

**The kernel's motion, split.** For :math:`f(x) = \sum_r a_r\phi(z_r(x))`, :math:`z_r = w_r\cdot x`, the
learning-rate-weighted kernel diagonal is :math:`\Theta(x,x) = \eta_W\lVert x\rVert^2\sum_r a_r^2\phi'(z_r)^2 +
\eta_a\sum_r\phi(z_r)^2`. Between step 0 and step :math:`T` its change splits exactly into three pieces,

.. math::

   \Delta\Theta(x,x) = \underbrace{\eta_W\lVert x\rVert^2\sum_r a_r(0)^2\,[\phi'(z_r(T))^2 - \phi'(z_r(0))^2]}_{
   \text{flips}}
   + \underbrace{\eta_W\lVert x\rVert^2\sum_r [a_r(T)^2 - a_r(0)^2]\,\phi'(z_r(T))^2}_{\text{output weights}}
   + \underbrace{\eta_a\sum_r [\phi(z_r(T))^2 - \phi(z_r(0))^2]}_{\text{output layer}}

(:func:`split_change`). For a piecewise-linear :math:`\phi` (leaky ReLU) the first piece is carried only by
neurons whose activation pattern flipped on :math:`x`, hence its name; for a smooth one it is the change of
:math:`\phi'`. The split needs the weights after training, which a sweep does not keep: :func:`trained_params`
re-runs one run on the library's Gram engine (:mod:`widthlimits.engines`, where :math:`W_k = W_0 + C_k X`
under full-batch GD, so a step costs :math:`O(n^2 d)`), and :func:`split_changes` does so for every run of a
sweep. The span identity lives there only; this module reads the materialised weights.

**The kernel models.** :func:`linearised_outputs` rebuilds each run's initial draw, its empirical kernel
:math:`\Theta_0` and initial outputs, and trains the linearised network (kernel GD on :math:`\Theta_0`) and kernel
GD on a fixed expected kernel from the same outputs; :func:`sup_rms` is the distance between two output paths.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, kernels, models, scalings, training
from widthlimits import data as data_mod
from widthlimits.data import Dataset


class KernelChange(NamedTuple):
    """The three pieces of :math:`\\Theta_T(x,x) - \\Theta_0(x,x)` (module docstring), each ``(..., n_kernel)``."""

    flips: Any
    output_weights: Any
    output_layer: Any

    @property
    def total(self):
        """Their sum, the whole change of the kernel diagonal."""
        return self.flips + self.output_weights + self.output_layer


def _dphi(mlp: models.MLP, z: jax.Array) -> jax.Array:
    """:math:`\\phi'(z)`, elementwise. Piecewise-linear activations by their slopes (exact, no rounding)."""
    if mlp.activation in ("leaky_relu", "relu"):
        return jnp.where(z > 0, 1.0, mlp.negative_slope if mlp.activation == "leaky_relu" else 0.0)
    return jax.jvp(mlp.phi, (z,), (jnp.ones_like(z),))[1]


def _check_one_layer(mlp: object) -> models.MLP:
    mlp = models._check_mlp(mlp)
    if mlp.depth != 1:
        raise ValueError(f"mlp.depth must be 1 (the split is of a one-hidden-layer kernel), got {mlp.depth}")
    return mlp


def split_change(
    mlp: models.MLP, params0: models.Params, params: models.Params, lr_w: float, lr_a: float, x_kernel: Any
) -> KernelChange:
    r"""The split of :math:`\Theta(x,x)` between ``params0`` and ``params`` on ``x_kernel (m, n_in)``: pieces ``(m,)``.

    ``lr_w, lr_a >= 0`` are the input- and output-layer rates that weight the kernel (module docstring).
    """
    mlp = _check_one_layer(mlp)
    models._check_params(mlp, params0, "params0")
    models._check_params(mlp, params, "params")
    lr_w, lr_a = (_validate.real(n, v, low=0) for n, v in (("lr_w", lr_w), ("lr_a", lr_a)))
    xk = jnp.asarray(data_mod.check_inputs(x_kernel, mlp.n_in, name="x_kernel"))
    return _split(mlp, params0["w"], params0["a"], params["w"], params["a"], lr_w, lr_a, xk)


# Compiled, not run op by op: under jax 0.7.2 on the CPU (Colab's build) the eager version returned a different
# result for one run per call, a different run each time (found by tests/test_colab.py); compiled, it is exact.
@functools.partial(jax.jit, static_argnums=0)
def _split(mlp, w0, a0, w, a, lr_w, lr_a, xk) -> KernelChange:
    zk0, zk = xk @ w0.T, xk @ w.T  # (m, d) pre-activations before and after
    d0, dt = (_dphi(mlp, z) ** 2 for z in (zk0, zk))
    xx = lr_w * jnp.sum(xk**2, axis=1)
    return KernelChange(
        xx * ((dt - d0) @ a0**2),
        xx * (dt @ (a**2 - a0**2)),
        lr_a * jnp.sum(mlp.phi(zk) ** 2 - mlp.phi(zk0) ** 2, axis=1),
    )


def trained_params(
    mlp: models.MLP, width: int, scaling: scalings.Scaling, data: Dataset, *, key: jax.Array, ref_lr: float,
    n_steps: int, loss: str = "mse", ref_width: int = scalings.REF_WIDTH
) -> tuple[models.Params, models.Params]:  # fmt: skip
    r"""``(params0, params_T)`` of the run :func:`~widthlimits.training.train` does with this key (one hidden
    layer, full-batch GD), its weights after ``n_steps`` steps materialised as :math:`W_0 + C_T X`.

    The steps are :func:`training.engine <widthlimits.engines.engine>`'s with ``engine="gram"``; only the
    training set enters them, so ``data``'s test set may be anything (the metrics on it are discarded).
    """
    mlp = _check_one_layer(mlp)
    if scaling.optimizer != "gd":
        raise ValueError(f"scaling.optimizer must be 'gd' (the Gram engine is exact for GD), got {scaling.optimizer!r}")
    run = training.make_run(scaling, key=key, ref_lr=ref_lr)
    config = training.TrainConfig(n_steps=n_steps, n_kernel=1, ref_width=ref_width, engine="gram", loss=loss)
    return _trained(mlp, _validate.width("width", width), config, run, data_mod.check_dataset(data, mlp.n_in))


@functools.partial(jax.jit, static_argnames=("mlp", "width", "config"))
def _trained(mlp: models.MLP, width: int, config: training.TrainConfig, run: training.Run, data: Dataset):
    """:func:`trained_params` compiled once per ``(mlp, width, config)``: the run and the data are arguments (never
    constants of the program, so a compiled program cannot hold a stale training set), and every seed reuses it."""
    eng = training.engine(mlp, width, run, data, config)
    step = lambda s, _: (eng.update(s, eng.observe(s)), None)  # noqa: E731
    final = jax.lax.scan(step, eng.init(), None, length=config.n_steps)[0]
    return eng.params(eng.init()), eng.params(final)


def _sweep_runs(mlp, widths, scaling, seeds, ref_lr, ref_width):
    """``(width, seed, hyperparameters, initial draw)`` of every run of a sweep, in (width, seed) order."""
    widths = _validate.integers("widths", widths, low=1, high=_validate.MAX_WIDTH, distinct=True)
    seeds = _validate.integers("seeds", seeds, low=0, high=2**32 - 1, distinct=True)
    scalings._check_scaling("scaling", scaling)
    ref_lr = _validate.real("ref_lr", ref_lr, low=0, open_low=True)
    for w in widths:
        hp = scalings.hyperparams(scaling, w, ref_width=ref_width, ref_lr=ref_lr)
        for s in seeds:  # the draw experiments.sweep trains for seed s
            yield w, s, hp, models.init(mlp, w, scaling, key=jax.random.PRNGKey(s), ref_width=ref_width)


def split_changes(
    mlp: models.MLP, widths: Sequence[int], scaling: scalings.Scaling, data: Dataset, *, seeds: Sequence[int],
    ref_lr: float, n_steps: int, n_kernel: int, ref_width: int = scalings.REF_WIDTH
) -> KernelChange:  # fmt: skip
    """:func:`split_change` over ``n_steps`` of every ``(width, seed)`` run of a sweep trained with ``loss="mse"``.

    Seed ``s`` is the key ``jax.random.PRNGKey(s)``, as in ``experiments.sweep``; the kernel is split on the first
    ``n_kernel`` test images, those on which a sweep records it. Pieces are NumPy arrays ``(W, S, n_kernel)``.
    """
    mlp = _check_one_layer(mlp)
    data = data_mod.check_dataset(data, mlp.n_in)
    n_kernel = _validate.integer("n_kernel", n_kernel, low=1, high=data.x_test.shape[0])
    small = data._replace(x_test=data.x_test[:n_kernel], y_test=data.y_test[:n_kernel])
    xk = jnp.asarray(small.x_test)
    out = []
    for w, s, hp, p0 in _sweep_runs(mlp, widths, scaling, seeds, ref_lr, ref_width):
        key = jax.random.PRNGKey(s)
        _, pt = trained_params(mlp, w, scaling, small, key=key, ref_lr=ref_lr, n_steps=n_steps, ref_width=ref_width)
        out.append([np.asarray(v) for v in _split(mlp, p0["w"], p0["a"], pt["w"], pt["a"], hp.lr_w, hp.lr_a, xk)])
    shape = (len(widths), len(seeds), n_kernel)
    return KernelChange(*(np.reshape(piece, shape) for piece in zip(*out)))


class KernelModels(NamedTuple):
    """Per run ``(W, S)``: initial outputs ``f0_train (W, S, n)``, ``f0_test (W, S, m)``; test-output paths
    ``linearised (W, S, T+1, m)`` (kernel GD on the run's own :math:`\\Theta_0`) and ``reference (W, S, T+1, m)``
    (kernel GD on the given expected kernel), both started from the run's own initial outputs."""

    f0_train: np.ndarray
    f0_test: np.ndarray
    linearised: np.ndarray
    reference: np.ndarray


def linearised_outputs(
    mlp: models.MLP, widths: Sequence[int], scaling: scalings.Scaling, data: Dataset, *, seeds: Sequence[int],
    ref_lr: float, n_steps: int, theta_ref: Any, ref_width: int = scalings.REF_WIDTH
) -> KernelModels:  # fmt: skip
    r"""The kernel models of every ``(width, seed)`` run of a square-loss sweep (:class:`KernelModels`).

    ``theta_ref (n, n + m)`` is the expected kernel between the training set and ``[x_train; x_test]``
    (:func:`~widthlimits.kernels.reference_kernels` at ``ref_lr``); its path is the closed form
    :func:`~widthlimits.kernels.mse_kernel_gd`, the linearised one :func:`~widthlimits.kernels.kernel_gd` on the
    run's :func:`~widthlimits.kernels.empirical_ntk`.
    """
    data = data_mod.check_dataset(data, models._check_mlp(mlp).n_in)
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    x_all = np.concatenate([data.x_train, data.x_test])
    n, m = data.x_train.shape[0], data.x_test.shape[0]
    theta_ref = _validate.array("theta_ref", theta_ref, shape=(n, n + m))
    f0_train, f0_test, lin = [], [], []
    for _, _, hp, p0 in _sweep_runs(mlp, widths, scaling, seeds, ref_lr, ref_width):
        th0 = kernels.empirical_ntk(mlp, p0, data.x_train, x_all, jnp.stack([hp.lr_w, hp.lr_a]))
        f0 = models.apply_batch(mlp, p0, x_all)
        f0_train.append(f0[:n])
        f0_test.append(f0[n:])
        path = kernels.kernel_gd(th0[:, :n], th0[:, n:].T, f0[:n], f0[n:], data.y_train, n_steps=n_steps, loss="mse")
        lin.append(path[1])
    runs = (len(widths), len(seeds))
    f0_train, f0_test = np.reshape(f0_train, (*runs, n)), np.reshape(f0_test, (*runs, m))
    steps = np.arange(n_steps + 1)
    th_train, th_test = theta_ref[:, :n], theta_ref[:, n:].T
    ref = jax.vmap(lambda a, b: kernels.mse_kernel_gd(th_train, th_test, a, b, data.y_train, steps)[1])(
        f0_train.reshape(-1, n), f0_test.reshape(-1, m)
    )
    paths = [np.reshape(np.asarray(p), (*runs, n_steps + 1, m)) for p in (lin, ref)]
    return KernelModels(f0_train, f0_test, *paths)


def sup_rms(a: Any, b: Any) -> np.ndarray:
    """Max over steps of the RMS over test points of ``a - b``: ``(..., step, point) -> (...)``."""
    a, b = (np.asarray(_validate.array(n, v, kinds="f")) for n, v in (("a", a), ("b", b)))
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(f"a and b must have one shape (..., step, point), got {a.shape} and {b.shape}")
    return np.sqrt(np.mean((a - b) ** 2, axis=-1)).max(axis=-1)


def diagonal_motion(kernel: Any) -> np.ndarray:
    r"""Relative change :math:`\lVert\Theta_T - \Theta_0\rVert/\lVert\Theta_0\rVert` of a recorded kernel diagonal.

    ``kernel (..., step, layer, point)`` as a sweep records it (learning-rate weighted, one row per layer);
    the layers are summed and the norm is over points: returns ``(...)``.
    """
    k = np.asarray(_validate.array("kernel", kernel, kinds="f"))
    if k.ndim < 3:
        raise ValueError(f"kernel must have shape (..., step, layer, point), got {k.shape}")
    diag = k.sum(axis=-2)
    return np.linalg.norm(diag[..., -1, :] - diag[..., 0, :], axis=-1) / np.linalg.norm(diag[..., 0, :], axis=-1)
