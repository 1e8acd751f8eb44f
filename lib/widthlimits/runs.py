r"""What one training run is (:class:`Run`, traced) and what it records every step (:class:`History`).

**Divergence.** ``History.nonfinite_step`` is the first step at which the run diverged, by the criterion of
:mod:`widthlimits.divergence` (NaN, inf, or a logit :data:`~widthlimits.divergence.DIVERGENCE_BOUND` times above
its initial scale).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from widthlimits import _validate, models, numerics, scalings


class Run(NamedTuple):
    r"""Traced description of one training run (leaves may carry a leading batch axis).

    Attributes:
      scaling: the family's exponents (its optimiser is static metadata).
      ref_lr: reference learning rate at the reference width.
      init_corrected: ``1.0`` trains the initialisation-corrected model
        :math:`f(\theta) - f(\theta_0) + f_{\mathrm{SP}}(\theta_0^{\mathrm{SP}})`, ``0.0`` the plain one.
      key: PRNG key of the initial draw; equal keys give the same underlying draw for every scaling.
    """

    scaling: scalings.Scaling
    ref_lr: jax.Array
    init_corrected: jax.Array
    key: jax.Array


class History(NamedTuple):
    r"""Records at steps ``k = 0..T`` (``k = 0`` is the initialisation, ``k = T`` after the last update).

    Attributes:
      train_loss, train_acc, test_loss, test_acc: ``(T+1,)``.
      test_logits: ``(T+1, n_test)``.
      kernel: ``(T+1, L+1, n_kernel)`` learning-rate-weighted tangent-kernel diagonal
        :math:`\eta_l \|\partial f(x)/\partial\theta_l\|^2` of each layer on the first ``n_kernel`` test points.
      preact_rms: ``(T+1, L)`` root-mean-square pre-activation of each hidden layer on those points.
      hat_distance: ``(T+1, L+1)`` distance of each layer from its initial value in hat units (cumulative, not
        the size of one step): mean row norm
        :math:`\|w_r - w_r(0)\|` for the input layer, mean :math:`|\Delta v_{rs}|/\sigma` and
        :math:`|\Delta a_r|/\sigma` for hidden and output layers.
      nonfinite_step: ``()`` int32, the first step at which the run diverged (-1 if none): its training loss or a
        training or test logit is NaN/inf, or a logit exceeds :func:`~widthlimits.divergence.divergence_threshold`
        of the initial logits. Named before the finite bound existed; kept so cached and shipped results load.
    """

    train_loss: jax.Array
    train_acc: jax.Array
    test_loss: jax.Array
    test_acc: jax.Array
    test_logits: jax.Array
    kernel: jax.Array
    preact_rms: jax.Array
    hat_distance: jax.Array
    nonfinite_step: jax.Array


def make_run(
    scaling: scalings.Scaling, *, key: jax.Array, ref_lr: float | None = None, init_corrected: bool = False
) -> Run:
    """A single :class:`Run`; ``ref_lr`` (> 0) defaults to the optimiser's reference rate."""
    scalings._check_scaling("scaling", scaling)
    models._check_key(key)
    # Checked before the float32 wrapping below, after which a rate <= 0 would be a valid array and just train
    # backwards or not at all.
    lr = scalings.REF_LR[scaling.optimizer] if ref_lr is None else ref_lr
    lr = _validate.real("ref_lr", lr, low=0, open_low=True)
    if not _validate.is_traced(init_corrected):
        init_corrected = _validate.boolean("init_corrected", init_corrected)
    # The default float dtype: float32, or float64 in a float64 rerun (numerics.x64), never forced to float32.
    return Run(scaling, numerics.as_float(lr), numerics.as_float(init_corrected), key)


def _check_runs(runs: object) -> int:
    """Structure, shapes and (where concrete) values of a batch of runs; returns the batch size ``B``."""
    if not isinstance(runs, Run):
        raise TypeError(f"runs must be a training.Run (one per leaf: a leading batch axis), got {type(runs).__name__}")
    scalings._check_scaling("runs.scaling", runs.scaling)
    lr = _validate.array("runs.ref_lr", runs.ref_lr, ndim=1, kinds="f", min_size=1)
    n_runs = lr.shape[0]
    leaves = [(f"runs.scaling.{f}", getattr(runs.scaling, f)) for f in ("q_sigma", "q_w", "q_v", "q_a")]
    for name, leaf in [*leaves, ("runs.init_corrected", runs.init_corrected)]:
        _validate.array(name, leaf, shape=(n_runs,), kinds="fiu")
    key, shape = runs.key, getattr(runs.key, "shape", None)  # typed keys (B,), or raw uint32 (B, 2) / rbg (B, 4)
    typed = jax.dtypes.issubdtype(getattr(key, "dtype", np.float32), jax.dtypes.prng_key)
    raw = not typed and getattr(key, "dtype", None) == np.uint32 and shape in ((n_runs, 2), (n_runs, 4))
    if not (raw or (typed and shape == (n_runs,))):
        got = f"shape {shape} {getattr(key, 'dtype', type(key).__name__)}"
        raise ValueError(f"runs.key must stack {n_runs} PRNG keys (uint32 ({n_runs}, 2) from PRNGKey), got {got}")
    # Values only where concrete: under a caller's jit they are tracers, and the caller checked them.
    if not _validate.is_traced(lr) and not np.all(np.asarray(lr) > 0):
        raise ValueError(f"runs.ref_lr must hold learning rates in (0, inf), got {np.asarray(lr)}")
    ic = runs.init_corrected
    if not _validate.is_traced(ic) and not np.isin(np.asarray(ic), (0, 1)).all():
        raise ValueError(f"runs.init_corrected must hold 0.0 (plain) or 1.0 (corrected), got {np.asarray(ic)}")
    return n_runs
