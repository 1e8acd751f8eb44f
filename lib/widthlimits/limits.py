r"""Discrete-time infinite-width limit models of the one-hidden-layer net, and their distance to finite nets.

**Mean field.** Under MF scaling the width-:math:`d` net is
:math:`f_d(x) = c^*\frac1d\sum_r\hat a_r\phi(\hat w_r\cdot x)` with :math:`c^* = \sigma^* d^* = \sqrt{d^*/3}`,
and one GD step moves every particle :math:`\theta_r = (\hat a_r, \hat w_r)` by a map that does not depend on :math:`d`:

.. math::

   \hat a \leftarrow \hat a - \frac{\eta^*}{\sigma^*}\,\mathbb E_j\big[\ell'_j\,\phi(\hat w\cdot x_j)\big],\qquad
   \hat w \leftarrow \hat w - \eta^*\sigma^*\,\mathbb E_j\big[\ell'_j\,\hat a\,\phi'(\hat w\cdot x_j)\,x_j\big],

with :math:`\ell'_j = \partial_f\ell(y_j, f(x_j))`. The limit replaces the empirical mean over :math:`d` particles
by the expectation over their law; :func:`mf_limit` simulates it with :math:`M \gg d` particles, written directly in
these hat variables (independently of :mod:`widthlimits.training`). Since every :math:`\hat w` update is a
combination of the training inputs, :math:`\hat w_r = \hat w_r(0) + \sum_j B_{jr} x_j` and a step costs
:math:`O((n + n_{\text{test}})\,n\,M)` flops.

**Kernel limits.** On the MF-NTK line the expected initial learning-rate-weighted kernel is
:math:`\Theta_{\text{ref}}` at every width, and for NTK and the intermediate scalings it freezes as
:math:`d\to\infty`. Their limits are kernel GD,
:math:`f_{k+1} = f_k - \frac1n\Theta_{\text{ref}}(\cdot, X)\,\ell'(f_k)`, started from a Gaussian process
with covariance :math:`K_{\text{NNGP}}` (NTK) or from :math:`f\equiv0` (intermediate, whose initial logits
vanish like :math:`d^{-1/4}`): :func:`kernel_limit`.

**Distances.** :func:`logit_divergences` compares the law of the logits across seeds, point by point.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import betaln, digamma

from widthlimits import kernels, models, scalings, training
from widthlimits.data import Dataset


class Trajectory(NamedTuple):
    """Records of a limit model at steps ``k = 0..T`` (field names as in :class:`~widthlimits.training.History`).

    Attributes:
      train_loss, train_acc, test_loss, test_acc: ``(..., T+1)``.
      test_logits: ``(..., T+1, n_test)``.
    """

    train_loss: jax.Array
    train_acc: jax.Array
    test_loss: jax.Array
    test_acc: jax.Array
    test_logits: jax.Array


def _trajectory(f_train: jax.Array, f_test: jax.Array, data: Dataset, loss: str) -> Trajectory:
    """``f_train (T+1, n)``, ``f_test (T+1, n_test)`` -> :class:`Trajectory`."""
    loss_fn = jax.vmap(training.LOSSES[loss], in_axes=(0, None))
    acc = jax.vmap(training.accuracy, in_axes=(0, None))
    y, yt = jnp.asarray(data.y_train), jnp.asarray(data.y_test)
    return Trajectory(loss_fn(f_train, y), acc(f_train, y), loss_fn(f_test, yt), acc(f_test, yt), f_test)


def _check_loss(loss: str) -> None:
    if loss not in training.LOSSES:
        raise ValueError(f"loss must be one of {tuple(training.LOSSES)}, got {loss!r}")


def _check_positive_int(name: str, value: object, low: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_lr(ref_lr: float) -> None:
    if not (isinstance(ref_lr, numbers.Real) and math.isfinite(ref_lr) and ref_lr > 0):
        raise ValueError(f"ref_lr must be a finite number > 0, got {ref_lr!r}")


# ----------------------------------------------------------------------------------------- mean field


class Particles(NamedTuple):
    """``M`` particles of the MF limit in hat variables: ``a_hat (M,)`` (unit variance) and ``w_hat (M, n_in)``."""

    a_hat: jax.Array
    w_hat: jax.Array


def mf_particles(mlp: models.MLP, n_particles: int, *, key: jax.Array) -> Particles:
    r"""``n_particles`` i.i.d. draws from the initial law :math:`\mu^{(0)}`.

    They are exactly the hat weights of the width-``n_particles`` MF net drawn with the same ``key``
    (:math:`\hat a_r = a_r/\sigma = a^{\text{ref}}_r\sqrt{3d}`, :math:`\hat w_r = w_r`), so a net and a particle
    system can be compared draw by draw.
    """
    _check_positive_int("n_particles", n_particles)
    p = models.init_reference(mlp, n_particles, key=key)
    return Particles(p["a"] * jnp.sqrt(jnp.float32(3 * n_particles)), p["w"])


@functools.partial(jax.jit, static_argnames=("mlp", "n_steps", "loss", "ref_width"))
def _mf_run(mlp, particles, data, ref_lr, n_steps, loss, ref_width):
    with jax.default_matmul_precision("highest"):
        sigma_star = 1 / math.sqrt(3 * ref_width)
        c_star = sigma_star * ref_width
        step_a, step_w = ref_lr / sigma_star, ref_lr * sigma_star  # per-particle step sizes, width-free
        x, y, xt, _ = data
        n = x.shape[0]
        x_all = jnp.concatenate([x, xt])
        z0_all, gram_all = x_all @ particles.w_hat.T, x_all @ x.T  # (n + n_test, M), (n + n_test, n)
        dphi = jax.vmap(jax.vmap(jax.grad(mlp.phi)))

        def logits(b, a_hat):
            z_all = z0_all + gram_all @ b
            return z_all, c_star * (mlp.phi(z_all) @ a_hat) / a_hat.shape[0]

        def step(state, _):
            b, a_hat = state
            z_all, f_all = logits(b, a_hat)
            z = z_all[:n]
            g = jax.grad(training.LOSSES[loss])(f_all[:n], y) * n  # per-example dl/df
            a_new = a_hat - step_a * (g @ mlp.phi(z)) / n  # E_j[l'_j phi(w.x_j)]
            b_new = b - step_w * (g[:, None] * dphi(z) * a_hat[None, :]) / n  # coefficients of E_j[l'_j a phi' x_j]
            return (b_new, a_new), f_all

        state0 = (jnp.zeros((n, particles.a_hat.shape[0]), jnp.float32), particles.a_hat)
        last, f_seq = jax.lax.scan(step, state0, None, length=n_steps)
        f_all = jnp.concatenate([f_seq, logits(*last)[1][None]])
        return f_all[:, :n], f_all[:, n:]


def mf_limit(
    mlp: models.MLP,
    data: Dataset,
    *,
    n_particles: int | None = None,
    key: jax.Array | None = None,
    particles: Particles | None = None,
    n_steps: int,
    ref_lr: float = scalings.REF_LR["gd"],
    ref_width: int = scalings.REF_WIDTH,
    loss: str = "logistic",
) -> Trajectory:
    r"""The discrete-time MF limit of full-batch GD, simulated with ``M`` particles (module docstring).

    Give either ``n_particles`` and ``key`` (fresh particles from :func:`mf_particles`) or ``particles``.
    The logit is :math:`c^*\frac1M\sum_r\hat a_r\phi(\hat w_r\cdot x)`; its Monte-Carlo error is
    :math:`O(M^{-1/2})`. One hidden layer only; compiles once per ``(M, n_steps, data shapes)``, ``ref_lr`` traced.
    """
    if mlp.depth != 1:
        raise ValueError(f"mlp.depth must be 1 (the particle limit is for one hidden layer), got {mlp.depth}")
    _check_positive_int("n_steps", n_steps, 0)
    _check_lr(ref_lr)
    _check_loss(loss)
    scalings._check_width("ref_width", ref_width)
    if particles is None:
        if n_particles is None or key is None:
            raise ValueError("give either particles, or both n_particles and key")
        particles = mf_particles(mlp, n_particles, key=key)
    data = Dataset(*(jnp.asarray(a, jnp.float32) for a in data))
    f_train, f_test = _mf_run(mlp, particles, data, jnp.float32(ref_lr), n_steps, loss, ref_width)
    return _trajectory(f_train, f_test, data, loss)


# ----------------------------------------------------------------------------------------- kernel limits


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
    x_all = jnp.concatenate([jnp.asarray(data.x_train), jnp.asarray(data.x_test)])
    nngp, theta = kernels.reference_kernels(x_all, x_all, mlp=mlp, ref_width=ref_width, ref_lr=1.0)
    return LimitKernels(nngp, theta[:, : data.x_train.shape[0]])


def gp_logits(k: LimitKernels, *, key: jax.Array, n_samples: int, jitter: float = 1e-6) -> jax.Array:
    r"""``(n_samples, N)`` draws of the NTK limit's initial logits :math:`g\sim\mathcal N(0, K_{\text{NNGP}})`.

    ``jitter`` (relative to the mean diagonal) is added before the Cholesky factorisation, in float64.
    """
    _check_positive_int("n_samples", n_samples)
    cov = np.asarray(k.nngp, np.float64)
    cov = cov + jitter * np.mean(np.diag(cov)) * np.eye(len(cov))
    chol = np.linalg.cholesky(cov)
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
    or from :math:`f \equiv 0` (``f0=None``: the intermediate limit)."""
    _check_positive_int("n_steps", n_steps, 0)
    _check_lr(ref_lr)
    _check_loss(loss)
    n, n_all = data.x_train.shape[0], k.theta.shape[0]
    f0 = jnp.zeros(n_all, jnp.float32) if f0 is None else jnp.asarray(f0, jnp.float32)
    if f0.shape != (n_all,):
        raise ValueError(f"f0 must have shape ({n_all},) (train then test points), got {f0.shape}")
    theta = ref_lr * k.theta
    f_train, f_test = kernels.kernel_gd(
        theta[:n], theta[n:], f0[:n], f0[n:], jnp.asarray(data.y_train), n_steps=n_steps, loss=loss
    )
    return _trajectory(f_train, f_test, data, loss)


# ----------------------------------------------------------------------------------------- distances


def _moments(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits, np.float64)
    if logits.ndim < 1 or logits.shape[0] < 2:
        raise ValueError(f"logits must have a leading seed axis of length >= 2, got shape {logits.shape}")
    return logits.mean(0), logits.var(0, ddof=1)


def gaussian_kl(mean_p, var_p, mean_q, var_q) -> np.ndarray:
    r""":math:`\mathrm{KL}(\mathcal N(\mu_p,\sigma_p^2)\,\|\,\mathcal N(\mu_q,\sigma_q^2))`, elementwise; ``inf`` if
    :math:`\sigma_q = 0 < \sigma_p` (a deterministic model cannot explain a random reference)."""
    mp, vp, mq, vq = (np.asarray(a, np.float64) for a in (mean_p, var_p, mean_q, var_q))
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = 0.5 * (np.log(vq / vp) + (vp + (mp - mq) ** 2) / vq - 1)
    return np.where(vq > 0, kl, np.inf)


def _beta_params(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, v = p.mean(0), p.var(0, ddof=1)
    common = m * (1 - m) / np.maximum(v, 1e-300) - 1  # method of moments; needs v < m (1 - m)
    return m * common, (1 - m) * common


def beta_kl(a_p, b_p, a_q, b_q) -> np.ndarray:
    r""":math:`\mathrm{KL}(\mathrm{Beta}(a_p,b_p)\,\|\,\mathrm{Beta}(a_q,b_q))`, elementwise (float64)."""
    a_p, b_p, a_q, b_q = (np.asarray(x, np.float64) for x in (a_p, b_p, a_q, b_q))
    return (
        betaln(a_q, b_q)
        - betaln(a_p, b_p)
        + (a_p - a_q) * digamma(a_p)
        + (b_p - b_q) * digamma(b_p)
        + (a_q - a_p + b_q - b_p) * digamma(a_p + b_p)
    )


def logit_divergences(logits: np.ndarray, ref_logits: np.ndarray) -> dict[str, float]:
    r"""How far the law of a model's logits is from the reference's, per test point, averaged over points.

    ``logits (S, ..., n)`` and ``ref_logits (S', ..., n)`` hold independent seeds on the leading axis. Returns
    averages over points (means, or root-mean-squares for the distances) of

    * ``gauss_kl``: :math:`\mathrm{KL}(\text{ref}\,\|\,\text{model})` between fitted normals (``inf`` for a
      deterministic model);
    * ``beta_kl``: the same between Beta laws fitted to :math:`\mathrm{sigmoid}(f)` by moments (``inf`` likewise);
    * ``sign_gap``: :math:`|P(f > 0) - P_{\text{ref}}(f > 0)|` (the accuracy-relevant part);
    * ``w2``: the 2-Wasserstein distance between the fitted normals,
      :math:`\sqrt{(\mu-\mu_{\text{ref}})^2 + (\sigma-\sigma_{\text{ref}})^2}`, finite for every model, and its
      two parts ``w2_mean`` (RMS over points of :math:`\mu-\mu_{\text{ref}}`) and ``w2_spread``.
    """
    m, v = _moments(logits)
    mr, vr = _moments(ref_logits)
    if m.shape != mr.shape:
        raise ValueError(f"logits and ref_logits must agree after the seed axis, got {m.shape} and {mr.shape}")
    p, pr = (1 / (1 + np.exp(-np.asarray(a, np.float64))) for a in (logits, ref_logits))
    (a, b), (ar, br) = _beta_params(p), _beta_params(pr)
    deterministic = v <= 1e-12 * np.maximum(vr, 1e-30)
    beta = np.where(
        deterministic, np.inf, beta_kl(ar, br, np.where(deterministic, 1.0, a), np.where(deterministic, 1.0, b))
    )
    sign = np.abs((np.asarray(logits) > 0).mean(0) - (np.asarray(ref_logits) > 0).mean(0))
    return dict(
        gauss_kl=float(np.mean(gaussian_kl(mr, vr, m, np.where(deterministic, 0.0, v)))),
        beta_kl=float(np.mean(beta)),
        sign_gap=float(np.mean(sign)),
        w2=float(np.sqrt(np.mean((m - mr) ** 2 + (np.sqrt(v) - np.sqrt(vr)) ** 2))),
        w2_mean=float(np.sqrt(np.mean((m - mr) ** 2))),
        w2_spread=float(np.sqrt(np.mean((np.sqrt(v) - np.sqrt(vr)) ** 2))),
    )
