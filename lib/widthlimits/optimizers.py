r"""The two optimisers of the book, GD and RMSProp with PyTorch's defaults, with one learning rate per layer.

RMSProp follows ``torch.optim.RMSprop``: :math:`v \leftarrow \alpha v + (1-\alpha) g^2`, step
:math:`-\eta\, g / (\sqrt v + \varepsilon)` with :math:`\alpha = 0.99`, :math:`\varepsilon = 10^{-8}` (``eps``
outside the square root, unlike optax's default).

Its first step, from :math:`v = 0`, is :math:`-\eta\, g / (\sqrt{1-\alpha}\,|g| + \varepsilon)`: the sign step
:math:`-\eta\,\mathrm{sign}(g)/\sqrt{1-\alpha}` shrunk by :func:`rmsprop_eps_factor`, which is where
:data:`RMSPROP_EPS_SCALE` (``eps / sqrt(1 - decay)``) comes from.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import optax

from widthlimits import _validate, models, scalings

RMSPROP_DECAY, RMSPROP_EPS = 0.99, 1e-8
#: :math:`\varepsilon/\sqrt{1-\alpha} = 10^{-7}`: gradient entries of about this size or smaller have their first
#: RMSProp step shrunk by eps (by half at exactly this size); far above it the first step is the sign step.
RMSPROP_EPS_SCALE = RMSPROP_EPS / math.sqrt(1 - RMSPROP_DECAY)


def _check_layers(name: str, tree: object, what: str) -> None:
    """``tree`` is a dict ``{'w': ., 'v': (., ...), 'a': .}`` mirroring the params."""
    if not isinstance(tree, dict) or set(tree) != {"w", "v", "a"} or not isinstance(tree["v"], tuple | list):
        raise TypeError(f"{name} must be a dict {{'w': {what}, 'v': ({what}, ...), 'a': {what}}} mirroring the params, "
                        f"got {tree!r}")


def optimizer(name: str, lrs: models.Params) -> optax.GradientTransformation:
    """GD or RMSProp (PyTorch defaults) with one learning rate per layer; ``lrs`` mirrors the params."""
    _check_layers("lrs", lrs, "lr")
    for path, lr in [("['w']", lrs["w"]), ("['a']", lrs["a"]), *((f"['v'][{l}]", v) for l, v in enumerate(lrs["v"]))]:
        if not callable(lr):  # an optax schedule is a valid rate too; traced rates pass through unchecked
            _validate.real(f"lrs{path}", lr, low=0, open_low=True)
    if name == "gd":
        make = optax.sgd
    elif name == "rmsprop":  # torch.optim.RMSprop: v <- a v + (1-a) g^2, step -lr g / (sqrt(v) + eps)
        make = functools.partial(optax.rmsprop, decay=RMSPROP_DECAY, eps=RMSPROP_EPS, eps_in_sqrt=False)
    else:
        raise ValueError(f"optimizer must be one of {scalings.OPTIMIZERS}, got {name!r}")
    labels = {"w": "w", "v": tuple(f"v{l}" for l in range(1, len(lrs["v"]) + 1)), "a": "a"}
    groups = {"w": lrs["w"], "a": lrs["a"]} | {f"v{l + 1}": lr for l, lr in enumerate(lrs["v"])}
    return optax.multi_transform({name: make(lr) for name, lr in groups.items()}, labels)


def rmsprop_eps_factor(grads: models.Params) -> jax.Array:
    r"""Per layer ``(L+1,)`` (order ``w, v1, ..., a``): the factor by which eps shrinks RMSProp's first hat move.

    Each coordinate's first step is the sign step times
    :math:`r = |g| / (|g| + \varepsilon/\sqrt{1-\alpha})` (the one home of this formula). The hat move of the
    input layer is a mean row norm, so its factor is the mean over rows of the root mean square of ``r`` along
    the row; hidden and output moves are mean absolute values, so theirs is the mean of ``r``. ``1`` means eps
    is negligible, ``1/2`` that the typical gradient entry is :data:`RMSPROP_EPS_SCALE`.

    ``grads``: a gradient ``{'w': (d, n0), 'v': ((d, d), ...), 'a': (d,)}``; may be traced.
    """
    _check_layers("grads", grads, "array")
    layers = [grads["w"], *grads["v"], grads["a"]]
    for i, g in enumerate(layers):
        _validate.array(f"grads (layer {i})", g, ndim=2 if i < len(layers) - 1 else 1, finite=False, min_size=1)
    r = [jnp.abs(g) / (jnp.abs(g) + RMSPROP_EPS_SCALE) for g in layers]
    return jnp.stack([jnp.mean(jnp.sqrt(jnp.mean(r[0] ** 2, axis=1))), *(jnp.mean(q) for q in r[1:])])
