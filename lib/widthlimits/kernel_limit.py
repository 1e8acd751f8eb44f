r"""The kernel limits on the MF-NTK line, and the record every limit model returns.

On the MF-NTK line the expected initial learning-rate-weighted tangent kernel is :math:`\Theta_{\text{ref}}` at every
width (:func:`widthlimits.kernels.reference_kernels`), and for NTK and the intermediate scalings it freezes as
:math:`d\to\infty`: the per-neuron steps shrink like :math:`d^{q_\sigma + \tilde q}`, so the second-order terms of a
step vanish. Their limits are kernel GD,

.. math::

   f_{k+1} = f_k - \frac1n\,\eta^*\Theta_{\text{ref}}(\cdot, X)\,\ell'(f_k),

started from a Gaussian process with covariance :math:`K_{\text{NNGP}}` (NTK, :func:`gp_logits`) or from
:math:`f\equiv0` (intermediate, whose initial logits vanish like :math:`d^{-1/4}`): :func:`kernel_limit`.

**Records.** Every limit model (these and the MF particle recursion of :mod:`widthlimits.particle_limit`) returns a
:class:`Trajectory`, whose ``nonfinite_step`` is the first step at which a logit or the training loss is NaN/inf or a
logit exceeds :func:`~widthlimits.divergence.divergence_threshold` of the initial logits (the criterion of
:class:`~widthlimits.runs.History`): a limit model that blows up is flagged too.

All names are re-exported by :mod:`widthlimits.limits`, where callers find them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, kernels, models, scalings
from widthlimits import data as data_mod
from widthlimits.data import Dataset
from widthlimits.divergence import diverged, divergence_threshold, first_diverged_step
from widthlimits.losses import LOSSES, accuracy


class Trajectory(NamedTuple):
    r"""Records of a limit model at steps ``k = 0..T`` (field names as in :class:`~widthlimits.runs.History`).

    Attributes:
      train_loss, train_acc, test_loss, test_acc: ``(..., T+1)``.
      test_logits: ``(..., T+1, n_test)``.
      nonfinite_step: ``(...,)`` int32, the first step at which the model diverged (NaN, inf, or a training or
        test logit above :func:`~widthlimits.divergence.divergence_threshold` of the initial logits), -1 if none.
    """

    train_loss: jax.Array
    train_acc: jax.Array
    test_loss: jax.Array
    test_acc: jax.Array
    test_logits: jax.Array
    nonfinite_step: jax.Array


def _trajectory(f_train: jax.Array, f_test: jax.Array, data: Dataset, loss: str) -> Trajectory:
    """``f_train (T+1, n)``, ``f_test (T+1, n_test)`` -> :class:`Trajectory` (shared by every limit model)."""
    loss_fn = jax.vmap(LOSSES[loss], in_axes=(0, None))
    acc = jax.vmap(accuracy, in_axes=(0, None))
    y, yt = jnp.asarray(data.y_train), jnp.asarray(data.y_test)
    train_loss = loss_fn(f_train, y)
    # The bound applies to logits only (a square loss of 1e8 is a logit of ~1.4e4); the loss is checked for NaN/inf.
    threshold = divergence_threshold(jnp.concatenate([f_train[0], f_test[0]]))
    logits_bad = jnp.any(diverged(f_train, threshold), -1) | jnp.any(diverged(f_test, threshold), -1)
    bad = ~jnp.isfinite(train_loss) | logits_bad
    return Trajectory(
        train_loss, acc(f_train, y), loss_fn(f_test, yt), acc(f_test, yt), f_test, first_diverged_step(bad)
    )


def _check_loss(loss: str) -> None:
    _validate.choice("loss", loss, tuple(LOSSES))


def _check_lr(ref_lr: Any) -> float:
    return _validate.real("ref_lr", ref_lr, low=0, open_low=True)


def _check_one_hidden_layer(mlp: object, what: str) -> models.MLP:
    mlp = models._check_mlp(mlp)
    if mlp.depth != 1:
        raise ValueError(f"mlp.depth must be 1 ({what} is for one hidden layer), got {mlp.depth}")
    return mlp


class LimitKernels(NamedTuple):
    """Reference kernels on the ``N = n + n_test`` points of a dataset (training points first).

    Attributes:
      nngp: ``(N, N)`` covariance of the Gaussian-process logits of the reference initialisation.
      theta: ``(N, n)`` expected tangent kernel at unit reference learning rate (multiply by ``ref_lr``).
    """

    nngp: jax.Array
    theta: jax.Array


def limit_kernels(mlp: models.MLP, data: Dataset, *, ref_width: int = scalings.REF_WIDTH) -> LimitKernels:
    """:func:`widthlimits.kernels.reference_kernels` on train + test points, once for every learning rate."""
    _check_one_hidden_layer(mlp, "the reference kernel")
    data = data_mod.check_dataset(data, mlp.n_in)
    ref_width = _validate.width("ref_width", ref_width)
    x_all = jnp.concatenate([jnp.asarray(data.x_train), jnp.asarray(data.x_test)])
    nngp, theta = kernels.reference_kernels(x_all, x_all, mlp=mlp, ref_width=ref_width, ref_lr=1.0)
    return LimitKernels(nngp, theta[:, : data.x_train.shape[0]])


def _check_limit_kernels(k: object) -> None:
    if not isinstance(k, LimitKernels):
        raise TypeError(f"k must be limits.LimitKernels (from limit_kernels), got {type(k).__name__}")
    nngp = _validate.array("k.nngp", k.nngp, ndim=2, kinds="f")
    n_all = nngp.shape[0]
    if nngp.shape != (n_all, n_all) or n_all < 2:
        raise ValueError(f"k.nngp must be a square (N, N) matrix with N >= 2, got {tuple(nngp.shape)}")
    theta = _validate.array("k.theta", k.theta, ndim=2, kinds="f")
    if theta.shape[0] != n_all or not 1 <= theta.shape[1] < n_all:
        raise ValueError(f"k.theta must have shape (N, n) with N = {n_all} and 1 <= n < N, got {tuple(theta.shape)}")


def gp_logits(k: LimitKernels, *, key: jax.Array, n_samples: int, jitter: float = 1e-6) -> jax.Array:
    r"""``(n_samples, N)`` draws of the NTK limit's initial logits :math:`g\sim\mathcal N(0, K_{\text{NNGP}})`.

    ``jitter`` (relative to the mean diagonal, ``>= 0``) is added before the Cholesky factorisation, in float64.
    """
    _check_limit_kernels(k)
    models._check_key(key)
    n_samples = _validate.integer("n_samples", n_samples, low=1)
    jitter = _validate.real("jitter", jitter, low=0)
    cov = np.asarray(k.nngp, np.float64)
    cov = cov + jitter * np.mean(np.diag(cov)) * np.eye(len(cov))
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"k.nngp + jitter * mean(diag) * I is not positive definite (jitter={jitter:g}); increase jitter"
        ) from None
    z = np.asarray(jax.random.normal(key, (n_samples, len(cov))), np.float64)
    return jnp.asarray(z @ chol.T, jnp.float32)


def kernel_limit(
    k: LimitKernels,
    data: Dataset,
    *,
    n_steps: int,
    f0: jax.Array | None = None,
    ref_lr: float = scalings.REF_LR["gd"],
    loss: str = "logistic",
) -> Trajectory:
    r"""Kernel GD with :math:`\eta^*\Theta_{\text{ref}}` from ``f0 (N,)`` (NTK limit: a :func:`gp_logits` draw)
    or from :math:`f \equiv 0` (``f0=None``: the intermediate limit).

    ``k`` must be :func:`limit_kernels` of ``data`` (its ``N = n + n_test`` points, training points first).
    """
    _check_limit_kernels(k)
    data = data_mod.check_dataset(data)
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    ref_lr = _check_lr(ref_lr)
    _check_loss(loss)
    n, n_all = data.x_train.shape[0], data.x_train.shape[0] + data.x_test.shape[0]
    if tuple(k.theta.shape) != (n_all, n):
        raise ValueError(
            f"k must be limit_kernels of data: k.theta must have shape (n + n_test, n) = ({n_all}, {n}), "
            f"got {tuple(k.theta.shape)}"
        )
    if f0 is None:
        f0 = jnp.zeros(n_all, jnp.float32)
    else:
        f0 = jnp.asarray(_validate.array("f0", f0, kinds="fiu"), jnp.float32)
        if f0.shape != (n_all,):
            raise ValueError(f"f0 must have shape ({n_all},) (train then test points), got {f0.shape}")
    theta = ref_lr * k.theta
    run = kernels.kernel_gd(theta[:n], theta[n:], f0[:n], f0[n:], jnp.asarray(data.y_train), n_steps=n_steps, loss=loss)
    return _trajectory(run.f_train, run.f_test, data, loss)
