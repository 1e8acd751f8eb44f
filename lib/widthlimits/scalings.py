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

What a scaling *does* (Golikov's three exponents, the stability band, the 13 limit models) is the subject of
:mod:`widthlimits.limit_models`; the dictionary to Yang & Hu's abc-parametrisations lives in
:mod:`widthlimits.abc_parametrizations`. The framework's names (``exponents``, ``classify``, ``LIMIT_MODELS``,
...) are still found here, for callers written before the split.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, numerics

OPTIMIZERS = ("gd", "rmsprop")
#: Reference learning rates :math:`\eta^*` of the papers (Figure 1 and Figure 2 captions).
REF_LR = {"gd": 0.02, "rmsprop": 0.0002}
#: Reference width :math:`d^* = 2^7`.
REF_WIDTH = 128
PRESETS = ("sp", "mf", "ntk", "intermediate", "sym_default")
_ALIASES = {"default": "sp", "standard": "sp", "mean_field": "mf", "default_sym": "sym_default"}


def _check_finite(name: str, value: object) -> None:
    """Check a concrete exponent; tracers and pytree placeholders pass through.

    ``jax.tree_util`` rebuilds a :class:`Scaling` through its constructor whenever it unflattens one, with
    whatever leaves the transformation carries: tracers, ``ShapeDtypeStruct``, ``object()`` sentinels, boolean
    masks, stacked arrays. So only what can be a *user's* number is checked: Python and NumPy scalars (and
    strings or booleans standing in for one, which are rejected) and concrete 0-d arrays (a ``jnp.array(nan)``
    is a number too); a concrete floating array of higher rank (a stacked scaling) must be finite.
    """
    if isinstance(value, str | bytes | bool | np.bool_ | numbers.Number):
        _validate.real(name, value)
    elif isinstance(value, np.ndarray | jax.Array) and not _validate.is_traced(value):
        kind = np.dtype(value.dtype).kind
        if value.ndim == 0 and kind in "iuf":
            _validate.real(name, value)
        elif kind == "f" and not np.all(np.isfinite(np.asarray(value))):
            raise ValueError(f"{name} must be finite real numbers, but the stacked array holds NaN or inf")


def _check_optimizer(optimizer: str) -> str:
    return _validate.choice("optimizer", optimizer, OPTIMIZERS)


def _check_scaling(name: str, s: object) -> Scaling:
    if not isinstance(s, Scaling):
        raise TypeError(f"{name} must be a Scaling (from preset, from_hat or from_raw), got {type(s).__name__}")
    return s


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


def from_raw(*, q_sigma: float, q_w: float, q_a: float, q_v: float | None = None, optimizer: str = "gd") -> Scaling:
    """A scaling from raw exponents, by name (the order of :class:`Scaling` is ``q_sigma, q_w, q_v, q_a``, the
    reference code's ``(q_sigma, q_a, q_w)``: keywords keep the two from being mixed up); ``q_v`` defaults to
    the GD/`dev` rule ``q_w + q_sigma``."""
    # Checked before the sum below, so that a bad q_w or q_sigma is reported by name, not as a failed addition.
    for name, value in (("q_sigma", q_sigma), ("q_a", q_a), ("q_w", q_w)):
        _validate.real(name, value)
    if q_v is not None:  # None: the default rule below
        _validate.real("q_v", q_v)
    _check_optimizer(optimizer)
    return Scaling(q_sigma, q_w, q_w + q_sigma if q_v is None else q_v, q_a, optimizer)


def from_hat(q_sigma: float, q_tilde: float, *, q_tilde_w: float | None = None, optimizer: str = "gd") -> Scaling:
    r"""A scaling from hat exponents :math:`(q_\sigma, \tilde q)` (``q_tilde_w`` for an asymmetric scaling).

    For GD this is the reference code's tuple mode (``dev`` branch): raw exponents
    :math:`q_w=\tilde q_w`, :math:`q_v=\tilde q_w+q_\sigma`, :math:`q_a=\tilde q+2q_\sigma`.
    For RMSProp: :math:`q_w=q_\sigma+\tilde q_w`, :math:`q_v=q_\sigma+\tilde q_w-1`,
    :math:`q_a=\tilde q+2q_\sigma` (derived; reproduces the code's RMSProp presets).
    """
    _check_optimizer(optimizer)
    _validate.real("q_sigma", q_sigma)
    _validate.real("q_tilde", q_tilde)
    if q_tilde_w is not None:  # None: symmetric, q_tilde_w = q_tilde
        _validate.real("q_tilde_w", q_tilde_w)
    qtw = q_tilde if q_tilde_w is None else q_tilde_w
    q_a = q_tilde + 2 * q_sigma
    if optimizer == "gd":
        return Scaling(q_sigma, qtw, qtw + q_sigma, q_a, optimizer)
    return Scaling(q_sigma, q_sigma + qtw, q_sigma + qtw - 1, q_a, optimizer)


def to_hat(s: Scaling) -> tuple[float, float, float]:
    r"""Hat coordinates :math:`(q_\sigma, \tilde q_a, \tilde q_w)` of a scaling (inverse of :func:`from_hat`)."""
    _check_scaling("s", s)
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
    if not isinstance(name, str):
        raise TypeError(f"name must be one of {PRESETS} (or an alias in {sorted(_ALIASES)}), got {name!r}")
    key = _ALIASES.get(name, name)
    if key not in PRESETS:
        raise ValueError(f"name must be one of {PRESETS} (or an alias in {sorted(_ALIASES)}), got {name!r}")
    _check_optimizer(optimizer)
    _validate.real("q", q)
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
    """Stack scalings of the same optimiser into one with leading axis ``len(scalings)`` (for ``vmap``).

    The scalings must be concrete (stack outside ``jit``; a traced batch is already stacked).
    """
    if isinstance(scalings, str | bytes) or not isinstance(scalings, list | tuple):
        raise TypeError(f"scalings must be a list of Scaling objects, got {type(scalings).__name__}")
    if not scalings:
        raise ValueError("scalings must be a non-empty list")
    for i, s in enumerate(scalings):
        _check_scaling(f"scalings[{i}]", s)
        if _validate.is_traced(s):
            raise TypeError(f"scalings[{i}] must have concrete exponents (stack outside jit), got tracers")
    opts = {s.optimizer for s in scalings}
    if len(opts) != 1:
        raise ValueError(f"scalings must share one optimizer to be stacked, got {sorted(opts)}")
    # The default float dtype (float64 in a float64 rerun), so an exponent such as 1/3 is not rounded to float32.
    return jax.tree.map(lambda *xs: jnp.asarray(np.array(xs, dtype=numerics.float_dtype())), *scalings)


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


def _check_positive(name: str, value: object) -> None:
    """A finite real > 0, or (for a stacked batch) a concrete array of them; tracers pass through."""
    if isinstance(value, np.ndarray | jax.Array) and value.ndim > 0 and not _validate.is_traced(value):
        v = np.asarray(value)
        if v.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be real numbers in (0, inf), got an array of dtype {v.dtype}")
        if not np.all(np.isfinite(v) & (v > 0)):
            raise ValueError(f"{name} must be finite real numbers in (0, inf), got {v}")
    else:
        _validate.real(name, value, low=0, open_low=True)


def sigma_star(ref_width: int = REF_WIDTH) -> float:
    r"""The output-weight std at the reference width, :math:`\sigma^* = 1/\sqrt{3 d^*}` (PyTorch's uniform init
    with fan-in :math:`d^*`): the unit of every hat weight :math:`\hat a = a/\sigma`, and, with
    :math:`c^* = \sigma^* d^*`, of the mean-field normalisation. The one home of this formula."""
    return 1 / math.sqrt(3 * _validate.width("ref_width", ref_width))


def hyperparams(s: Scaling, width: int, *, ref_width: int = REF_WIDTH, ref_lr: float | None = None) -> HyperParams:
    """Init factor, output std and per-layer learning rates of the width-``width`` net of scaling ``s``.

    ``ref_lr`` defaults to the papers' reference rate for ``s.optimizer`` (0.02 for GD, 0.0002 for RMSProp).
    Exponents and ``ref_lr`` may be traced; ``width`` and ``ref_width`` are Python integers in
    ``[1, _validate.MAX_WIDTH]`` (beyond it ``rho**q`` overflows float32 and the net could not be allocated).
    """
    _check_scaling("s", s)
    width = _validate.width("width", width)
    ref_width = _validate.width("ref_width", ref_width)
    if ref_lr is None:
        ref_lr = REF_LR[s.optimizer]
    _check_positive("ref_lr", ref_lr)
    # Constants in the default float dtype: float32 as before, float64 in a float64 rerun (numerics.x64), so that
    # an identity confirmed there is not limited by constants rounded to float32.
    rho = numerics.as_float(width / ref_width)
    factor = rho ** (s.q_sigma + 0.5)
    # rho**q_sigma * sigma_star, written as a division by sqrt(3 d*) to keep the float32 bits of every cached run
    sigma = rho**s.q_sigma / numerics.as_float(math.sqrt(3 * ref_width))
    return HyperParams(factor, sigma, ref_lr * rho**s.q_w, ref_lr * rho**s.q_v, ref_lr * rho**s.q_a)
