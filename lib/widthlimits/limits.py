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

**Divergence.** Every :class:`Trajectory` carries ``nonfinite_step``, the first step at which a logit or the
training loss is NaN/inf or a logit exceeds :func:`~widthlimits.divergence.divergence_threshold` of the initial
logits (the criterion of :class:`~widthlimits.training.History`): a limit model that blows up is flagged too.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, kernels, models, numerics, scalings, training
from widthlimits import data as data_mod
from widthlimits.data import Dataset
from widthlimits.divergence import diverged, divergence_threshold, first_diverged_step


class Trajectory(NamedTuple):
    r"""Records of a limit model at steps ``k = 0..T`` (field names as in :class:`~widthlimits.training.History`).

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
    """``f_train (T+1, n)``, ``f_test (T+1, n_test)`` -> :class:`Trajectory`."""
    loss_fn = jax.vmap(training.LOSSES[loss], in_axes=(0, None))
    acc = jax.vmap(training.accuracy, in_axes=(0, None))
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
    _validate.choice("loss", loss, tuple(training.LOSSES))


def _check_lr(ref_lr: Any) -> float:
    return _validate.real("ref_lr", ref_lr, low=0, open_low=True)


def _check_one_hidden_layer(mlp: object, what: str) -> models.MLP:
    mlp = models._check_mlp(mlp)
    if mlp.depth != 1:
        raise ValueError(f"mlp.depth must be 1 ({what} is for one hidden layer), got {mlp.depth}")
    return mlp


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
    models._check_mlp(mlp)
    n_particles = _validate.width("n_particles", n_particles)
    models._check_key(key)
    p = models.init_reference(mlp, n_particles, key=key)
    return Particles(p["a"] * jnp.sqrt(numerics.as_float(3 * n_particles)), p["w"])


def _check_particles(mlp: models.MLP, particles: object) -> None:
    if not isinstance(particles, Particles):
        raise TypeError(f"particles must be limits.Particles (from mf_particles), got {type(particles).__name__}")
    a_hat = _validate.array("particles.a_hat", particles.a_hat, ndim=1, kinds="f", min_size=1)
    m = _validate.width("the number of particles", a_hat.shape[0])
    _validate.array("particles.w_hat", particles.w_hat, shape=(m, mlp.n_in), kinds="f")


@functools.partial(jax.jit, static_argnames=("mlp", "n_steps", "loss", "ref_width"))
def _mf_run(mlp, particles, data, ref_lr, n_steps, loss, ref_width):
    with jax.default_matmul_precision("highest"):
        sigma_star = scalings.sigma_star(ref_width)
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

        state0 = (jnp.zeros((n, particles.a_hat.shape[0]), x.dtype), particles.a_hat)
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
    ``data`` must have ``mlp.n_in`` inputs and labels in ``{0, 1}``; ``n_steps >= 0``; ``ref_lr > 0``.
    """
    _check_one_hidden_layer(mlp, "the particle limit")
    data = data_mod.check_dataset(data, mlp.n_in)
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    ref_lr = _check_lr(ref_lr)
    _check_loss(loss)
    ref_width = _validate.width("ref_width", ref_width)
    if particles is None:
        if n_particles is None or key is None:
            raise ValueError("give either particles, or both n_particles and key")
        particles = mf_particles(mlp, n_particles, key=key)
    elif n_particles is not None or key is not None:  # which draw was meant would be ambiguous
        raise ValueError("give either particles, or both n_particles and key, not both")
    else:
        _check_particles(mlp, particles)
    # The default float dtype (float64 inside numerics.x64, for reruns that confirm the net = recursion identity).
    data = Dataset(*(numerics.as_float(a) for a in data))
    particles = Particles(*(numerics.as_float(a) for a in particles))
    f_train, f_test = _mf_run(mlp, particles, data, numerics.as_float(ref_lr), n_steps, loss, ref_width)
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


# ----------------------------------------------------------------------------------------- distances


def _moments(name: str, logits: Any) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(_validate.array(name, logits, kinds="fiu"), np.float64)
    if logits.ndim < 1 or logits.shape[0] < 2:
        raise ValueError(f"{name} must have a leading seed axis of length >= 2, got shape {logits.shape}")
    return logits.mean(0), logits.var(0, ddof=1)


def _real_arrays(names: tuple[str, ...], values: tuple, lows: tuple, *, open_low: bool = False) -> list[np.ndarray]:
    """Finite float64 arrays that broadcast together, each ``>= low`` (``> low`` if ``open_low``) where not None."""
    out = []
    for name, v, low in zip(names, values, lows):
        a = np.asarray(_validate.array(name, v, kinds="fiu"), np.float64)
        if low is not None and a.size and not np.all(a > low if open_low else a >= low):
            raise ValueError(f"{name} must be finite and {'>' if open_low else '>='} {low:g}, got min {a.min():g}")
        out.append(a)
    try:
        np.broadcast_shapes(*(a.shape for a in out))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(names, out))
        raise ValueError(f"{', '.join(names)} must broadcast to one shape, got {shapes}") from None
    return out


def gaussian_kl(mean_p, var_p, mean_q, var_q) -> np.ndarray:
    r""":math:`\mathrm{KL}(\mathcal N(\mu_p,\sigma_p^2)\,\|\,\mathcal N(\mu_q,\sigma_q^2))`, elementwise; ``inf`` if
    :math:`\sigma_q = 0 < \sigma_p` (a deterministic model cannot explain a random reference).

    Means must be finite and variances finite and ``>= 0``; all four broadcast together.
    """
    names = ("mean_p", "var_p", "mean_q", "var_q")
    mp, vp, mq, vq = _real_arrays(names, (mean_p, var_p, mean_q, var_q), (None, 0.0, None, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = 0.5 * (np.log(vq / vp) + (vp + (mp - mq) ** 2) / vq - 1)
    return np.where(vq > 0, kl, np.inf)


def _beta_params(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, v = p.mean(0), p.var(0, ddof=1)
    common = m * (1 - m) / np.maximum(v, 1e-300) - 1  # method of moments; needs v < m (1 - m)
    return m * common, (1 - m) * common


_LGAMMA = np.vectorize(math.lgamma, otypes=[np.float64])
# Stirling's series ln G(x) = (x - 1/2) ln x - x + ln(2 pi) / 2 + sum_k B_2k / (2k (2k - 1) x^(2k - 1)), k = 1..6.
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360)


def _stirling_tail(x: np.ndarray) -> np.ndarray:
    """The series part of Stirling's formula for ``x >= 10`` (truncation error below ``3e-15``)."""
    inv, inv2 = 1 / x, 1 / x**2
    tail = np.zeros_like(x)
    for c in reversed(_STIRLING):  # Horner in 1/x^2
        tail = tail * inv2 + c
    return tail * inv


def _betaln(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r""":math:`\log B(a, b)` for ``a, b > 0`` in float64, without SciPy.

    With ``s = min(a, b)`` and ``l = max(a, b)``: for ``l < 10`` plain ``lgamma`` terms; for ``l >= 10`` the
    difference :math:`\ln\Gamma(l) - \ln\Gamma(s + l) = -(l - \tfrac12)\,\mathrm{log1p}(s/l) - s\ln(s + l) + s`
    plus Stirling tails, which avoids the cancellation of two huge ``lgamma`` values (at ``l = 5e7`` they are
    ``8e8`` and would lose 7 digits of a result of order 1).
    """
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    small, large = np.minimum(a, b), np.maximum(a, b)
    big = large >= 10
    lg = np.where(big, large, 10.0)  # keeps the big-branch formulas finite where they are not used
    diff = -(lg - 0.5) * np.log1p(small / lg) - small * np.log(small + lg) + small
    diff = diff + _stirling_tail(lg) - _stirling_tail(small + lg)
    plain = _LGAMMA(large) - _LGAMMA(small + large)
    return _LGAMMA(small) + np.where(big, diff, plain)


# Asymptotic series psi(x) ~ ln x - 1/(2x) - sum_k B_2k / (2k x^2k), coefficients B_2k / (2k) for k = 1..7.
_PSI_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _digamma(x: np.ndarray) -> np.ndarray:
    r"""The digamma function :math:`\psi` for ``x > 0`` in float64 (NaN elsewhere), without SciPy.

    The recurrence :math:`\psi(x) = \psi(x + 1) - 1/x` lifts every argument to :math:`x \ge 10`, where the
    asymptotic series truncated after :math:`x^{-14}` errs by less than :math:`3617/(8160\,x^{16}) < 10^{-16}`.
    """
    x = np.array(x, np.float64)
    ok = x > 0  # NaN compares False
    x = np.where(ok, x, 1.0)
    out = np.zeros_like(x)
    while np.any(low := x < 10):  # at most 10 rounds: every x > 0 gains 1 per round
        out -= np.where(low, 1 / x, 0.0)
        x = np.where(low, x + 1, x)
    inv2 = 1 / x**2
    series = np.zeros_like(x)
    for c in reversed(_PSI_SERIES):  # Horner in 1/x^2
        series = (series + c) * inv2
    return np.where(ok, out + np.log(x) - 0.5 / x - series, np.nan)


def _beta_kl(a_p, b_p, a_q, b_q) -> np.ndarray:
    return (
        _betaln(a_q, b_q)
        - _betaln(a_p, b_p)
        + (a_p - a_q) * _digamma(a_p)
        + (b_p - b_q) * _digamma(b_p)
        + (a_q - a_p + b_q - b_p) * _digamma(a_p + b_p)
    )


def beta_kl(a_p, b_p, a_q, b_q) -> np.ndarray:
    r""":math:`\mathrm{KL}(\mathrm{Beta}(a_p,b_p)\,\|\,\mathrm{Beta}(a_q,b_q))`, elementwise (float64).

    Every parameter must be finite and ``> 0``; the four broadcast together.
    """
    names = ("a_p", "b_p", "a_q", "b_q")
    return _beta_kl(*_real_arrays(names, (a_p, b_p, a_q, b_q), (0.0,) * 4, open_low=True))


def logit_divergences(logits: np.ndarray, ref_logits: np.ndarray) -> dict[str, float]:
    r"""How far the law of a model's logits is from the reference's, per test point, averaged over points.

    ``logits (S, ..., n)`` and ``ref_logits (S', ..., n)`` hold independent seeds on the leading axis. Returns
    averages over points (means, or root-mean-squares for the distances) of

    * ``gauss_kl``: :math:`\mathrm{KL}(\text{ref}\,\|\,\text{model})` between fitted normals (``inf`` for a
      deterministic model);
    * ``beta_kl``: the same between Beta laws fitted to :math:`\mathrm{sigmoid}(f)` by moments (``inf`` likewise;
      NaN if at some point the moments admit no Beta law, :math:`\mathrm{var} \ge m(1-m)`, which happens with
      few seeds and saturated sigmoids);
    * ``sign_gap``: :math:`|P(f > 0) - P_{\text{ref}}(f > 0)|` (the accuracy-relevant part);
    * ``w2``: the 2-Wasserstein distance between the fitted normals,
      :math:`\sqrt{(\mu-\mu_{\text{ref}})^2 + (\sigma-\sigma_{\text{ref}})^2}`, finite for every model, and its
      two parts ``w2_mean`` (RMS over points of :math:`\mu-\mu_{\text{ref}}`) and ``w2_spread``.

    Both inputs must be finite: a diverged run's NaN logits have no law to compare.
    """
    m, v = _moments("logits", logits)
    mr, vr = _moments("ref_logits", ref_logits)
    if m.shape != mr.shape:
        raise ValueError(f"logits and ref_logits must agree after the seed axis, got {m.shape} and {mr.shape}")
    p, pr = (1 / (1 + np.exp(-np.asarray(a, np.float64))) for a in (logits, ref_logits))
    (a, b), (ar, br) = _beta_params(p), _beta_params(pr)
    deterministic = v <= 1e-12 * np.maximum(vr, 1e-30)
    fitted = (ar > 0) & (br > 0) & (a > 0) & (b > 0)  # the method of moments has a solution (NaN compares False)
    use = fitted & ~deterministic
    kl = _beta_kl(*(np.where(use, t, 1.0) for t in (ar, br, a, b)))  # placeholders keep lgamma off its poles
    beta = np.where(deterministic, np.inf, np.where(fitted, kl, np.nan))
    sign = np.abs((np.asarray(logits) > 0).mean(0) - (np.asarray(ref_logits) > 0).mean(0))
    return dict(
        gauss_kl=float(np.mean(gaussian_kl(mr, vr, m, np.where(deterministic, 0.0, v)))),
        beta_kl=float(np.mean(beta)),
        sign_gap=float(np.mean(sign)),
        w2=float(np.sqrt(np.mean((m - mr) ** 2 + (np.sqrt(v) - np.sqrt(vr)) ** 2))),
        w2_mean=float(np.sqrt(np.mean((m - mr) ** 2))),
        w2_spread=float(np.sqrt(np.mean((np.sqrt(v) - np.sqrt(vr)) ** 2))),
    )
