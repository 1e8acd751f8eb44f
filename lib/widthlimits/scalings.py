r"""Power-law scalings of the initialisation and the learning rates with width.

A *scaling* says how a reference net of width :math:`d^*` (default 128) is turned into a net of width
:math:`d`. With :math:`\rho = d/d^*`, the initial std of every non-input weight and the per-layer learning
rates are

.. math::

   \sigma(d) = \sigma^* \rho^{q_\sigma},\qquad
   \eta_W = \eta^* \rho^{q_w},\quad \eta_V = \eta^* \rho^{q_v},\quad \eta_a = \eta^* \rho^{q_a},

where :math:`W` is the input layer (its init never changes with width), :math:`V` the hidden
:math:`d\times d` layers and :math:`a` the output layer. These four *raw* exponents are what the
reference code (Golikov, ``utils/scale_hyperparams.py``) multiplies in, and what :class:`Scaling` stores.

*Hat* coordinates describe the same scaling through the normalised weights
:math:`\hat a = a/\sigma`, :math:`\hat w = w`: :math:`\tilde q_a, \tilde q_w` are chosen so that one step
moves a neuron's hat weights by :math:`d^{\,q_\sigma + \tilde q}` (the quantity the whole framework is
organised around). For GD the hat learning rate of :math:`\hat a` is :math:`\eta_a/\sigma^2`, so
:math:`\tilde q_a = q_a - 2q_\sigma` and :math:`\tilde q_w = q_w`. For RMSProp the step no longer
scales with the gradient, so :math:`\tilde q_w = q_w - q_\sigma` instead (derived here; it reproduces the
reference code's RMSProp table for MF, NTK and intermediate).

Exponents are ordinary JAX leaves: a :class:`Scaling` can be traced, stacked and vmapped, so a sweep over
exponents compiles once. The optimiser is static metadata.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

OPTIMIZERS = ("gd", "rmsprop")
#: Reference learning rates :math:`\eta^*` of the papers (Figure 1 and Figure 2 captions).
REF_LR = {"gd": 0.02, "rmsprop": 0.0002}
#: Reference width :math:`d^* = 2^7`.
REF_WIDTH = 128
PRESETS = ("sp", "mf", "ntk", "intermediate", "sym_default")
_ALIASES = {"default": "sp", "standard": "sp", "mean_field": "mf", "default_sym": "sym_default"}


def _check_finite(name: str, value: object) -> None:
    # Only concrete numbers can be checked; tracers and pytree placeholders pass through.
    if isinstance(value, numbers.Real) and not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")


def _check_optimizer(optimizer: str) -> str:
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    return optimizer


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Scaling:
    """Raw width exponents of a scaling (see the module docstring).

    Attributes:
      q_sigma: exponent of the init std of hidden and output weights.
      q_w: learning-rate exponent of the input layer.
      q_v: learning-rate exponent of the hidden ``d x d`` layers (unused with one hidden layer).
      q_a: learning-rate exponent of the output layer.
      optimizer: ``"gd"`` or ``"rmsprop"`` (static metadata, not a leaf).
    """

    q_sigma: float
    q_w: float
    q_v: float
    q_a: float
    optimizer: str = dataclasses.field(default="gd", metadata=dict(static=True))

    def __post_init__(self):
        for field in ("q_sigma", "q_w", "q_v", "q_a"):
            _check_finite(field, getattr(self, field))
        _check_optimizer(self.optimizer)


def from_raw(q_sigma: float, q_a: float, q_w: float, q_v: float | None = None, *, optimizer: str = "gd") -> Scaling:
    """A scaling from raw exponents ``(q_sigma, q_a, q_w)``; ``q_v`` defaults to the GD/`dev` rule ``q_w + q_sigma``."""
    return Scaling(q_sigma, q_w, q_w + q_sigma if q_v is None else q_v, q_a, optimizer)


def from_hat(q_sigma: float, q_tilde: float, *, q_tilde_w: float | None = None, optimizer: str = "gd") -> Scaling:
    r"""A scaling from hat exponents :math:`(q_\sigma, \tilde q)` (``q_tilde_w`` for an asymmetric scaling).

    For GD this is the reference code's tuple mode (``dev`` branch): raw exponents
    :math:`q_w=\tilde q_w`, :math:`q_v=\tilde q_w+q_\sigma`, :math:`q_a=\tilde q+2q_\sigma`.
    For RMSProp: :math:`q_w=q_\sigma+\tilde q_w`, :math:`q_v=q_\sigma+\tilde q_w-1`,
    :math:`q_a=\tilde q+2q_\sigma` (derived; reproduces the code's RMSProp presets).
    """
    _check_optimizer(optimizer)
    for name, value in (("q_sigma", q_sigma), ("q_tilde", q_tilde), ("q_tilde_w", q_tilde_w)):
        _check_finite(name, value)
    qtw = q_tilde if q_tilde_w is None else q_tilde_w
    q_a = q_tilde + 2 * q_sigma
    if optimizer == "gd":
        return Scaling(q_sigma, qtw, qtw + q_sigma, q_a, optimizer)
    return Scaling(q_sigma, q_sigma + qtw, q_sigma + qtw - 1, q_a, optimizer)


def to_hat(s: Scaling) -> tuple[float, float, float]:
    r"""Hat coordinates :math:`(q_\sigma, \tilde q_a, \tilde q_w)` of a scaling (inverse of :func:`from_hat`)."""
    q_tilde_w = s.q_w if s.optimizer == "gd" else s.q_w - s.q_sigma
    return s.q_sigma, s.q_a - 2 * s.q_sigma, q_tilde_w


def preset(name: str, *, optimizer: str = "gd", q: float = 0.75) -> Scaling:
    """The named scalings of the reference code (science brief, section 1.4).

    Args:
      name: ``"sp"`` (alias ``"default"``: standard parametrisation, unscaled learning rates), ``"mf"``
        (mean field), ``"ntk"``, ``"intermediate"`` (on the MF-NTK line, ``q_sigma = -q``) or
        ``"sym_default"`` (symmetrised default of the ``dev`` branch).
      optimizer: ``"gd"`` or ``"rmsprop"``; the learning-rate exponents depend on it.
      q: the intermediate scaling's parameter, in ``[0.5, 1]`` (0.5 is NTK, 1 is MF; the paper uses 0.75).

    The hidden-layer exponents are those of the ICML (camera-ready) code, which ran the deep-net
    experiments; the ``dev`` branch used ``q_v = -1/2`` for GD-NTK.
    """
    key = _ALIASES.get(name, name)
    if key not in PRESETS:
        raise ValueError(f"name must be one of {PRESETS} (or an alias in {sorted(_ALIASES)}), got {name!r}")
    _check_optimizer(optimizer)
    _check_finite("q", q)
    if key == "intermediate" and not 0.5 <= q <= 1:
        raise ValueError(f"q must lie in [0.5, 1] (0.5 = NTK, 1 = MF), got {q!r}")
    if key == "sp":
        return Scaling(-0.5, 0.0, 0.0, 0.0, optimizer)
    if key == "sym_default":  # dev table for GD (its hidden rate rho^-1/2 differs from the tuple rule's rho^0)
        gd = optimizer == "gd"
        return Scaling(-0.5, 0.5, -0.5, -0.5, optimizer) if gd else from_hat(-0.5, 0.5, optimizer=optimizer)
    q = {"mf": 1.0, "ntk": 0.5}.get(key, q)
    if optimizer == "gd":  # camera-ready table: weight rho^(1/2-q), lrs rho^(2q-1), rho^(2q-2), rho^(-1)
        return Scaling(-q, 2 * q - 1, 2 * q - 2, -1.0, optimizer)
    return Scaling(-q, q - 1, q - 2, -1.0, optimizer)  # RMSProp table: rho^(q-1), rho^(q-2), rho^(-1)


def stack(scalings: list[Scaling]) -> Scaling:
    """Stack scalings of the same optimiser into one with leading axis ``len(scalings)`` (for ``vmap``)."""
    if not scalings:
        raise ValueError("scalings must be a non-empty list")
    opts = {s.optimizer for s in scalings}
    if len(opts) != 1:
        raise ValueError(f"scalings must share one optimizer to be stacked, got {sorted(opts)}")
    return jax.tree.map(lambda *xs: jnp.asarray(np.array(xs, dtype=np.float32)), *scalings)


class HyperParams(NamedTuple):
    """Concrete hyperparameters of a width-``d`` member of a scaled family.

    Attributes:
      init_factor: multiplies the PyTorch-default init of hidden and output weights, ``rho**(q_sigma + 1/2)``.
      sigma: the resulting std of one output weight, ``rho**q_sigma / sqrt(3 d*)``.
      lr_w, lr_v, lr_a: learning rates of the input, hidden and output layers.
    """

    init_factor: jax.Array
    sigma: jax.Array
    lr_w: jax.Array
    lr_v: jax.Array
    lr_a: jax.Array


def _check_width(name: str, value: object) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def hyperparams(s: Scaling, width: int, *, ref_width: int = REF_WIDTH, ref_lr: float | None = None) -> HyperParams:
    """Init factor, output std and per-layer learning rates of the width-``width`` net of scaling ``s``.

    ``ref_lr`` defaults to the papers' reference rate for ``s.optimizer`` (0.02 for GD, 0.0002 for RMSProp).
    Exponents and ``ref_lr`` may be traced; ``width`` and ``ref_width`` are Python integers.
    """
    _check_width("width", width)
    _check_width("ref_width", ref_width)
    if ref_lr is None:
        ref_lr = REF_LR[s.optimizer]
    if isinstance(ref_lr, numbers.Real) and not (math.isfinite(float(ref_lr)) and ref_lr > 0):
        raise ValueError(f"ref_lr must be a finite number > 0, got {ref_lr!r}")
    rho = jnp.float32(width / ref_width)
    factor = rho ** (s.q_sigma + 0.5)
    sigma = rho**s.q_sigma / np.float32(math.sqrt(3 * ref_width))
    return HyperParams(factor, sigma, ref_lr * rho**s.q_w, ref_lr * rho**s.q_v, ref_lr * rho**s.q_a)
