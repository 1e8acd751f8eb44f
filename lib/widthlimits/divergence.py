r"""When a run has diverged: one criterion for nets, limit models, kernel dynamics and plots.

A run *diverges* at the first step where a logit (or the training loss) is NaN or infinite, or a logit exceeds
:func:`divergence_threshold`: :data:`DIVERGENCE_BOUND` times the run's initial logit scale
:math:`\max(1, \max_x |f_0(x)|)`. The finite bound matters: a blow-up grows geometrically, and between ``1e8``
and float32's overflow at ``3e38`` lie thirty orders of magnitude, more steps than many runs have
(``from_hat(0, 12)`` at width 256 reaches logits of ``1e23`` after 10 steps without a single inf).

Used by :mod:`widthlimits.kernels` (kernel GD), :mod:`widthlimits.training` (``History.nonfinite_step``, which
re-exports :data:`DIVERGENCE_BOUND`), :mod:`widthlimits.limits` and :func:`widthlimits.plots.curves`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

#: Factor by which a run's logits may grow over their initial scale before the run counts as diverged.
#:
#: Why ``1e8``. Every run the book trains changes its logits by far less: the largest growth is SP's, whose
#: logits grow like :math:`\sqrt{d/128}` from O(1) (about 23 at :math:`d = 2^{16}`, the widest net trained), and
#: the catapult spikes of the square loss, whose peak loss grows like :math:`d` (logits of a few hundred at the
#: widths used; 17 at width 512). ``1e8`` is more than :math:`10^5` times above both. Above it a float32 run has
#: stopped learning from its data: the spacing of float32 numbers near ``1e8`` is 8, so the square loss's
#: residual :math:`f - \tilde y` rounds to :math:`f` (the label :math:`\tilde y = \pm1` is below half a unit in the
#: last place once :math:`|f| > 2^{25} \approx 3.4\cdot10^7`), and the logistic loss of a wrong-signed example is
#: :math:`|f|` itself, ``1e8`` times its initial :math:`\log 2`. And it leaves thirty orders of magnitude below
#: float32's overflow, where NaN/inf would appear, for a blow-up to be caught early.
#:
#: Why relative to the initial scale rather than absolute: the exponent sweeps include limit models far inside
#: the stability band (hat exponents :math:`\pm 10`) whose logits are ``4e8`` at initialisation at width 16 and
#: ``2e23`` at width 16384, by design and stable; an absolute bound would call them diverged at step 0, before
#: any training. Divergence is growth. For every run that starts at O(1) logits (all others) the criterion is the
#: absolute bound ``|f| > 1e8``.
DIVERGENCE_BOUND = 1e8


def divergence_threshold(initial_logits: Any) -> jax.Array:
    """``DIVERGENCE_BOUND * max(1, max |initial_logits|)``: the logit magnitude beyond which a run has diverged.

    ``initial_logits`` are a run's logits at step 0, any shape (NaN there makes the threshold NaN; the run is
    then flagged at step 0 by the NaN itself).
    """
    f0 = jnp.asarray(initial_logits)
    return DIVERGENCE_BOUND * jnp.maximum(1.0, jnp.max(jnp.abs(f0)) if f0.size else 1.0)


def diverged(values: Any, threshold: Any = DIVERGENCE_BOUND) -> jax.Array:
    """Elementwise: ``True`` where ``values`` is NaN, infinite, or larger than ``threshold`` in magnitude.

    ``threshold`` (broadcast against ``values``) defaults to :data:`DIVERGENCE_BOUND`, the threshold of a run
    whose initial logits are O(1); pass :func:`divergence_threshold` of the run's initial logits otherwise.
    NumPy or JAX arrays, traced or not.
    """
    v = jnp.asarray(values)
    return ~jnp.isfinite(v) | (jnp.abs(v) > threshold)


def first_diverged_step(bad: Any, steps: Any = None) -> jax.Array:
    """``bad (..., K)`` booleans per recorded step -> ``(...,)`` int32: the first bad step, ``-1`` if none.

    ``steps (K,)`` are the step numbers of the records (default ``0..K-1``); with unsorted steps the smallest
    bad one is returned.
    """
    b = jnp.asarray(bad, bool)
    if b.ndim < 1:
        raise ValueError(f"bad must have a trailing step axis, got shape {b.shape}")
    if steps is None:
        return jnp.where(jnp.any(b, axis=-1), jnp.argmax(b, axis=-1), -1).astype(jnp.int32)
    steps = jnp.asarray(steps, jnp.int32)
    if steps.shape != b.shape[-1:]:
        raise ValueError(f"steps must have shape ({b.shape[-1]},), one step number per record, got {steps.shape}")
    big = jnp.iinfo(jnp.int32).max
    first = jnp.min(jnp.where(b, steps, big), axis=-1)
    return jnp.where(first == big, -1, first).astype(jnp.int32)
