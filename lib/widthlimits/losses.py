r"""The losses and the accuracy the book trains and reports, defined once.

The logistic loss :math:`\ell(y, f) = \log(1 + e^{-\tilde y f})`, :math:`\tilde y = 2y - 1`, averaged over the
points (PyTorch's ``BCEWithLogitsLoss``), and the square loss :math:`\tfrac12 (f - \tilde y)^2` (``"mse"``, for
the kernel-regression and catapult results stated for it). Labels are ``{0, 1}``; shapes ``(n,), (n,) -> ()``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from widthlimits import _validate


def _check_pair(logits: Any, y: Any) -> None:
    # Shapes only (static under jit, so this costs nothing in the training loop): a column of labels (n, 1)
    # against logits (n,) would broadcast to an (n, n) loss and average the wrong thing silently.
    for name, arr in (("logits", logits), ("y", y)):
        if not hasattr(arr, "shape"):
            raise TypeError(f"{name} must be an array of shape (n,), got {type(arr).__name__}")
    if len(logits.shape) != 1 or tuple(y.shape) != tuple(logits.shape):
        raise ValueError(f"logits and y must both have shape (n,), got {tuple(logits.shape)} and {tuple(y.shape)}")
    if not _validate.is_traced(y):  # concrete labels (an eager call): ±1 targets would train on the wrong loss
        _validate.labels("y", y, logits.shape[0])


def logistic_loss(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Mean logistic loss, ``(n,), (n,) -> ()``, labels in ``{0, 1}``."""
    _check_pair(logits, y)
    return jnp.mean(jax.nn.softplus(-(2 * y - 1) * logits))


def square_loss(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Mean of ``(f - (2y - 1))**2 / 2``, ``(n,), (n,) -> ()``: regression onto the targets +-1."""
    _check_pair(logits, y)
    return 0.5 * jnp.mean((logits - (2 * y - 1)) ** 2)


LOSSES = {"logistic": logistic_loss, "mse": square_loss}


def accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Fraction of points with ``sign(f) == 2y - 1``, ``(n,), (n,) -> ()``."""
    _check_pair(logits, y)
    return jnp.mean((2 * y - 1) * logits > 0)
