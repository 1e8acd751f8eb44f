r"""Bias-free fully connected nets with one scalar logit, as in the reference code.

With :math:`L` hidden layers of width :math:`d`:

.. math::

   h^1 = W x,\qquad h^{l+1} = V^l \phi(h^l)\ (1\le l<L),\qquad f(x) = a^\top \phi(h^L),

with :math:`W\in\mathbb R^{d\times n_0}`, :math:`V^l\in\mathbb R^{d\times d}`, :math:`a\in\mathbb R^d`.
Parameters are a dict ``{"w": (d, n0), "v": ((d, d), ...) of length L-1, "a": (d,)}``.

Initialisation follows PyTorch's ``nn.Linear`` default, :math:`\mathcal U(\pm 1/\sqrt{\text{fan\_in}})`
(variance :math:`1/(3\,\text{fan\_in})`), after which every non-input layer is multiplied by the scaling's
``init_factor`` :math:`\rho^{q_\sigma+1/2}`. ``init_law="normal"`` draws Gaussians of the same variance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, scalings

Params = dict[str, Any]
ACTIVATIONS = ("leaky_relu", "relu", "erf", "tanh")
INIT_LAWS = ("uniform", "normal")


@dataclasses.dataclass(frozen=True)
class MLP:
    """Static description of the architecture (hashable, so it can be a ``jit`` static argument).

    Attributes:
      depth: number of hidden layers ``L >= 1``.
      activation: one of ``ACTIVATIONS``; the papers use leaky ReLU with slope 0.1.
      negative_slope: slope of leaky ReLU for negative inputs, in ``[0, 1]``.
      n_in: input dimension (3072 for flattened CIFAR images).
      init_law: ``"uniform"`` (PyTorch default) or ``"normal"`` (same variance).
    """

    depth: int = 1
    activation: str = "leaky_relu"
    negative_slope: float = 0.1
    n_in: int = 3072
    init_law: str = "uniform"

    def __post_init__(self):
        # Normalised to Python scalars: the MLP is a jit static argument and part of cache keys, where
        # np.int64(2) and 2 must not give different programs or entries.
        object.__setattr__(self, "depth", _validate.integer("depth", self.depth, low=1))
        _validate.choice("activation", self.activation, ACTIVATIONS)
        object.__setattr__(self, "negative_slope", _validate.real("negative_slope", self.negative_slope, low=0, high=1))
        object.__setattr__(self, "n_in", _validate.integer("n_in", self.n_in, low=1))
        _validate.choice("init_law", self.init_law, INIT_LAWS)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """``("w", "v1", ..., "v{L-1}", "a")``: the order used by per-layer records."""
        return ("w", *(f"v{l}" for l in range(1, self.depth)), "a")

    def phi(self, z: jax.Array) -> jax.Array:
        """The activation function, elementwise."""
        if self.activation == "leaky_relu":
            return jnp.where(z > 0, z, self.negative_slope * z)
        if self.activation == "relu":
            return jnp.maximum(z, 0)
        if self.activation == "erf":
            return jax.scipy.special.erf(z)
        return jnp.tanh(z)


def _check_mlp(mlp: object) -> MLP:
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be a models.MLP, got {type(mlp).__name__}")
    return mlp


def _check_key(key: object) -> None:
    """One PRNG key: a typed key (``jax.random.key``) or a raw ``uint32`` one (``jax.random.PRNGKey``).

    Raw keys are ``(2,)`` for the default threefry generator and ``(4,)`` for ``rbg``.
    """
    if _validate.is_traced(key):  # e.g. vmapped over seeds: its per-example shape is checked by jax.random
        return
    dtype = getattr(key, "dtype", None)
    typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    raw = isinstance(key, np.ndarray | jax.Array) and not typed and dtype == np.uint32 and key.shape in ((2,), (4,))
    if not ((typed and key.shape == ()) or raw):
        got = f"shape {key.shape} {dtype}" if dtype is not None else type(key).__name__
        raise TypeError(f"key must be one PRNG key (jax.random.PRNGKey(seed) or jax.random.key(seed)), got {got}")


def _check_params(mlp: MLP, params: object, name: str = "params") -> Params:
    """Structure and shapes of ``params`` against ``mlp`` (shapes only, so traced params are checked too)."""
    if not isinstance(params, dict) or set(params) != {"w", "v", "a"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"{name} must be a dict with keys 'w', 'v', 'a' (from models.init), got {got}")
    w, v, a = params["w"], params["v"], params["a"]
    if not all(hasattr(t, "shape") for t in (w, a)) or not isinstance(v, tuple | list):
        raise TypeError(f"{name} must hold arrays 'w', 'a' and a tuple 'v' of arrays (from models.init)")
    if len(w.shape) != 2 or w.shape[1] != mlp.n_in:
        raise ValueError(f"{name}['w'] must have shape (width, mlp.n_in={mlp.n_in}), got {tuple(w.shape)}")
    d = w.shape[0]
    if len(v) != mlp.depth - 1:
        raise ValueError(f"{name}['v'] must hold mlp.depth - 1 = {mlp.depth - 1} hidden layers, got {len(v)}")
    for l, m in enumerate(v):
        if getattr(m, "shape", None) != (d, d):
            raise ValueError(f"{name}['v'][{l}] must have shape ({d}, {d}), got {getattr(m, 'shape', m)}")
    if tuple(a.shape) != (d,):
        raise ValueError(f"{name}['a'] must have shape ({d},), got {tuple(a.shape)}")
    return params


def _check_x(mlp: MLP, name: str, x: object, ndim: int) -> jax.Array:
    """One input ``(n_in,)`` (``ndim=1``) or a batch ``(n, n_in)`` (``ndim=2``) of finite floats."""
    shape = (mlp.n_in,) if ndim == 1 else (None, mlp.n_in)
    want = f"({mlp.n_in},)" if ndim == 1 else f"(n, {mlp.n_in})"
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"{name} must be a float array of shape {want} (mlp.n_in = {mlp.n_in}), got {type(x).__name__}")
    if len(x.shape) != ndim or x.shape[-1] != mlp.n_in:
        raise ValueError(f"{name} must have shape {want} (trailing dimension mlp.n_in = {mlp.n_in}), got {x.shape}")
    return _validate.array(name, x, shape=shape, kinds="f")


def _draw(mlp: MLP, shape: tuple[int, ...], fan_in: int, key: jax.Array) -> jax.Array:
    bound = 1.0 / jnp.sqrt(jnp.float32(fan_in))
    if mlp.init_law == "uniform":
        return jax.random.uniform(key, shape, jnp.float32, -bound, bound)
    return jax.random.normal(key, shape, jnp.float32) * bound / jnp.sqrt(3.0)


def init_reference(mlp: MLP, width: int, *, key: jax.Array) -> Params:
    """The unscaled (standard-parametrisation) draw at width ``width``: every layer at PyTorch's default law."""
    _check_mlp(mlp)
    width = _validate.width("width", width)
    _check_key(key)
    k_w, k_a, *k_v = jax.random.split(key, mlp.depth + 1)
    return {
        "w": _draw(mlp, (width, mlp.n_in), mlp.n_in, k_w),
        "v": tuple(_draw(mlp, (width, width), width, k) for k in k_v),
        "a": _draw(mlp, (width,), width, k_a),
    }


def rescale(params: Params, factor: jax.Array) -> Params:
    """Multiply every non-input layer by ``factor`` (the input layer is never rescaled); ``factor > 0``."""
    if not isinstance(params, dict) or not {"w", "v", "a"} <= set(params):
        got = type(params).__name__
        raise TypeError(f"params must be a dict with keys 'w', 'v', 'a' (from models.init), got {got}")
    scalings._check_positive("factor", factor)
    return {"w": params["w"], "v": tuple(factor * v for v in params["v"]), "a": factor * params["a"]}


def init(
    mlp: MLP, width: int, scaling: scalings.Scaling, *, key: jax.Array, ref_width: int = scalings.REF_WIDTH
) -> Params:
    """Initial parameters of the width-``width`` member of a scaled family.

    For a fixed ``key`` every scaling starts from the same underlying draw (the ``dev`` code's convention),
    so families differ only by the deterministic factor ``rho**(q_sigma + 1/2)``.
    """
    _check_mlp(mlp)
    scalings._check_scaling("scaling", scaling)
    _check_key(key)
    hp = scalings.hyperparams(scaling, width, ref_width=ref_width)
    return rescale(init_reference(mlp, width, key=key), hp.init_factor)


def _forward(mlp: MLP, params: Params, x: jax.Array, shifts: tuple[jax.Array, ...] | None = None):
    """Layer inputs and pre-activations of one example; ``shifts`` are added to the pre-activations."""
    inputs, pre = [x], []
    h = params["w"] @ x
    for l, v in enumerate((*params["v"], None)):
        if shifts is not None:
            h = h + shifts[l]
        pre.append(h)
        z = mlp.phi(h)
        inputs.append(z)
        if v is not None:
            h = v @ z
    return inputs, pre, jnp.dot(params["a"], inputs[-1])


def apply(mlp: MLP, params: Params, x: jax.Array) -> jax.Array:
    """The logit of one example: ``x (n_in,) -> ()``."""
    _check_params(_check_mlp(mlp), params)
    _check_x(mlp, "x", x, 1)
    return _forward(mlp, params, x)[2]


def apply_batch(mlp: MLP, params: Params, xs: jax.Array) -> jax.Array:
    """Logits of a batch: ``xs (n, n_in) -> (n,)``."""
    _check_params(_check_mlp(mlp), params)
    _check_x(mlp, "xs", xs, 2)
    return jax.vmap(apply, in_axes=(None, None, 0))(mlp, params, xs)


def preactivations(mlp: MLP, params: Params, x: jax.Array) -> list[jax.Array]:
    """Pre-activations ``[h^1, ..., h^L]`` of one example, each ``(d,)``."""
    _check_params(_check_mlp(mlp), params)
    _check_x(mlp, "x", x, 1)
    return _forward(mlp, params, x)[1]


def features(mlp: MLP, params: Params, x: jax.Array) -> tuple[list[jax.Array], list[jax.Array]]:
    r"""Per-layer factors of the parameter gradient of one example.

    The gradient of :math:`f` with respect to layer :math:`l`'s weight matrix is the outer product
    :math:`\delta_l\, u_l^\top` of the backward signal :math:`\delta_l = \partial f/\partial(\text{layer output})`
    and the layer input :math:`u_l`. Returns ``(inputs, deltas)``, one entry per layer in ``mlp.layer_names``
    order; for the output layer :math:`\delta = 1`.
    """
    _check_params(_check_mlp(mlp), params)
    _check_x(mlp, "x", x, 1)
    shifts = tuple(jnp.zeros(params["a"].shape) for _ in range(mlp.depth))
    (inputs, _, _), pullback = jax.vjp(lambda s: _forward(mlp, params, x, s), shifts)
    zero_inputs = [jnp.zeros_like(u) for u in inputs]
    zero_pre = [jnp.zeros_like(s) for s in shifts]
    (deltas,) = pullback((zero_inputs, zero_pre, jnp.ones(())))
    return inputs, [*deltas, jnp.ones((1,))]


def layer_kernels(mlp: MLP, params: Params, xs1: jax.Array, xs2: jax.Array) -> jax.Array:
    r"""Empirical tangent kernel of each layer: ``(n1, n_in), (n2, n_in) -> (L + 1, n1, n2)``.

    Entry ``l`` is :math:`\langle \partial f(x)/\partial\theta_l, \partial f(x')/\partial\theta_l\rangle
    = (\delta_l\cdot\delta_l')(u_l\cdot u_l')`. Weighting by the per-layer learning rates and summing gives
    the kernel that one GD step uses; no per-example gradient is ever materialised.
    """
    _check_params(_check_mlp(mlp), params)
    _check_x(mlp, "xs1", xs1, 2)
    _check_x(mlp, "xs2", xs2, 2)
    in1, d1 = jax.vmap(features, in_axes=(None, None, 0))(mlp, params, xs1)
    in2, d2 = jax.vmap(features, in_axes=(None, None, 0))(mlp, params, xs2)
    return jnp.stack([(u1 @ u2.T) * (g1 @ g2.T) for u1, u2, g1, g2 in zip(in1, in2, d1, d2)])


def layer_kernel_diag(mlp: MLP, params: Params, xs: jax.Array) -> jax.Array:
    """Diagonal of :func:`layer_kernels`: ``(n, n_in) -> (L + 1, n)``, i.e. ``|d f(x) / d theta_l|^2``."""
    _check_params(_check_mlp(mlp), params)
    _check_x(mlp, "xs", xs, 2)
    inputs, deltas = jax.vmap(features, in_axes=(None, None, 0))(mlp, params, xs)
    return jnp.stack([jnp.sum(u * u, -1) * jnp.sum(g * g, -1) for u, g in zip(inputs, deltas)])


def _check_same_draw(mlp: MLP, params0: Params, params0_reference: Params) -> None:
    _check_params(_check_mlp(mlp), params0, "params0")
    _check_params(mlp, params0_reference, "params0_reference")
    if params0["w"].shape != params0_reference["w"].shape:
        raise ValueError(
            f"params0 and params0_reference must be draws of one width, got {params0['w'].shape[0]} and "
            f"{params0_reference['w'].shape[0]}"
        )


def init_offset(mlp: MLP, params0: Params, params0_reference: Params, xs: jax.Array) -> jax.Array:
    r"""The IC-MF offset :math:`f_{\text{SP}}(\theta^{\text{SP}}_0; x) - f(\theta_0; x)`, a constant of the run.

    This is the one home of the IC-MF formula :math:`f(\theta) - f(\theta_0) + f_{\text{SP}}(\theta^{\text{SP}}_0)`:
    the corrected logit is the plain one plus this offset, fixed at initialisation (:func:`init_corrected` and the
    direct training engine of :mod:`widthlimits.engines` use it). ``params0`` is the scaled initial draw,
    ``params0_reference`` the same draw unscaled (standard parametrisation); ``xs (n, n_in) -> (n,)``. For one
    hidden layer see :func:`init_offset_from_preactivations`, the same number without a second forward pass.
    """
    _check_same_draw(mlp, params0, params0_reference)
    _check_x(mlp, "xs", xs, 2)
    return apply_batch(mlp, params0_reference, xs) - apply_batch(mlp, params0, xs)


def init_offset_from_preactivations(mlp: MLP, z0: jax.Array, a0: jax.Array, a_reference: jax.Array) -> jax.Array:
    r""":func:`init_offset` of one hidden layer from its pre-activations: :math:`\phi(Z_0)(a^{\text{SP}}_0 - a_0)`.

    The input layer is never rescaled (:func:`rescale`), so the two draws share :math:`Z_0 = X W_0^\top` and differ
    only in the output layer. ``z0 (n, d)``, ``a0 (d,)`` (scaled), ``a_reference (d,)`` (unscaled) ``-> (n,)``.
    Shapes are checked, values only when concrete (it is called inside compiled engines).
    """
    _check_mlp(mlp)
    z0 = _validate.array("z0", z0, ndim=2, kinds="f")
    for name, a in (("a0", a0), ("a_reference", a_reference)):
        _validate.array(name, a, shape=(z0.shape[1],), kinds="f")
    return mlp.phi(z0) @ (a_reference - a0)


def init_corrected(mlp: MLP, params0: Params, params0_reference: Params) -> Callable[[Params, jax.Array], jax.Array]:
    r"""The initialisation-corrected model :math:`f(\theta) - f(\theta_0) + f_{\text{ref}}(\theta^{\text{ref}}_0)`.

    ``params0`` is the scaled initial draw and ``params0_reference`` the same draw unscaled (standard
    parametrisation); the offset is :func:`init_offset`. Gradients flow through the first term only. Returns
    ``(params, x (n_in,)) -> ()``.
    """
    _check_same_draw(mlp, params0, params0_reference)

    def f(params: Params, x: jax.Array) -> jax.Array:
        offset = init_offset(mlp, params0, params0_reference, x[None])[0]
        return apply(mlp, params, x) + jax.lax.stop_gradient(offset)

    return f


# ----------------------------------------------------------------------------------------- span of the inputs


def span_preactivations(z0: jax.Array, gram: jax.Array, ct: jax.Array) -> jax.Array:
    r"""Pre-activations of an input layer that moved in the span of the training inputs: :math:`Z_0 + G C^\top`.

    The span reparametrisation: one hidden layer trained by GD on :math:`n` training inputs :math:`X` (rows) keeps
    :math:`W = W_0 + C X` exactly, because every gradient of :math:`W` is
    :math:`(\phi'(Z)\odot e\,a^\top)^\top X`; a step is :math:`C^\top \leftarrow C^\top - \eta_W\,
    \phi'(Z)\odot e\,a^\top`. So on any points :math:`X_{\text{eval}}` (rows) the pre-activations are
    :math:`X_{\text{eval}} W^\top = Z_0 + G C^\top` with :math:`Z_0 = X_{\text{eval}} W_0^\top` and the Gram matrix
    :math:`G = X_{\text{eval}} X^\top`, and :math:`C^\top` (``(n, d)``) replaces the ``(d, n_in)`` weights.
    ``z0 (N, d)``, ``gram (N, n)``, ``ct (n, d) -> (N, d)``. The home of this formula (the MF particle recursion and
    the Gram training engine use it); :func:`span_weights` gives the weights
    themselves.
    """
    z0 = _validate.array("z0", z0, ndim=2, kinds="f")
    gram = _validate.array("gram", gram, shape=(z0.shape[0], None), kinds="f")
    _validate.array("ct", ct, shape=(gram.shape[1], z0.shape[1]), kinds="f")
    return z0 + gram @ ct


def span_weights(w0: jax.Array, ct: jax.Array, x: jax.Array) -> jax.Array:
    r"""The input layer :math:`W = W_0 + C X` of the span reparametrisation (:func:`span_preactivations`).

    ``w0 (d, n_in)``, ``ct (n, d)`` (:math:`C^\top`), ``x (n, n_in)`` the training inputs ``-> (d, n_in)``.
    """
    w0 = _validate.array("w0", w0, ndim=2, kinds="f")
    x = _validate.array("x", x, shape=(None, w0.shape[1]), kinds="f")
    _validate.array("ct", ct, shape=(x.shape[0], w0.shape[0]), kinds="f")
    return w0 + ct.T @ x
