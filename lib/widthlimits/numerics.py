r"""Floating-point facts the book's identity checks rest on: unit round-offs, float64 reruns, kink decisions.

Two computations of the same quantity (the Gram engine and autograd, a width-``d*`` net and a ``d*``-particle
recursion) agree only up to round-off, so their tolerance must come from an error model, not from the numbers
one machine printed. This module holds the pieces of those models:

* :data:`UNIT_ROUNDOFF`: :math:`u = 2^{-24}` (float32) and :math:`2^{-53}` (float64); one rounded operation
  has relative error at most :math:`u`, a sum of :math:`m` terms at most about :math:`m u` times the sum of
  the absolute values (the classical bound; typically :math:`\sqrt m\,u`).
* :func:`x64`: a context in which JAX computes in float64, for reruns that confirm an identity where float32
  round-off cannot be bounded simply.
* :func:`near_kink_fraction`: a piecewise-linear activation (leaky ReLU) turns round-off into an O(1) change
  of :math:`\phi'` whenever a pre-activation lies within its own round-off of the kink. Two implementations
  then take different branches, and their trajectories separate by far more than :math:`u`. The expected
  number of such events is the number of pre-activations evaluated times the fraction within that distance.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate

#: Unit round-off ``u`` (half the machine epsilon) of each float dtype.
UNIT_ROUNDOFF = {"float32": 2.0**-24, "float64": 2.0**-53}


def float_dtype() -> np.dtype:
    """JAX's default float dtype here: float64 inside :func:`x64` (or with ``jax_enable_x64``), else float32."""
    return np.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))


def as_float(value) -> jax.Array:
    """``value`` as an array of the default float dtype (float64 under :func:`x64`), never forced to float32.

    The library's scalar constants (learning rates, init scales) go through this, so that a float64 rerun
    computes them in float64 too and an identity check is not limited by constants rounded to float32.
    """
    return jnp.asarray(value, dtype=float_dtype())


@contextlib.contextmanager
def x64() -> Iterator[None]:
    """Compute in float64 inside the block (``jax.enable_x64`` on JAX >= 0.6, the experimental one before)."""
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # JAX 0.5: the context manager still lives in jax.experimental
        from jax.experimental import enable_x64 as enable

        with enable():
            yield
    else:
        with enable(True):
            yield


def near_kink_fraction(z: np.ndarray, rel_error: float, *, window: float = 0.05) -> float:
    r"""Expected fraction of pre-activations within ``rel_error * rms(z)`` of the kink at 0; ``(...,) -> float``.

    With ``rel_error`` the relative round-off of a pre-activation (e.g. :math:`\sqrt{n_0}\,u` for a dot
    product over :math:`n_0` inputs), this is the probability that round-off flips the branch of a leaky ReLU;
    times the number of pre-activations evaluated it is the expected number of flipped decisions. The window
    of round-off is far too narrow to count directly, so the density of ``z`` at 0 is estimated from the
    fraction within ``window * rms(z)`` (a smooth density is flat there) and scaled down to the round-off
    width: :math:`P(|z| \le \epsilon s) \approx P(|z| \le h s)\,\epsilon / h`.
    """
    z = np.asarray(_validate.array("z", z, kinds="f", min_size=1), dtype=np.float64)
    window = _validate.real("window", window, low=0.0, high=1.0, open_low=True)
    rel_error = _validate.real("rel_error", rel_error, low=0.0, high=window)
    scale = float(np.sqrt(np.mean(z**2)))
    return float(np.mean(np.abs(z) <= window * scale)) * rel_error / window
