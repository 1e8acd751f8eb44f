r"""Infinite-width kernels in closed form, their finite-width estimates, and kernel gradient descent.

**Dual activations.** For :math:`(u, v) \sim \mathcal N(0, [[s_{11}, s_{12}], [s_{12}, s_{22}]])`,
:func:`dual` returns :math:`\mathbb E[\phi(u)\phi(v)]` and :math:`\mathbb E[\phi'(u)\phi'(v)]`: the arc-cosine
forms of Cho & Saul for ReLU and leaky ReLU, Williams' arcsine form for erf, and a 2-D Gauss-Hermite rule for
tanh (which has no closed form; :func:`gaussian_expectation` does it for any function). :func:`mc_dual` is the
Monte-Carlo estimate they are the limit of. Activations are :data:`widthlimits.models.ACTIVATIONS`.

**Recursions.** A net with :math:`L` hidden layers, :math:`h^1 = \sigma_w W^1 x/\sqrt{n_0} + \sigma_b b^1`,
:math:`h^{l+1} = \sigma_w W^{l+1}\phi(h^l)/\sqrt{n_l} + \sigma_b b^{l+1}`, :math:`f = h^{L+1}` with standard Gaussian
:math:`W, b` (NTK parametrisation) has, as every :math:`n_l\to\infty`,

.. math::

   \Sigma^1 = \sigma_w^2 \tfrac{x\cdot x'}{n_0} + \sigma_b^2,\quad
   \Sigma^{l+1} = \sigma_w^2\,\mathbb E_{\Sigma^l}[\phi\phi] + \sigma_b^2,\quad
   \dot\Sigma^{l+1} = \sigma_w^2\,\mathbb E_{\Sigma^l}[\phi'\phi'],\quad
   \Theta^{l+1} = \Sigma^{l+1} + \Theta^l\dot\Sigma^{l+1}.

Layer :math:`l` contributes :math:`A^l P^l` per unit learning rate and fan-in: :math:`A^l = u\cdot u'/n_{l-1}` is its
input kernel and :math:`P^l = \prod_{m>l}\dot\Sigma^m` its backward kernel (:func:`layer_terms`). So an SP net
(weights :math:`\mathcal N(0,\sigma_w^2/n_{l-1})`) trained with rate :math:`\eta_l` on layer :math:`l` has the
learning-rate-weighted kernel :math:`\sum_l \eta_l n_{l-1} A^l P^l`; the NTK parametrisation with unit rates is
:math:`\eta_l = \sigma_w^2/n_{l-1}` (and :math:`\sigma_b^2` on biases). ``parametrization="standard"`` means
:math:`\eta_l = 1/n_{l-1}` on weights and 1 on biases (present only if :math:`\sigma_b^2 > 0`).

**Dynamics.** :func:`kernel_gd` runs kernel GD on the mean loss with any kernel; :func:`mse_kernel_gd` and
:func:`mse_kernel_flow` give the square loss's trajectories in closed form. The discrete ones return a
:class:`KernelTrajectory` whose ``nonfinite_step`` flags a blow-up by the criterion of
:mod:`widthlimits.divergence`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, models, scalings
from widthlimits.kernel_dynamics import KernelTrajectory, kernel_gd, mse_kernel_flow, mse_kernel_gd  # noqa: F401

PARAMETRIZATIONS = ("ntk", "standard")
LOSSES = ("logistic", "mse")
#: Most Gauss-Hermite nodes per axis: the rule scans n_points**2 pairs, and NumPy's weights are NaN at 400.
MAX_GAUSS_POINTS = 256


def _check_variances(s11: Any, s12: Any, s22: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Broadcast ``s11, s12, s22``; where concrete, the variances must be finite and ``>= 0`` (``s12`` finite)."""
    for name, value in (("s11", s11), ("s12", s12), ("s22", s22)):
        _validate.array(name, value, kinds="fiu")
        if name != "s12" and not _validate.is_traced(value) and np.any(np.asarray(value) < 0):
            raise ValueError(f"{name} must be a variance (>= 0), got min {float(np.min(np.asarray(value))):g}")
    shapes = [tuple(np.shape(v)) for v in (s11, s12, s22)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"s11, s12 and s22 must broadcast to one shape, got shapes {shapes}") from None
    if not _validate.is_traced((s11, s12, s22)):
        # A covariance must satisfy s12^2 <= s11 s22 (Cauchy-Schwarz); the closed forms would clip the correlation
        # silently. Slack of 1e-5 relative: float32 round-off (~1e2 u) of a covariance computed by the caller.
        v11, v12, v22 = (np.asarray(a, np.float64) for a in (s11, s12, s22))
        if np.any(v12**2 > v11 * v22 * (1 + 1e-5) + 1e-30):
            raise ValueError("s12 must satisfy s12**2 <= s11 * s22 (a covariance), got a larger |s12|")
    return jnp.broadcast_arrays(*(jnp.asarray(a, jnp.float32) for a in (s11, s12, s22)))


# ----------------------------------------------------------------------------------------- dual activations
@functools.partial(jax.jit, static_argnames=("fn", "n_points"))
def _gaussian_expectation(fn: Callable, s11, s12, s22, n_points: int) -> jax.Array:
    z, w = np.polynomial.hermite_e.hermegauss(n_points)  # weight exp(-z^2/2)
    w = w / math.sqrt(2 * math.pi)
    zi, zj = (a.ravel().astype(np.float32) for a in np.meshgrid(z, z, indexing="ij"))
    wij = np.outer(w, w).ravel().astype(np.float32)
    sd1, sd2 = jnp.sqrt(jnp.maximum(s11, 0)), jnp.sqrt(jnp.maximum(s22, 0))
    rho = jnp.clip(s12 / jnp.where(sd1 * sd2 > 0, sd1 * sd2, 1.0), -1.0, 1.0)
    perp = jnp.sqrt(1 - rho**2)

    def add(total, node):
        a, b, weight = node
        return total + weight * fn(sd1 * a, sd2 * (rho * a + perp * b)), None

    return jax.lax.scan(add, jnp.zeros_like(s11), (zi, zj, wij))[0]


def gaussian_expectation(fn: Callable, s11, s12, s22, *, n_points: int = 48) -> jax.Array:
    r""":math:`\mathbb E\,\mathrm{fn}(u, v)` for :math:`(u,v)\sim\mathcal N(0,\Lambda)` by a 2-D Gauss-Hermite rule.

    ``fn`` is elementwise; ``s11, s12, s22`` broadcast to a common shape ``S`` and the result has shape ``S``.
    With :math:`u = \sqrt{s_{11}}\,z_1`, :math:`v = \sqrt{s_{22}}(\rho z_1 + \sqrt{1-\rho^2} z_2)` the rule is exact
    for polynomials of degree :math:`< 2\,\mathrm{n\_points}` in :math:`(z_1, z_2)`; smooth ``fn`` converge fast,
    kinked ones (ReLU) only algebraically. Node pairs are scanned, so memory stays ``O(|S|)``.
    ``n_points`` is an integer in ``[1, MAX_GAUSS_POINTS]``; ``fn`` must be hashable (it is a static argument).
    """
    if not callable(fn):
        raise TypeError(f"fn must be an elementwise function of (u, v), got {type(fn).__name__}")
    n_points = _validate.integer("n_points", n_points, low=1, high=MAX_GAUSS_POINTS)
    return _gaussian_expectation(fn, *_check_variances(s11, s12, s22), n_points)


def _tanh_pair(u, v):
    return jnp.tanh(u) * jnp.tanh(v)


def _dtanh_pair(u, v):
    return (1 - jnp.tanh(u) ** 2) * (1 - jnp.tanh(v) ** 2)


def dual(activation: str, s11, s12, s22, *, negative_slope: float = 0.1, n_points: int = 48):
    r""":math:`(\mathbb E[\phi(u)\phi(v)],\ \mathbb E[\phi'(u)\phi'(v)])` for :math:`(u,v)\sim\mathcal N(0,\Lambda)`.

    ``activation``: ``"relu"``, ``"leaky_relu"`` (slope ``negative_slope`` in ``[0, 1]``), ``"erf"`` (closed forms)
    or ``"tanh"`` (Gauss-Hermite, ``n_points`` nodes per axis); ``s11, s12, s22`` broadcast together. Leaky ReLU
    is :math:`\alpha z + (1-\alpha)\mathrm{relu}(z)`; Stein's lemma gives :math:`\mathbb E[u\,\mathrm{relu}(v)]
    = s_{12}/2`, so with :math:`\theta = \arccos\rho`,

    .. math::

       \mathbb E[\phi\phi] = \alpha s_{12}
       + (1-\alpha)^2\frac{\sqrt{s_{11}s_{22}}}{2\pi}(\sin\theta + (\pi-\theta)\cos\theta),
       \qquad \mathbb E[\phi'\phi'] = \alpha + (1-\alpha)^2\frac{\pi-\theta}{2\pi}.

    For erf: :math:`\frac2\pi\arcsin\frac{2s_{12}}{\sqrt{(1+2s_{11})(1+2s_{22})}}` and
    :math:`\frac4\pi[(1+2s_{11})(1+2s_{22}) - 4s_{12}^2]^{-1/2}`.
    """
    _validate.choice("activation", activation, models.ACTIVATIONS)
    negative_slope = _validate.real("negative_slope", negative_slope, low=0, high=1)
    n_points = _validate.integer("n_points", n_points, low=1, high=MAX_GAUSS_POINTS)
    s11, s12, s22 = _check_variances(s11, s12, s22)
    if activation in ("relu", "leaky_relu"):
        alpha = 0.0 if activation == "relu" else float(negative_slope)
        norm = jnp.sqrt(jnp.maximum(s11 * s22, 0))
        rho = jnp.clip(s12 / jnp.where(norm > 0, norm, 1.0), -1.0, 1.0)
        theta = jnp.arccos(rho)
        arc1 = norm / (2 * jnp.pi) * (jnp.sqrt(1 - rho**2) + (jnp.pi - theta) * rho)  # E relu(u) relu(v)
        arc0 = (jnp.pi - theta) / (2 * jnp.pi)  # P(u > 0, v > 0)
        return alpha * s12 + (1 - alpha) ** 2 * arc1, alpha + (1 - alpha) ** 2 * arc0
    if activation == "erf":
        d11, d22 = 1 + 2 * s11, 1 + 2 * s22
        k = 2 / jnp.pi * jnp.arcsin(jnp.clip(2 * s12 / jnp.sqrt(d11 * d22), -1.0, 1.0))
        return k, 4 / jnp.pi / jnp.sqrt(d11 * d22 - 4 * s12**2)
    return tuple(gaussian_expectation(fn, s11, s12, s22, n_points=n_points) for fn in (_tanh_pair, _dtanh_pair))


def phi_prime(activation: str, t: np.ndarray, negative_slope: float) -> np.ndarray:
    """phi'(t) in float64 NumPy (ReLU's kink: derivative 0 at t = 0, a null set)."""
    if activation in ("relu", "leaky_relu"):
        return np.where(t > 0, 1.0, 0.0 if activation == "relu" else negative_slope)
    if activation == "erf":
        return 2 / np.sqrt(np.pi) * np.exp(-(t**2))
    return 1 - np.tanh(t) ** 2


def mc_dual(
    activation: str, s11: float, s12: float, s22: float, z: Any, *, negative_slope: float = 0.1
) -> tuple[tuple[float, float], tuple[float, float]]:
    r"""Monte-Carlo :func:`dual`: ``((mean, se) of phi(u)phi(v), (mean, se) of phi'(u)phi'(v))``.

    ``z (2, N)`` are standard Gaussian pairs, mapped to :math:`u = \sqrt{s_{11}}z_1`,
    :math:`v = \sqrt{s_{22}}(\rho z_1 + \sqrt{1-\rho^2}z_2)`; ``se`` is the sample standard deviation over
    :math:`\sqrt N`, so :func:`dual` should lie within a few ``se``. :math:`\phi` is :meth:`models.MLP.phi`
    (float32), :math:`\phi'` and the products are float64. ``s11, s22 > 0`` and ``s12`` scalars.
    """
    _validate.choice("activation", activation, models.ACTIVATIONS)
    negative_slope = _validate.real("negative_slope", negative_slope, low=0, high=1)
    s11, s22 = (_validate.real(n, v, low=0, open_low=True) for n, v in (("s11", s11), ("s22", s22)))
    rho = _validate.real("s12", s12) / math.sqrt(s11 * s22)
    if abs(rho) > 1 + 1e-5:
        raise ValueError(f"s12 must satisfy s12**2 <= s11 * s22 (a covariance), got s12 = {s12!r}")
    z = np.asarray(_validate.array("z", z, ndim=2, kinds="f"), np.float64)
    if z.shape[0] != 2 or z.shape[1] < 2:
        raise ValueError(f"z must have shape (2, N) with N >= 2 (standard Gaussian pairs), got {z.shape}")
    rho = min(max(rho, -1.0), 1.0)
    u = np.sqrt(s11) * z[0]
    v = np.sqrt(s22) * (rho * z[0] + np.sqrt(1 - rho**2) * z[1])
    phi = models.MLP(activation=activation, negative_slope=negative_slope, n_in=1).phi
    fu, fv = (np.asarray(phi(jnp.asarray(t)), np.float64) for t in (u, v))
    du, dv = (phi_prime(activation, t, negative_slope) for t in (u, v))
    return tuple((float(p.mean()), float(p.std() / np.sqrt(p.size))) for p in (fu * fv, du * dv))


# ----------------------------------------------------------------------------------------- recursions
class LayerTerms(NamedTuple):
    r"""``nngp (n1, n2)`` :math:`\Sigma^{L+1}`; per layer ``l = 1..L+1`` (index ``l-1``), ``inputs (L+1, n1, n2)``
    :math:`A^l = u\cdot u'/n_{l-1}` and ``backward (L+1, n1, n2)`` :math:`P^l=\partial_{h^l}f\cdot\partial_{h^l}f'`."""

    nngp: jax.Array
    inputs: jax.Array
    backward: jax.Array


def _validate_net(depth, activation, sigma_w2, sigma_b2, negative_slope) -> tuple[int, float, float, float]:
    """Checked ``(depth, sigma_w2, sigma_b2, negative_slope)`` as Python numbers (static jit arguments)."""
    depth = _validate.integer("depth", depth, low=1)
    _validate.choice("activation", activation, models.ACTIVATIONS)
    sigma_w2 = _validate.real("sigma_w2", sigma_w2, low=0, open_low=True)
    sigma_b2 = _validate.real("sigma_b2", sigma_b2, low=0)
    negative_slope = _validate.real("negative_slope", negative_slope, low=0, high=1)
    return depth, sigma_w2, sigma_b2, negative_slope


def _check_inputs(x1, x2, n_in: int | None = None) -> tuple[jax.Array, jax.Array]:
    """Finite real ``x1 (n1, n0)`` and ``x2 (n2, n0)`` with ``n1, n2, n0 >= 1`` (``n0 = n_in`` if given)."""
    for name, x in (("x1", x1), ("x2", x2)):
        _validate.array(name, x, ndim=2, kinds="fiu")
        if 0 in np.shape(x):
            raise ValueError(f"{name} must have shape (n, n0) with n >= 1 and n0 >= 1, got {np.shape(x)}")
    if np.shape(x1)[1] != np.shape(x2)[1] or (n_in is not None and np.shape(x1)[1] != n_in):
        want = "equal n0" if n_in is None else f"n0 = mlp.n_in = {n_in}"
        raise ValueError(
            f"x1 and x2 must be (n1, n0) and (n2, n0) arrays with {want}, got {np.shape(x1)}, {np.shape(x2)}"
        )
    return jnp.asarray(x1, jnp.float32), jnp.asarray(x2, jnp.float32)


@functools.partial(jax.jit, static_argnames=("depth", "activation", "negative_slope"))
def _layer_terms(x1, x2, sigma_w2, sigma_b2, depth, activation, negative_slope):
    n0 = x1.shape[1]
    a12 = x1 @ x2.T / n0
    a11, a22 = jnp.sum(x1**2, 1, keepdims=True) / n0, jnp.sum(x2**2, 1, keepdims=True).T / n0
    inputs, dots = [a12], []
    s11, s12, s22 = (sigma_w2 * a + sigma_b2 for a in (a11, a12, a22))
    for _ in range(depth):
        e12, d12 = dual(activation, s11, s12, s22, negative_slope=negative_slope)
        e11 = dual(activation, s11, s11, s11, negative_slope=negative_slope)[0]
        e22 = dual(activation, s22, s22, s22, negative_slope=negative_slope)[0]
        inputs.append(e12)
        dots.append(sigma_w2 * d12)
        s11, s12, s22 = (sigma_w2 * e + sigma_b2 for e in (e11, e12, e22))
    backward = [jnp.ones_like(a12)]
    for dot in reversed(dots):  # P^l = Sigma_dot^{l+1} P^{l+1}
        backward.insert(0, dot * backward[0])
    return LayerTerms(s12, jnp.stack(inputs), jnp.stack(backward))


def layer_terms(
    x1, x2, *, depth: int, activation: str, sigma_w2: float = 1.0, sigma_b2: float = 0.0, negative_slope: float = 0.1
) -> LayerTerms:
    """Per-layer input and backward kernels of the infinite-width net (module docstring); ``x (n, n0)``."""
    depth, sigma_w2, sigma_b2, negative_slope = _validate_net(depth, activation, sigma_w2, sigma_b2, negative_slope)
    x1, x2 = _check_inputs(x1, x2)
    return _layer_terms(x1, x2, sigma_w2, sigma_b2, depth, activation, negative_slope)


def nngp_ntk(
    x1, x2, *, depth: int, activation: str, sigma_w2=1.0, sigma_b2=0.0, parametrization="ntk", negative_slope=0.1
):
    r"""NNGP :math:`\Sigma^{L+1}` and NTK of an ``depth``-hidden-layer net: ``(n1, n0), (n2, n0) -> (n1, n2) x 2``.

    ``parametrization="ntk"``: unit learning rates on the standard-normal parameters, :math:`\Theta^{L+1}` of the
    module docstring. ``"standard"``: weights of variance :math:`\sigma_w^2/n_{l-1}` trained with learning rate
    :math:`1/n_{l-1}` and biases (if :math:`\sigma_b^2 > 0`) with rate 1, i.e. :math:`\sum_l (A^l + 1_{\sigma_b>0})P^l`.
    The NNGP does not depend on the parametrisation.
    """
    _validate.choice("parametrization", parametrization, PARAMETRIZATIONS)
    kw = dict(depth=depth, activation=activation, sigma_w2=sigma_w2, sigma_b2=sigma_b2, negative_slope=negative_slope)
    t = layer_terms(x1, x2, **kw)
    ntk = parametrization == "ntk"
    per_layer = sigma_w2 * t.inputs + sigma_b2 if ntk else t.inputs + (1.0 if sigma_b2 > 0 else 0.0)
    return t.nngp, jnp.sum(per_layer * t.backward, axis=0)


def reference_kernels(
    x1, x2, *, mlp: models.MLP | None = None, ref_width: int = scalings.REF_WIDTH, ref_lr: float = 0.02
) -> tuple[jax.Array, jax.Array]:
    r"""NNGP and expected learning-rate-weighted tangent kernel of the papers' reference net, ``(n1, n2)`` each.

    One hidden layer, no bias, PyTorch-default variances: pre-activations of covariance
    :math:`\Sigma = x\cdot x'/(3n_0)`, output weights of variance :math:`1/(3d)`. Then
    :math:`K_{\mathrm{NNGP}} = \tfrac13\mathbb E_\Sigma[\phi\phi]` and
    :math:`\Theta_{\mathrm{ref}}=\eta^*[d^*\mathbb E_\Sigma[\phi\phi]+\tfrac13\mathbb E_\Sigma[\phi'\phi']\,x\cdot x']`.
    Every scaling on the MF-NTK line (:math:`\eta_a d = \eta^* d^*`, :math:`\eta_W d\sigma^2 = \eta^*/3`) has
    :math:`\mathbb E\,\Theta_d = \Theta_{\mathrm{ref}}` at every width (exactly for Gaussian weights; up to the
    CLT error of :math:`w\cdot x` over :math:`n_0` uniform terms for PyTorch's uniform law).
    """
    mlp = models.MLP() if mlp is None else models._check_mlp(mlp)
    if mlp.depth != 1:
        raise ValueError(f"mlp.depth must be 1 (the reference kernels are for one hidden layer), got {mlp.depth}")
    ref_width = _validate.width("ref_width", ref_width)
    ref_lr = _validate.real("ref_lr", ref_lr, low=0, open_low=True)
    x1, x2 = _check_inputs(x1, x2)
    t = layer_terms(x1, x2, depth=1, activation=mlp.activation, sigma_w2=1 / 3, negative_slope=mlp.negative_slope)
    lr_scale = jnp.array([x1.shape[1], ref_width], jnp.float32)[:, None, None]  # eta_l n_{l-1} / eta*
    return t.nngp, ref_lr * jnp.sum(lr_scale * t.inputs * t.backward, axis=0)


# ----------------------------------------------------------------------------------------- finite nets
@functools.partial(jax.jit, static_argnames=("width", "depth", "activation", "negative_slope", "n_samples"))
def _mc(key, x1, x2, sigma_w2, sigma_b2, standard, width, depth, activation, negative_slope, n_samples):
    phi = models.MLP(activation=activation, negative_slope=negative_slope, n_in=1).phi
    x = jnp.concatenate([x1, x2])
    n1 = x1.shape[0]
    fans = (x.shape[1],) + (width,) * depth

    shapes = [(fans[l + 1] if l < depth else 1, fans[l]) for l in range(depth + 1)]
    sizes = [a * b for a, b in shapes] + [a for a, _ in shapes]

    def one(k):  # one normal draw for all weights and biases: one PRNG kernel keeps compilation fast
        parts = jnp.split(jax.random.normal(k, (sum(sizes),)), np.cumsum(sizes)[:-1])
        ws = [p.reshape(shape) for p, shape in zip(parts, shapes)]
        bs = parts[depth + 1 :]

        def forward(shifts):  # NTK parametrisation; the SP net has the same forward pass in law
            u, us = x, []
            for l in range(depth + 1):
                us.append(u)
                h = jnp.sqrt(sigma_w2 / fans[l]) * u @ ws[l].T + jnp.sqrt(sigma_b2) * bs[l][None, :] + shifts[l]
                u = phi(h) if l < depth else h
            return h[:, 0], us

        shifts = [jnp.zeros((x.shape[0], w.shape[0])) for w in ws]
        (f, us), pullback = jax.vjp(forward, shifts)
        deltas = pullback((jnp.ones_like(f), [jnp.zeros_like(u) for u in us]))[0]
        # NNGP estimate: the output's covariance given the last hidden layer (exact mean, O(width^-1/2) noise)
        nngp = sigma_w2 * us[-1][:n1] @ us[-1][n1:].T / width + sigma_b2
        # per-layer learning rates: NTK (sigma_w2 / fan_in, sigma_b2), standard (1 / fan_in, 1 if biases)
        lr_w, lr_b = jnp.where(standard, 1.0, sigma_w2), jnp.where(standard, sigma_b2 > 0, sigma_b2)
        ntk = sum(
            (lr_w * u[:n1] @ u[n1:].T / fans[l] + lr_b) * (g[:n1] @ g[n1:].T)
            for l, (u, g) in enumerate(zip(us, deltas))
        )
        return nngp, ntk

    return jax.lax.map(one, jax.random.split(key, n_samples))


def mc_kernels(
    x1, x2, *, width: int, depth: int, activation: str, key: jax.Array, n_samples: int = 1, sigma_w2=1.0,
    sigma_b2=0.0, parametrization="ntk", negative_slope=0.1
) -> tuple[jax.Array, jax.Array]:  # fmt: skip
    r"""Finite-width estimates of :func:`nngp_ntk` from ``n_samples`` random Gaussian nets: ``(S, n1, n2) x 2``.

    Per draw, the NNGP estimate is the output covariance given the hidden layers,
    :math:`\sigma_w^2\,\phi(h^L)\cdot\phi(h^L)'/d + \sigma_b^2`, and the NTK estimate is the draw's exact tangent
    kernel in the requested parametrisation (learning rates as in :func:`nngp_ntk`).
    """
    depth, sigma_w2, sigma_b2, negative_slope = _validate_net(depth, activation, sigma_w2, sigma_b2, negative_slope)
    _validate.choice("parametrization", parametrization, PARAMETRIZATIONS)
    width = _validate.width("width", width)
    n_samples = _validate.integer("n_samples", n_samples, low=1)
    models._check_key(key)
    x1, x2 = _check_inputs(x1, x2)
    args = (width, depth, activation, negative_slope, n_samples)
    return _mc(key, x1, x2, sigma_w2, sigma_b2, parametrization == "standard", *args)


@functools.partial(jax.jit, static_argnames=("mlp", "batch_size"))
def _empirical_ntk(mlp, params, x1, x2, lrs, batch_size):
    def feats(xs):
        return jax.lax.map(lambda x: models.features(mlp, params, x), xs, batch_size=batch_size)

    (in1, d1), (in2, d2) = feats(x1), feats(x2)
    layers = [(u1 @ u2.T) * (g1 @ g2.T) for u1, u2, g1, g2 in zip(in1, in2, d1, d2)]
    return sum(lr * k for lr, k in zip(lrs, layers))


def empirical_ntk(mlp: models.MLP, params: models.Params, x1, x2, lrs, *, batch_size: int = 128) -> jax.Array:
    r"""Learning-rate-weighted empirical tangent kernel :math:`\sum_l\eta_l\nabla_lf(x)\cdot\nabla_lf(x')`.

    ``x1 (n1, n_in), x2 (n2, n_in) -> (n1, n2)``; ``lrs`` has one rate per layer in ``mlp.layer_names`` order.
    Equals ``sum(lrs[l] * models.layer_kernels(...)[l])``; per-example features are computed ``batch_size`` inputs
    at a time and no per-example gradient is materialised. Rates must be finite and ``>= 0``.
    """
    models._check_mlp(mlp)
    models._check_params(mlp, params)  # structure and shapes against mlp
    x1, x2 = _check_inputs(x1, x2, mlp.n_in)
    lrs = _validate.array("lrs", lrs, kinds="fiu")
    if tuple(np.shape(lrs)) != (mlp.depth + 1,):
        raise ValueError(f"lrs must hold one rate per layer {mlp.layer_names}, got shape {np.shape(lrs)}")
    if not _validate.is_traced(lrs) and np.any(np.asarray(lrs) < 0):
        raise ValueError(f"lrs must hold learning rates >= 0, got {np.asarray(lrs)}")
    lrs = jnp.asarray(lrs, jnp.float32)
    batch_size = _validate.integer("batch_size", batch_size, low=1)
    return _empirical_ntk(mlp, params, x1, x2, lrs, batch_size)
