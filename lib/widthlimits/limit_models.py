r"""Golikov's (2020) framework for one hidden layer: three width exponents, the stability band, 13 limit models.

Power counting in hat variables (:mod:`widthlimits.scalings`) gives three exponents of a scaling
(:func:`exponents`, the home of their formulas): the logits at init grow like :math:`d^{\,q_0}`,
:math:`q_0 = q_\sigma + \tfrac12`; the learning-rate-weighted kernel at init, and with it the first-step logit
change, like :math:`d^{\,q_K}`, :math:`q_K = 1 + 2q_\sigma + \tilde q`; one step moves a neuron's hat weights by
:math:`d^{\,q_h}`, :math:`q_h = q_\sigma + \tilde q`. A scaling is stable in the band
:math:`-\tfrac12 \le q_h \le 0` (above it the hat weights diverge, below it training stagnates), and inside the
band the signature :math:`(\operatorname{sign} q_0, \operatorname{sign} q_K, \text{edge})` picks one of the 13
:data:`LIMIT_MODELS` (:func:`classify`). The dictionary to Yang & Hu's abc-parametrisations lives in
:mod:`widthlimits.abc_parametrizations`.

These names used to live in :mod:`widthlimits.scalings`.
The classification decides no number of a training run, so the sweep cache does not fingerprint this module.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate
from widthlimits.scalings import Scaling, _check_scaling, from_hat, to_hat

REGIMES = ("stable", "diverges", "stagnates")
EDGES = ("top", "inside", "bottom")  # q_h = 0, -1/2 < q_h < 0, q_h = -1/2


class Exponents(NamedTuple):
    r"""Width exponents of a one-hidden-layer scaling, from power counting in hat variables.

    With per-layer hat exponents :math:`\tilde q_l` (``l = w`` input, ``a`` output):

    * ``q_0`` :math:`= q_\sigma + \tfrac12`: logits at init (CLT over :math:`d` incoherent terms);
    * ``q_K_l`` :math:`= 1 + 2q_\sigma + \tilde q_l`: layer ``l``'s share of the learning-rate-weighted
      kernel at init (:math:`d` coherent terms), i.e. of the first-step logit change;
    * ``q_h_l`` :math:`= q_\sigma + \tilde q_l`: one step's move of a neuron's hat weights in layer ``l``;
    * ``q_K``, ``q_h``: the larger of the two layers'. Always ``q_K = q_h + q_0 + 1/2``.

    The same formulas hold for RMSProp in the hat coordinates of :func:`to_hat` (derived in the book's
    chapter on the framework), with ``q_K`` read as the exponent of the first-step logit change.
    """

    q_0: float
    q_K: float
    q_h: float
    q_K_w: float
    q_K_a: float
    q_h_w: float
    q_h_a: float


def exponents(s: Scaling) -> Exponents:
    """The :class:`Exponents` of a scaling; works on concrete, stacked (numpy) or traced (jax) leaves."""
    _check_scaling("s", s)
    q_sigma, q_tilde_a, q_tilde_w = to_hat(s)
    vmax = jnp.maximum if any(isinstance(v, jax.Array) for v in (q_tilde_a, q_tilde_w)) else np.maximum
    q_k_w, q_k_a = 1 + 2 * q_sigma + q_tilde_w, 1 + 2 * q_sigma + q_tilde_a
    q_h_w, q_h_a = q_sigma + q_tilde_w, q_sigma + q_tilde_a
    return Exponents(q_sigma + 0.5, vmax(q_k_w, q_k_a), vmax(q_h_w, q_h_a), q_k_w, q_k_a, q_h_w, q_h_a)


class LimitModel(NamedTuple):
    """One of the finitely many limit models of the band: a cell of the symmetric ``(q_sigma, q_tilde)`` plane.

    Attributes:
      number: 1..13, in the order of the reference code's test list.
      name: short name (the papers' and the code's where they have one).
      examples: ``(q_sigma, q_tilde)`` points of the cell used by the reference code (the first is the main one).
      signature: ``(sign q_0, sign q_K, edge)`` with ``edge`` in ``EDGES``; it identifies the cell.
      summary: what the limit dynamics look like.
    """

    number: int
    name: str
    examples: tuple[tuple[float, float], ...]
    signature: tuple[int, int, str]
    summary: str


LIMIT_MODELS = tuple(
    LimitModel(*row)
    for row in (
        (1, "MF", ((-1.0, 1.0),), (-1, 0, "top"), "zero start; O(1) kernel that evolves (mean-field dynamics)"),
        (2, "NTK", ((-0.5, 0.0),), (0, 0, "bottom"), "GP start; O(1) frozen kernel (kernel GD)"),
        (3, "sym-default", ((-0.5, 0.5),), (0, 1, "top"), "GP start; feature motion with a hard-margin loss"),
        (4, "intermediate", ((-0.75, 0.5),), (-1, 0, "inside"), "zero start; O(1) frozen kernel (kernel GD from 0)"),
        (5, "NTK/sym-default edge", ((-0.5, 0.25),), (0, 1, "inside"), "GP start; frozen kernel, hard margin"),
        (6, "sym-default/MF edge", ((-0.75, 0.75),), (-1, 1, "top"), "zero start; feature motion, hard margin"),
        (7, "post-MF", ((-1.5, 1.5), (-10.0, 10.0)), (-1, -1, "top"), "zero start; feature motion, linear loss"),
        (8, "pre-sym-default", ((0.0, 0.0), (10.0, -10.0)), (1, 1, "top"), "sign of the GP start; feature motion"),
        (9, "post-NTK", ((-1.0, 0.5), (-10.0, 9.5)), (-1, -1, "bottom"), "GP start; frozen kernel, linear loss"),
        (10, "pre-NTK", ((0.0, -0.5), (10.0, -10.5)), (1, 1, "bottom"), "GP start; frozen kernel, hard margin"),
        (11, "MF/NTK/sym-default triangle", ((-0.66, 0.5),), (-1, 1, "inside"), "zero start; frozen, hard margin"),
        (12, "post-MF/NTK", ((-1.0, 0.75), (-10.0, 9.75)), (-1, -1, "inside"), "zero start; frozen, linear loss"),
        (13, "pre-NTK/sym-default", ((0.0, -0.25), (10.0, -10.25)), (1, 1, "inside"), "GP start; frozen, hard margin"),
    )
)


class Properties(NamedTuple):
    """Properties of a finite net that a limit keeps: P1 O(1) random logits at init (``q_0 = 0``), P2 an O(1)
    kernel at init (``q_K = 0``), P3 a kernel that moves by O(1) relative to itself (``q_h = 0``)."""

    p1: bool
    p2: bool
    p3: bool


class Classification(NamedTuple):
    """Where a scaling sits in the framework.

    Attributes:
      exponents: its :class:`Exponents`.
      regime: ``"diverges"`` (``q_h > 0``: hat weights blow up), ``"stagnates"`` (``q_h < -1/2``: the learned
        logit is negligible next to the initial one) or ``"stable"`` (the band ``-1/2 <= q_h <= 0``).
      symmetric: whether ``q_tilde_a == q_tilde_w`` (the plane in which the 13 limit models are derived).
      model: the :class:`LimitModel` of a stable symmetric scaling, else ``None``.
      properties: its :class:`Properties` (``None`` where ``model`` is).
    """

    exponents: Exponents
    regime: str
    symmetric: bool
    model: LimitModel | None
    properties: Properties | None


def _sign(x: float, atol: float) -> int:
    return 0 if abs(x) <= atol else (1 if x > 0 else -1)


def classify(s: Scaling, *, atol: float = 1e-9) -> Classification:
    """Regime, limit model and properties of one scaling with concrete exponents; ``atol`` decides equalities."""
    _check_scaling("s", s)
    _validate.real("atol", atol, low=0, high=0.01, open_high=True)
    try:
        e = Exponents(*(float(v) for v in exponents(s)))
    except TypeError:
        raise ValueError("s must be one concrete scaling (index a stacked one; tracers cannot be classified)") from None
    regime = "diverges" if e.q_h > atol else "stagnates" if e.q_h < -0.5 - atol else "stable"
    symmetric = abs(e.q_h_w - e.q_h_a) <= atol
    if regime != "stable" or not symmetric:
        return Classification(e, regime, symmetric, None, None)
    edge = "top" if e.q_h >= -atol else "bottom" if e.q_h <= -0.5 + atol else "inside"
    s_0 = _sign(e.q_0, atol)
    # In the band q_K = q_0 + (q_h + 1/2): its sign is forced except for q_0 < 0 off the bottom edge. Using the
    # forced value keeps the signature consistent when atol blurs near-equalities.
    s_k = _sign(e.q_K, atol) if s_0 < 0 and edge != "bottom" else s_0 if edge == "bottom" else 1
    signature = (s_0, s_k, edge)
    model = next(m for m in LIMIT_MODELS if m.signature == signature)  # the 13 signatures are exhaustive
    return Classification(e, regime, symmetric, model, Properties(*(x == 0 for x in signature[:2]), edge == "top"))


#: The reference code's two examples outside the band, as ``(q_sigma, q_tilde)``: ``q_h = 2`` and ``q_h = -2``.
FAILURE_POINTS = {"diverges": (1.0, 1.0), "stagnates": (-1.0, -1.0)}


def example_points() -> dict[str, tuple[float, float]]:
    """Every example point of :data:`LIMIT_MODELS` by name: ``"1"``, ..., ``"7 far"`` for a cell's second example."""
    return {f"{m.number}{' far' if k else ''}": p for m in LIMIT_MODELS for k, p in enumerate(m.examples)}


def plane_exponents(q_sigma: np.ndarray, q_tilde: np.ndarray, *, optimizer: str = "gd") -> Exponents:
    r"""The :class:`Exponents` of the symmetric scalings :func:`~widthlimits.scalings.from_hat` at arrays of points
    of the :math:`(q_\sigma, \tilde q)` plane (any broadcastable shapes), for maps of the phase diagram.

    ``from_hat`` is affine in its two arguments, so its raw exponents on arrays are the affine combination of three
    evaluations (exact on dyadic grids); no Python loop over points.
    """
    qs = np.asarray(_validate.array("q_sigma", q_sigma, kinds="fiu"), dtype=float)
    qt = np.asarray(_validate.array("q_tilde", q_tilde, kinds="fiu"), dtype=float)
    try:
        qs, qt = np.broadcast_arrays(qs, qt)
    except ValueError:
        raise ValueError(f"q_sigma and q_tilde must broadcast together, got shapes {qs.shape} and {qt.shape}") from None
    base, d_sigma, d_tilde = (from_hat(a, b, optimizer=optimizer) for a, b in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)))
    raw = {}
    for f in ("q_sigma", "q_w", "q_v", "q_a"):
        b = getattr(base, f)
        raw[f] = b + qs * (getattr(d_sigma, f) - b) + qt * (getattr(d_tilde, f) - b)
    return exponents(Scaling(**raw, optimizer=optimizer))
