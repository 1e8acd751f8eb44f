r"""Infinite-width limit models of the one-hidden-layer net, and how far each is from the finite nets.

The limit models have their own modules and are re-exported here, where callers find them:

* **Mean field** (:mod:`widthlimits.particle_limit`): the discrete-time MF limit as a recursion on particles in
  hat variables, :func:`mf_particles`, :func:`mf_limit`, :func:`mf_clouds`, and its two checks
  :func:`net_vs_recursion` (the width-:math:`d` net *is* the :math:`d`-particle recursion) and
  :func:`step_halving` (it is the explicit Euler scheme of the continuous MF equation).
* **Kernel limits** (:mod:`widthlimits.kernel_limit`): kernel GD with the reference kernel
  :math:`\eta^*\Theta_{\text{ref}}` from a Gaussian-process start (NTK) or from zero (intermediate),
  :func:`limit_kernels`, :func:`gp_logits`, :func:`kernel_limit`, and the record :class:`Trajectory`.

This module holds the **divergences of laws**: :func:`logit_divergences` compares the law of the logits across
seeds, point by point (Kullback-Leibler divergences of fitted normal and Beta laws, the sign gap, :math:`W_2`).
How close finite nets are to each limit, and which limit is closest, is measured in
:mod:`widthlimits.limit_comparison`.

Every :class:`Trajectory` carries ``nonfinite_step``, the first step at which a logit or the training loss is
NaN/inf or a logit exceeds :func:`~widthlimits.divergence.divergence_threshold` of the initial logits: a limit model
that blows up is flagged too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from widthlimits import _validate
from widthlimits.kernel_limit import (  # noqa: F401  (re-exported: callers use limits.kernel_limit, ...)
    LimitKernels,
    Trajectory,
    gp_logits,
    kernel_limit,
    limit_kernels,
)
from widthlimits.particle_limit import (  # noqa: F401  (re-exported)
    Particles,
    RecursionCheck,
    StepHalving,
    mf_clouds,
    mf_limit,
    mf_particles,
    net_vs_recursion,
    step_halving,
)

# ----------------------------------------------------------------------------------------- divergences of laws


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
