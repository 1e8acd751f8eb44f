"""The two optimisers of the book, GD and RMSProp with PyTorch's defaults, with one learning rate per layer.

RMSProp follows ``torch.optim.RMSprop``: :math:`v \\leftarrow \alpha v + (1-\alpha) g^2`, step
:math:`-\\eta\\, g / (\\sqrt v + \varepsilon)` with :math:`\alpha = 0.99`, :math:`\varepsilon = 10^{-8}` (``eps``
outside the square root, unlike optax's default).
"""

from __future__ import annotations

import functools

import optax

from widthlimits import _validate, models, scalings

RMSPROP_DECAY, RMSPROP_EPS = 0.99, 1e-8


def optimizer(name: str, lrs: models.Params) -> optax.GradientTransformation:
    """GD or RMSProp (PyTorch defaults) with one learning rate per layer; ``lrs`` mirrors the params."""
    if not isinstance(lrs, dict) or set(lrs) != {"w", "v", "a"} or not isinstance(lrs["v"], tuple | list):
        raise TypeError(f"lrs must be a dict {{'w': lr, 'v': (lr, ...), 'a': lr}} mirroring the params, got {lrs!r}")
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
