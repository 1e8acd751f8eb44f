r"""Gradient propagation: backpropagated gradients of random deep nets, layer by layer, against :math:`\chi_1`.

**Finite nets.** A random net with ``depth`` hidden layers of width :math:`n`, weights
:math:`\mathcal N(0,\sigma_w^2/n)` and biases :math:`\mathcal N(0,\sigma_b^2)`, starts at the length fixed
point: :math:`h^1 \sim\mathcal N(0, q^*)` i.i.d. (the law of :math:`W^1x + b^1` for an input of the matching
length), :math:`h^{l+1} = W^{l+1}\phi(h^l) + b^{l+1}` and one output :math:`F = v^\top\phi(h^L)`,
:math:`v\sim\mathcal N(0,\sigma_w^2/n)`. Backpropagation with the same weights gives
:math:`\delta^L = \phi'(h^L)\odot v` and :math:`\delta^l = \partial F/\partial h^l = \phi'(h^l)\odot
(W^{l+1})^\top\delta^{l+1}` (:func:`backprop`, :func:`gradient_norms`).

**Their limit.** Given :math:`\delta^{l+1}`, treating :math:`W^{l+1}` as independent of it (exact as
:math:`n\to\infty`), :math:`R_l = \lVert\delta^l\rVert^2/\lVert\delta^{l+1}\rVert^2 =
\frac{\sigma_w^2}{n}\sum_i\phi'(h^l_i)^2 z_i^2` with :math:`z_i` standard Gaussian, so :math:`\mathbb E R_l =
\chi_1` (:func:`widthlimits.signal_propagation.chi1`): squared gradients grow by :math:`\chi_1` per layer going
backwards. The per-layer log growth rate :math:`\mathbb E\log R_l` is :math:`\log\chi_1` minus the
log-of-a-mean bias :math:`\mathrm{Var}R_l/(2\chi_1^2) = (3\,\mathbb E\phi'^4/(\mathbb E\phi'^2)^2 - 1)/(2n)`
(:func:`predicted_rate`; :func:`derivative_moments` gives :math:`\mathbb E\phi'^2, \mathbb E\phi'^4`). The
fluctuation of the empirical length :math:`\hat q^l` about :math:`q^*` shifts the rate by a further
:math:`O(1/n)` that this correction leaves out.

Host-side NumPy in float64, except :math:`\phi` itself (``models.MLP.phi``, float32) and the weights (drawn
in float32); one 30-layer, width-500 net takes a fraction of a second.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, kernels, models, signal_propagation

_GH_Z, _GH_W = np.polynomial.hermite_e.hermegauss(signal_propagation.GAUSS_POINTS_1D)
_GH_W = _GH_W / np.sqrt(2 * np.pi)


def _check(activation: str, negative_slope: float) -> float:
    _validate.choice("activation", activation, models.ACTIVATIONS)
    return _validate.real("negative_slope", negative_slope, low=0, high=1)


def activation_pair(activation: str, u: Any, *, negative_slope: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`(\phi(u), \phi'(u))` elementwise in float64, shape of ``u``; :math:`\phi` is ``models.MLP.phi``,
    :math:`\phi'` is :func:`widthlimits.kernels.phi_prime`."""
    slope = _check(activation, negative_slope)
    u = np.asarray(_validate.array("u", u, kinds="fiu"), np.float64)
    phi = np.asarray(models.MLP(activation=activation, negative_slope=slope, n_in=1).phi(jnp.asarray(u)), np.float64)
    return phi, kernels.phi_prime(activation, u, slope)


def derivative_moments(activation: str, q: float, *, negative_slope: float = 0.1) -> tuple[float, float]:
    r""":math:`(\mathbb E\,\phi'(u)^2,\ \mathbb E\,\phi'(u)^4)`, :math:`u\sim\mathcal N(0,q)`, ``q >= 0``.

    erf in closed form, :math:`\frac4\pi(1+4q)^{-1/2}` and :math:`\frac{16}{\pi^2}(1+8q)^{-1/2}`; ReLU-like ones
    :math:`((1+\alpha^2)/2, (1+\alpha^4)/2)` (:math:`\alpha = 0` for ReLU); tanh by the Gauss-Hermite rule of
    :data:`widthlimits.signal_propagation.GAUSS_POINTS_1D` nodes.
    """
    slope = _check(activation, negative_slope)
    q = _validate.real("q", q, low=0)
    if activation == "erf":
        return 4 / np.pi / np.sqrt(1 + 4 * q), 16 / np.pi**2 / np.sqrt(1 + 8 * q)
    if activation in ("relu", "leaky_relu"):
        a = slope if activation == "leaky_relu" else 0.0
        return (1 + a**2) / 2, (1 + a**4) / 2
    d2 = (1 - np.tanh(np.sqrt(q) * _GH_Z) ** 2) ** 2
    return float(d2 @ _GH_W), float(d2**2 @ _GH_W)


def backprop(h1: Any, weights: Any, biases: Any, v: Any, *, activation: str, negative_slope: float = 0.1) -> np.ndarray:
    r"""Backpropagated gradients :math:`\delta^l = \partial F/\partial h^l`, ``(L, n)`` for layers ``1..L``.

    ``h1 (n,)`` the first pre-activations, ``weights (L - 1, n, n)`` and ``biases (L - 1, n)`` the layers
    :math:`2..L`, ``v (n,)`` the output weights of :math:`F = v^\top\phi(h^L)` (module docstring). Float64 but for
    :math:`\phi`, evaluated in float32.
    """
    h = np.asarray(_validate.array("h1", h1, ndim=1, kinds="fiu", min_size=1), np.float64)
    n = len(h)
    weights = np.asarray(_validate.array("weights", weights, shape=(None, n, n), kinds="fiu"), np.float64)
    biases = np.asarray(_validate.array("biases", biases, shape=(len(weights), n), kinds="fiu"), np.float64)
    v = np.asarray(_validate.array("v", v, shape=(n,), kinds="fiu"), np.float64)
    slopes = []
    for w, b in zip(weights, biases):
        phi, dphi = activation_pair(activation, h, negative_slope=negative_slope)
        slopes.append(dphi)
        h = w @ phi + b
    slopes.append(activation_pair(activation, h, negative_slope=negative_slope)[1])
    deltas = [slopes[-1] * v]
    for w, dphi in zip(weights[::-1], slopes[-2::-1]):
        deltas.append(dphi * (w.T @ deltas[-1]))
    return np.stack(deltas[::-1])


def gradient_norms(
    *, activation: str, sigma_w2: float, sigma_b2: float, depth: int, width: int, n_nets: int,
    rng: np.random.Generator, negative_slope: float = 0.1
) -> np.ndarray:  # fmt: skip
    r""":math:`\lVert\delta^l\rVert^2` of ``n_nets`` random nets started at :math:`q^*`: ``(n_nets, depth)``.

    Layers ``1..depth`` (module docstring); draws come from the NumPy generator ``rng``, net by net.
    """
    sw2 = _validate.real("sigma_w2", sigma_w2, low=0, open_low=True)
    sb2 = _validate.real("sigma_b2", sigma_b2, low=0)
    depth, width = _validate.integer("depth", depth, low=2), _validate.width("width", width)
    n_nets = _validate.integer("n_nets", n_nets, low=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a NumPy generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    q_star = float(signal_propagation.length_fixed_point(activation, sw2, sb2, negative_slope=negative_slope))
    out = []
    for _ in range(n_nets):
        h1 = np.sqrt(q_star) * rng.standard_normal(width)
        w = np.sqrt(sw2 / width) * rng.standard_normal((depth - 1, width, width), dtype=np.float32)
        b = np.sqrt(sb2) * rng.standard_normal((depth - 1, width))
        v = np.sqrt(sw2 / width) * rng.standard_normal(width)
        deltas = backprop(h1, w, b, v, activation=activation, negative_slope=negative_slope)
        out.append(np.sum(deltas**2, axis=1))
    return np.array(out)


def growth_rates(norms: Any) -> np.ndarray:
    r"""Per-net mean over layers of :math:`\log(\lVert\delta^l\rVert^2/\lVert\delta^{l+1}\rVert^2)`.

    ``norms (S, L)`` positive, at least two layers; returns ``(S,)``."""
    norms = np.asarray(_validate.array("norms", norms, ndim=2, kinds="f"), np.float64)
    if norms.shape[1] < 2 or np.any(norms <= 0):
        raise ValueError(f"norms must be positive with at least two layers, got shape {norms.shape}")
    return np.mean(np.log(norms[:, :-1] / norms[:, 1:]), axis=1)


def predicted_rate(
    activation: str, sigma_w2: float, q: float, width: int | None = None, *, negative_slope: float = 0.1
) -> float:
    r""":math:`\log\chi_1(q)`, minus :math:`(3\,\mathbb E\phi'^4/(\mathbb E\phi'^2)^2 - 1)/(2n)` at ``width`` n.

    ``width=None`` gives the infinite-width rate :math:`\log\chi_1`.
    """
    chi = float(signal_propagation.chi1(activation, sigma_w2, q, negative_slope=negative_slope))
    if width is None:
        return float(np.log(chi))
    m2, m4 = derivative_moments(activation, q, negative_slope=negative_slope)
    return float(np.log(chi) - (3 * m4 / m2**2 - 1) / (2 * _validate.width("width", width)))


class GradientGrowth(NamedTuple):
    """One point's per-layer log growth rate of squared gradients (see :func:`gradient_growth`)."""

    q_star: float
    chi1: float
    log_chi1: float  # infinite-width prediction
    predicted: float  # with the finite-width correction
    measured: float  # seed mean of the per-net rates
    measured_se: float  # its standard error over nets


def gradient_growth(
    *, activation: str, sigma_w2: float, sigma_b2: float, depth: int, width: int, n_nets: int,
    rng: np.random.Generator, negative_slope: float = 0.1
) -> GradientGrowth:  # fmt: skip
    """Measured (:func:`gradient_norms`, :func:`growth_rates`) and predicted (:func:`predicted_rate`) rates."""
    net = dict(activation=activation, sigma_w2=sigma_w2, sigma_b2=sigma_b2, negative_slope=negative_slope)
    n_nets = _validate.integer("n_nets", n_nets, low=2)
    rates = growth_rates(gradient_norms(depth=depth, width=width, n_nets=n_nets, rng=rng, **net))
    q_star = float(signal_propagation.length_fixed_point(activation, sigma_w2, sigma_b2, negative_slope=negative_slope))
    chi = float(signal_propagation.chi1(activation, sigma_w2, q_star, negative_slope=negative_slope))
    return GradientGrowth(
        q_star, chi, float(np.log(chi)),
        predicted_rate(activation, sigma_w2, q_star, width, negative_slope=negative_slope),
        float(rates.mean()), float(rates.std(ddof=1) / np.sqrt(n_nets)),
    )  # fmt: skip
