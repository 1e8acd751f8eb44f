r"""Infinite-width kernels in closed form, their finite-width estimates, and kernel gradient descent.

**Dual activations.** For :math:`(u, v) \sim \mathcal N(0, [[s_{11}, s_{12}], [s_{12}, s_{22}]])`,
:func:`dual` returns :math:`\mathbb E[\phi(u)\phi(v)]` and :math:`\mathbb E[\phi'(u)\phi'(v)]`: the arc-cosine
forms of Cho & Saul for ReLU and leaky ReLU, Williams' arcsine form for erf, and a 2-D Gauss-Hermite rule for
tanh (which has no closed form; :func:`gaussian_expectation` does it for any function).

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
:func:`mse_kernel_flow` give the square loss's trajectories in closed form.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import models, scalings

ACTIVATIONS = ("relu", "leaky_relu", "erf", "tanh")
PARAMETRIZATIONS = ("ntk", "standard")
LOSSES = ("logistic", "mse")


def _check_choice(name: str, value: object, valid: Sequence[str]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {tuple(valid)}, got {value!r}")


def _check_real(name: str, value: object, low: float, high: float = math.inf, *, open_low: bool = False) -> None:
    if isinstance(value, numbers.Real):  # traced values pass through unchecked
        v = float(value)
        if not (math.isfinite(v) and (v > low if open_low else v >= low) and v <= high):
            raise ValueError(f"{name} must lie in {'(' if open_low else '['}{low:g}, {high:g}], got {value!r}")


def _check_int(name: str, value: object, low: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


# ----------------------------------------------------------------------------------------- dual activations
@functools.partial(jax.jit, static_argnames=("fn", "n_points"))
def gaussian_expectation(fn: Callable, s11, s12, s22, *, n_points: int = 48) -> jax.Array:
    r""":math:`\mathbb E\,\mathrm{fn}(u, v)` for :math:`(u,v)\sim\mathcal N(0,\Lambda)` by a 2-D Gauss-Hermite rule.

    ``fn`` is elementwise; ``s11, s12, s22`` broadcast to a common shape ``S`` and the result has shape ``S``.
    With :math:`u = \sqrt{s_{11}}\,z_1`, :math:`v = \sqrt{s_{22}}(\rho z_1 + \sqrt{1-\rho^2} z_2)` the rule is exact
    for polynomials of degree :math:`< 2\,\mathrm{n\_points}` in :math:`(z_1, z_2)`; smooth ``fn`` converge fast,
    kinked ones (ReLU) only algebraically. Node pairs are scanned, so memory stays ``O(|S|)``.
    """
    s11, s12, s22 = jnp.broadcast_arrays(*(jnp.asarray(a, jnp.float32) for a in (s11, s12, s22)))
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
    _check_choice("activation", activation, ACTIVATIONS)
    _check_real("negative_slope", negative_slope, 0.0, 1.0)
    s11, s12, s22 = jnp.broadcast_arrays(*(jnp.asarray(a, jnp.float32) for a in (s11, s12, s22)))
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


# ----------------------------------------------------------------------------------------- recursions
class LayerTerms(NamedTuple):
    r"""``nngp (n1, n2)`` :math:`\Sigma^{L+1}`; per layer ``l = 1..L+1`` (index ``l-1``), ``inputs (L+1, n1, n2)``
    :math:`A^l = u\cdot u'/n_{l-1}` and ``backward (L+1, n1, n2)`` :math:`P^l=\partial_{h^l}f\cdot\partial_{h^l}f'`."""

    nngp: jax.Array
    inputs: jax.Array
    backward: jax.Array


def _validate_net(depth, activation, sigma_w2, sigma_b2, negative_slope):
    _check_int("depth", depth, 1)
    _check_choice("activation", activation, ACTIVATIONS)
    _check_real("sigma_w2", sigma_w2, 0.0, open_low=True)
    _check_real("sigma_b2", sigma_b2, 0.0)
    _check_real("negative_slope", negative_slope, 0.0, 1.0)


def _check_inputs(x1, x2) -> tuple[jax.Array, jax.Array]:
    x1, x2 = jnp.asarray(x1, jnp.float32), jnp.asarray(x2, jnp.float32)
    if x1.ndim != 2 or x2.ndim != 2 or x1.shape[1] != x2.shape[1]:
        raise ValueError(f"x1 and x2 must be (n1, n0) and (n2, n0) arrays, got shapes {x1.shape} and {x2.shape}")
    return x1, x2


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
    _validate_net(depth, activation, sigma_w2, sigma_b2, negative_slope)
    x1, x2 = _check_inputs(x1, x2)
    return _layer_terms(x1, x2, sigma_w2, sigma_b2, depth, activation, float(negative_slope))


def nngp_ntk(
    x1, x2, *, depth: int, activation: str, sigma_w2=1.0, sigma_b2=0.0, parametrization="ntk", negative_slope=0.1
):
    r"""NNGP :math:`\Sigma^{L+1}` and NTK of an ``depth``-hidden-layer net: ``(n1, n0), (n2, n0) -> (n1, n2) x 2``.

    ``parametrization="ntk"``: unit learning rates on the standard-normal parameters, :math:`\Theta^{L+1}` of the
    module docstring. ``"standard"``: weights of variance :math:`\sigma_w^2/n_{l-1}` trained with learning rate
    :math:`1/n_{l-1}` and biases (if :math:`\sigma_b^2 > 0`) with rate 1, i.e. :math:`\sum_l (A^l + 1_{\sigma_b>0})P^l`.
    The NNGP does not depend on the parametrisation.
    """
    _check_choice("parametrization", parametrization, PARAMETRIZATIONS)
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
    mlp = models.MLP() if mlp is None else mlp
    if mlp.depth != 1:
        raise ValueError(f"mlp.depth must be 1 (the reference kernels are for one hidden layer), got {mlp.depth}")
    _check_int("ref_width", ref_width, 1)
    _check_real("ref_lr", ref_lr, 0.0, open_low=True)
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
    _validate_net(depth, activation, sigma_w2, sigma_b2, negative_slope)
    _check_choice("parametrization", parametrization, PARAMETRIZATIONS)
    _check_int("width", width, 1)
    _check_int("n_samples", n_samples, 1)
    x1, x2 = _check_inputs(x1, x2)
    args = (width, depth, activation, float(negative_slope), n_samples)
    return _mc(key, x1, x2, float(sigma_w2), float(sigma_b2), parametrization == "standard", *args)


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
    at a time and no per-example gradient is materialised.
    """
    x1, x2 = _check_inputs(x1, x2)
    lrs = jnp.asarray(lrs, jnp.float32)
    if lrs.shape != (mlp.depth + 1,):
        raise ValueError(f"lrs must hold one rate per layer {mlp.layer_names}, got shape {lrs.shape}")
    _check_int("batch_size", batch_size, 1)
    return _empirical_ntk(mlp, params, x1, x2, lrs, batch_size)


# ----------------------------------------------------------------------------------------- kernel dynamics
def _check_dynamics(theta_train, theta_test_train, f0_train, f0_test, y):
    tt, ttx, f0, f0t, y = (jnp.asarray(a, jnp.float32) for a in (theta_train, theta_test_train, f0_train, f0_test, y))
    n, n_test = y.shape[0] if y.ndim else 0, f0t.shape[0] if f0t.ndim else 0
    shapes = [("y", y, (n,)), ("f0_test", f0t, (n_test,)), ("theta_train", tt, (n, n)), ("f0_train", f0, (n,))]
    for name, arr, shape in [*shapes, ("theta_test_train", ttx, (n_test, n))]:
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape} (n = len(y), n_test = len(f0_test)), got {arr.shape}")
    if not isinstance(y, jax.core.Tracer) and not np.all((np.asarray(y) == 0) | (np.asarray(y) == 1)):
        raise ValueError("y must hold labels in {0, 1} (the mse loss regresses onto 2y - 1)")
    return tt, ttx, f0, f0t, y


@functools.partial(jax.jit, static_argnames=("n_steps", "loss"))
def _kernel_gd(tt, ttx, f0, f0t, y, n_steps, loss):
    n = y.shape[0]

    def step(carry, _):
        f, ft = carry
        g = (jax.nn.sigmoid(f) - y if loss == "logistic" else f - (2 * y - 1)) / n  # d loss / d f, mean loss
        return (f - tt @ g, ft - ttx @ g), carry

    last, (fs, fts) = jax.lax.scan(step, (f0, f0t), None, length=n_steps)
    return jnp.concatenate([fs, last[0][None]]), jnp.concatenate([fts, last[1][None]])


def kernel_gd(theta_train, theta_test_train, f0_train, f0_test, y, *, n_steps: int, loss: str = "logistic"):
    r"""Kernel gradient descent on the mean loss: ``-> f_train (T+1, n), f_test (T+1, n_test)``.

    :math:`f_{k+1}(x) = f_k(x) - \frac1n\sum_j\Theta(x, x_j)\,\partial_f\ell(y_j, f_k(x_j))`, with
    ``theta_train (n, n)`` and ``theta_test_train (n_test, n)`` already learning-rate weighted and labels
    ``y (n,)`` in ``{0, 1}`` for both losses (``"mse"`` regresses onto :math:`2y-1`, as ``training.square_loss``).
    This is exactly GD on the linearised model whose tangent kernel is :math:`\Theta`.
    """
    _check_int("n_steps", n_steps, 0)
    _check_choice("loss", loss, LOSSES)
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


def mse_kernel_gd(theta_train, theta_test_train, f0_train, f0_test, y, steps):
    r"""Closed form of ``kernel_gd(..., loss="mse")`` at integer ``steps (K,)``: ``-> (K, n), (K, n_test)``.

    With :math:`\Theta/n = V\,\mathrm{diag}(\mu)V^\top` and residual :math:`e_0 = f_0 - (2y-1)` on the training set,
    :math:`f_k = (2y-1) + V(1-\mu)^k V^\top e_0` and
    :math:`f_k(x) = f_0(x) - \tfrac1n\Theta(x,X)\,V\,\frac{1-(1-\mu)^k}{\mu}\,V^\top e_0` (the factor is :math:`k` at
    :math:`\mu = 0`). It converges iff every :math:`\mu < 2`.
    """
    steps = np.asarray(steps)
    if steps.ndim != 1 or not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 0):
        raise ValueError(f"steps must be a 1-D array of integers >= 0, got {steps!r}")
    return _mse_closed(*_check_dynamics(theta_train, theta_test_train, f0_train, f0_test, y), steps, True)


def mse_kernel_flow(theta_train, theta_test_train, f0_train, f0_test, y, times):
    r"""Kernel gradient flow for the square loss at real ``times (K,)`` (in GD steps): ``-> (K, n), (K, n_test)``.

    The continuous-time limit of :func:`mse_kernel_gd`: :math:`(1-\mu)^k` becomes :math:`e^{-\mu t}` (Lee et al.
    2019's :math:`e^{-\eta\Theta t}` with the learning rate folded into :math:`\Theta` and the mean loss's :math:`1/n`).
    """
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or not np.all(np.isfinite(times) & (times >= 0)):
        raise ValueError(f"times must be a 1-D array of finite numbers >= 0, got {times!r}")
    return _mse_closed(*_check_dynamics(theta_train, theta_test_train, f0_train, f0_test, y), times, False)
