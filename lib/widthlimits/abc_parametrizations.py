r"""Yang & Hu's abc-parametrisations of a one-hidden-layer net, and the dictionary to the q-exponents.

An abc-parametrisation writes layer :math:`l` as :math:`W^l = n^{-a_l} w^l` with trained weights of std
:math:`n^{-b_l}` and an SGD learning rate :math:`\eta\,n^{-c}`; a GD :class:`~widthlimits.scalings.Scaling`
with a width-independent input-layer init is the same object in other coordinates (:func:`to_abc`,
:func:`from_abc`). :func:`tp4_stable` and :func:`tp4_nontrivial` are Yang & Hu's (2021) stability and
non-triviality conditions, so the two classifications can be compared point by point.
"""

from __future__ import annotations

from typing import NamedTuple

from widthlimits import _validate
from widthlimits.scalings import Scaling, _check_scaling, from_raw


class ABC(NamedTuple):
    r"""An abc-parametrisation of a one-hidden-layer net (Yang & Hu, 2021), width :math:`n = d`.

    Layer :math:`l` (1 input, 2 output) is :math:`W^l = n^{-a_l} w^l` with trained :math:`w^l_{ij}` of std
    :math:`n^{-b_l}`, and SGD's learning rate is :math:`\eta\, n^{-c}`. ``a = (a_1, a_2)``, ``b = (b_1, b_2)``.
    """

    a: tuple[float, float]
    b: tuple[float, float]
    c: float


#: Yang & Hu's named parametrisations for one hidden layer (their Table 1); "SP" is SP with an O(1) lr.
ABC_PRESETS = {
    "SP": ABC((0.0, 0.0), (0.0, 0.5), 0.0),
    "SP (lr 1/n)": ABC((0.0, 0.0), (0.0, 0.5), 1.0),
    "NTP": ABC((0.0, 0.5), (0.0, 0.0), 0.0),
    "MFP": ABC((0.0, 1.0), (0.0, 0.0), -1.0),
    "muP": ABC((-0.5, 0.5), (0.5, 0.5), 0.0),
}


def to_abc(s: Scaling, *, theta: float = 0.0) -> ABC:
    r"""The abc-parametrisation of a GD scaling: :math:`q_\sigma = -(a_2+b_2)`, :math:`q_a = -(c+2a_2)`,
    :math:`q_w = -(c+2a_1)`, :math:`a_1+b_1 = 0`.

    abc-parametrisations are defined up to :math:`(a_l, b_l, c) \to (a_l+\theta, b_l-\theta, c-2\theta)`, which
    leaves SGD unchanged; ``theta = 0`` is the representative with :math:`a_1 = 0`.
    """
    _check_scaling("s", s)
    if s.optimizer != "gd":
        raise ValueError(f"optimizer must be 'gd' for the abc mapping (SGD learning rates), got {s.optimizer!r}")
    _validate.real("theta", theta)
    c = -s.q_w - 2 * theta
    a_2 = (-s.q_a - c) / 2
    return ABC((theta, a_2), (-theta, -s.q_sigma - a_2), c)


def _check_abc(p: object) -> ABC:
    """``p`` as an :class:`ABC` of finite reals; a plain ``((a_1, a_2), (b_1, b_2), c)`` tuple is accepted."""
    try:
        (a_1, a_2), (b_1, b_2), c = p  # type: ignore[misc]
    except (TypeError, ValueError):
        raise TypeError(f"p must be an ABC((a_1, a_2), (b_1, b_2), c) of real numbers, got {p!r}") from None
    for name, value in (("p.a[0]", a_1), ("p.a[1]", a_2), ("p.b[0]", b_1), ("p.b[1]", b_2), ("p.c", c)):
        _validate.real(name, value)
    return ABC((a_1, a_2), (b_1, b_2), c)


def from_abc(p: ABC) -> Scaling:
    """The GD scaling of an abc-parametrisation whose input layer has a width-independent init (``a_1 + b_1 = 0``)."""
    (a_1, a_2), (b_1, b_2), c = _check_abc(p)
    if abs(a_1 + b_1) > 1e-12:
        raise ValueError(f"p must have a_1 + b_1 = 0 (input init independent of width), got {a_1 + b_1!r}")
    return from_raw(q_sigma=-(a_2 + b_2), q_a=-(c + 2 * a_2), q_w=-(c + 2 * a_1))


def tp4_r(p: ABC) -> float:
    r"""Yang & Hu's :math:`r = \min(a_2+b_2,\, 2a_2+c) + c - 1 + (2a_1 + 1)` for one hidden layer."""
    (a_1, a_2), (_, b_2), c = _check_abc(p)
    return min(a_2 + b_2, 2 * a_2 + c) + c + 2 * a_1


def tp4_stable(p: ABC, *, atol: float = 1e-9) -> bool:
    """Yang & Hu's stability conditions for one hidden layer (their Theorem 3.3)."""
    (a_1, a_2), (b_1, b_2), c = _check_abc(p)
    _validate.real("atol", atol, low=0, high=0.01, open_high=True)
    r = tp4_r(p)
    conditions = (abs(a_1 + b_1), 0.5 - (a_2 + b_2), -r, 1 - (2 * a_2 + c), 1 - (a_2 + b_2 + r))
    return all(v <= atol for v in conditions)


def tp4_nontrivial(p: ABC, *, atol: float = 1e-9) -> bool:
    """Non-trivial in Yang & Hu's sense: ``a_2 + b_2 + r = 1`` or ``2 a_2 + c = 1``."""
    (_, a_2), (_, b_2), c = _check_abc(p)
    _validate.real("atol", atol, low=0, high=0.01, open_high=True)
    return abs(a_2 + b_2 + tp4_r(p) - 1) <= atol or abs(2 * a_2 + c - 1) <= atol


def same(p: ABC, q: ABC, *, atol: float = 1e-9) -> bool:
    """Whether two abc-parametrisations have the same exponents (entry by entry, to ``atol``)."""
    (pa, pb, pc), (qa, qb, qc) = _check_abc(p), _check_abc(q)
    _validate.real("atol", atol, low=0, high=0.01, open_high=True)
    return all(abs(x - y) <= atol for x, y in zip((*pa, *pb, pc), (*qa, *qb, qc), strict=True))
