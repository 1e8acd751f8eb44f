r"""Kernel gradient descent: the training dynamics of a model linear in its parameters, for any kernel.

With a fixed kernel :math:`\Theta` (learning-rate weighted), full-batch GD on the mean loss moves the logits by
:math:`f_{k+1} = f_k - \frac1n\Theta(\cdot, X)\,\ell'(f_k)`: :func:`kernel_gd` iterates it for the logistic or
square loss, and for the square loss :func:`mse_kernel_gd` (discrete steps) and :func:`mse_kernel_flow` (the
gradient flow) give the trajectory in closed form through the eigendecomposition of :math:`\Theta(X, X)`.
Every trajectory reports its first diverged step (:mod:`widthlimits.divergence`). The kernels themselves come
from :mod:`widthlimits.kernels`, which re-exports these functions.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate
from widthlimits.divergence import diverged, divergence_threshold, first_diverged_step

LOSSES = ("logistic", "mse")


# ----------------------------------------------------------------------------------------- kernel dynamics
class KernelTrajectory(NamedTuple):
    """Outputs ``f_train (K, n)`` and ``f_test (K, n_test)`` of kernel GD at ``K`` recorded steps, and
    ``nonfinite_step`` (``()`` int32): the first recorded step (a step number, not an index) at which an output is
    NaN, inf or above :func:`~widthlimits.divergence.divergence_threshold` of ``f0``; -1 if none. Index ``[0]``,
    ``[1]`` as before; unpack as ``f, ft, bad = ...``."""

    f_train: jax.Array
    f_test: jax.Array
    nonfinite_step: jax.Array


def _first_bad(f_train: jax.Array, f_test: jax.Array, steps: jax.Array, f0: jax.Array, f0t: jax.Array) -> jax.Array:
    """The smallest of ``steps (K,)`` at which ``f_train (K, n)`` or ``f_test (K, n_test)`` diverged, else -1."""
    threshold = divergence_threshold(jnp.concatenate([f0, f0t]))  # the scale of the initial outputs
    bad = jnp.any(diverged(f_train, threshold), -1) | jnp.any(diverged(f_test, threshold), -1)
    return first_diverged_step(bad, steps)


def _check_dynamics(theta_train, theta_test_train, f0_train, f0_test, y):
    """Shapes (``n = len(y) >= 1``, ``n_test = len(f0_test)``), finiteness and labels; float32 copies."""
    y = _validate.array("y", y, ndim=1, kinds="fiub", min_size=1)
    f0t = _validate.array("f0_test", f0_test, ndim=1, kinds="fiu")
    n, n_test = y.shape[0], f0t.shape[0]
    _validate.labels("y", y, n)  # the mse loss regresses onto 2y - 1; +-1 labels would regress onto +-3 and -1
    tt = _validate.array("theta_train", theta_train, shape=(n, n), kinds="fiu")
    ttx = _validate.array("theta_test_train", theta_test_train, shape=(n_test, n), kinds="fiu")
    f0 = _validate.array("f0_train", f0_train, shape=(n,), kinds="fiu")
    return tuple(jnp.asarray(a, jnp.float32) for a in (tt, ttx, f0, f0t, y))


@functools.partial(jax.jit, static_argnames=("n_steps", "loss"))
def _kernel_gd(tt, ttx, f0, f0t, y, n_steps, loss) -> KernelTrajectory:
    n = y.shape[0]

    def step(carry, _):
        f, ft = carry
        g = (jax.nn.sigmoid(f) - y if loss == "logistic" else f - (2 * y - 1)) / n  # d loss / d f, mean loss
        return (f - tt @ g, ft - ttx @ g), carry

    last, (fs, fts) = jax.lax.scan(step, (f0, f0t), None, length=n_steps)
    f_train, f_test = jnp.concatenate([fs, last[0][None]]), jnp.concatenate([fts, last[1][None]])
    return KernelTrajectory(f_train, f_test, _first_bad(f_train, f_test, jnp.arange(n_steps + 1), f0, f0t))


def kernel_gd(
    theta_train, theta_test_train, f0_train, f0_test, y, *, n_steps: int, loss: str = "logistic"
) -> KernelTrajectory:
    r"""Kernel gradient descent on the mean loss: ``-> (f_train (T+1, n), f_test (T+1, n_test), nonfinite_step)``.

    :math:`f_{k+1}(x) = f_k(x) - \frac1n\sum_j\Theta(x, x_j)\,\partial_f\ell(y_j, f_k(x_j))`, with
    ``theta_train (n, n)`` and ``theta_test_train (n_test, n)`` already learning-rate weighted and labels
    ``y (n,)`` in ``{0, 1}`` for both losses (``"mse"`` regresses onto :math:`2y-1`, as ``training.square_loss``).
    This is exactly GD on the linearised model whose tangent kernel is :math:`\Theta`. Returns a
    :class:`KernelTrajectory`: index ``[0]``/``[1]`` or the field names give the outputs as before.
    """
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    _validate.choice("loss", loss, LOSSES)
    return _kernel_gd(*_check_dynamics(theta_train, theta_test_train, f0_train, f0_test, y), n_steps, loss)


def _mse_closed(tt, ttx, f0, f0t, y, times, discrete):
    n = y.shape[0]
    mu, vec = jnp.linalg.eigh((tt + tt.T) / (2 * n))  # eigenpairs of Theta / n
    mu = jnp.maximum(mu, 0.0)[None, :]
    t = jnp.asarray(times, jnp.float32)[:, None]
    if discrete:  # residual factor (1 - mu)^k; test factor sum_{j<k} (1 - mu)^j = (1 - (1 - mu)^k) / mu
        small = mu < 1  # there, expm1/log1p avoid cancellation for tiny mu; else an exact integer power
        log_base = jnp.log1p(-jnp.where(small, mu, 0.0))
        power = jnp.power(1 - mu, jnp.asarray(times)[:, None])
        decay = jnp.where(small, jnp.exp(t * log_base), power)
        one_minus = jnp.where(small, -jnp.expm1(t * log_base), 1 - power)
    else:  # gradient flow: exp(-mu t) and (1 - exp(-mu t)) / mu
        decay, one_minus = jnp.exp(-mu * t), -jnp.expm1(-mu * t)
    accumulated = jnp.where(mu > 0, one_minus / jnp.where(mu > 0, mu, 1.0), t)
    e0 = vec.T @ (f0 - (2 * y - 1))  # initial residual in the eigenbasis
    f_train = (2 * y - 1)[None, :] + (decay * e0[None, :]) @ vec.T
    f_test = f0t[None, :] - (accumulated * e0[None, :]) @ (ttx @ vec).T / n
    return f_train, f_test


def mse_kernel_gd(theta_train, theta_test_train, f0_train, f0_test, y, steps) -> KernelTrajectory:
    r"""Closed form of ``kernel_gd(..., loss="mse")`` at integer ``steps (K,)``: ``-> (K, n), (K, n_test)``.

    With :math:`\Theta/n = V\,\mathrm{diag}(\mu)V^\top` and residual :math:`e_0 = f_0 - (2y-1)` on the training set,
    :math:`f_k = (2y-1) + V(1-\mu)^k V^\top e_0` and
    :math:`f_k(x) = f_0(x) - \tfrac1n\Theta(x,X)\,V\,\frac{1-(1-\mu)^k}{\mu}\,V^\top e_0` (the factor is :math:`k` at
    :math:`\mu = 0`). It converges iff every :math:`\mu < 2`; beyond, ``(1 - mu)^k`` grows geometrically, and the
    returned :class:`KernelTrajectory`'s ``nonfinite_step`` is the smallest of ``steps`` at which it diverged.
    """
    steps = np.asarray(_validate.array("steps", steps, ndim=1, kinds="iu", min_size=1))
    if not np.all((steps >= 0) & (steps <= np.iinfo(np.int32).max)):  # nonfinite_step records a step as int32
        raise ValueError(f"steps must be integers in [0, 2**31 - 1], got {steps!r}")
    tt, ttx, f0, f0t, y = _check_dynamics(theta_train, theta_test_train, f0_train, f0_test, y)
    f_train, f_test = _mse_closed(tt, ttx, f0, f0t, y, steps, True)
    return KernelTrajectory(f_train, f_test, _first_bad(f_train, f_test, jnp.asarray(steps, jnp.int32), f0, f0t))


def mse_kernel_flow(theta_train, theta_test_train, f0_train, f0_test, y, times):
    r"""Kernel gradient flow for the square loss at real ``times (K,)`` (in GD steps): ``-> (K, n), (K, n_test)``.

    The continuous-time limit of :func:`mse_kernel_gd`: :math:`(1-\mu)^k` becomes :math:`e^{-\mu t}` (Lee et al.
    2019's :math:`e^{-\eta\Theta t}` with the learning rate folded into :math:`\Theta` and the mean loss's :math:`1/n`).
    The flow cannot diverge (its factors :math:`e^{-\mu t} \le 1` and :math:`(1 - e^{-\mu t})/\mu \le t` are bounded
    for the clipped :math:`\mu \ge 0`), so it returns the plain pair ``(f_train, f_test)``.
    """
    times = np.asarray(_validate.array("times", times, ndim=1, kinds="fiu", min_size=1), dtype=float)
    if not np.all(times >= 0):
        raise ValueError(f"times must be a 1-D array of finite numbers >= 0, got {times!r}")
    return _mse_closed(*_check_dynamics(theta_train, theta_test_train, f0_train, f0_test, y), times, False)
