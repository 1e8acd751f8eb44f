"""Tables of the framework chapter: exponents as fractions, the 13 cells, measured against derived slopes.

Every table is Markdown from :func:`widthlimits.reporting.table` (show it with :func:`~widthlimits.reporting.show`);
exponents are printed as fractions (:func:`frac`), measured slopes with the derived value in brackets
(:func:`vs`). The numbers come from :mod:`~widthlimits.limit_models` (derived) and
:mod:`~widthlimits.width_exponents` (measured); this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from widthlimits import _validate, abc_parametrizations, limit_models, measure, reporting, scalings, width_exponents


def frac(x: float) -> str:
    """A dyadic exponent as a fraction with a typographic minus: ``-0.75 -> '−3/4'`` (denominators up to 64)."""
    return str(Fraction(_validate.real("x", float(x))).limit_denominator(64)).replace("-", "−")


def ok(flag: bool) -> str:
    """``✓`` or ``✗``."""
    return "✓" if flag else "✗"


def vs(fit: measure.PowerLaw, derived: float) -> str:
    """A measured slope with its derived value in brackets: ``'+0.49 (1/2)'``."""
    if not isinstance(fit, measure.PowerLaw):
        raise TypeError(f"fit must be a measure.PowerLaw, got {type(fit).__name__}")
    return f"{fit.slope:+.2f} ({frac(derived)})"


def _scalings(named: object) -> Mapping[str, scalings.Scaling]:
    if not isinstance(named, Mapping) or not named:
        raise TypeError("named must be a non-empty mapping of names to Scaling objects")
    for name, s in named.items():
        scalings._check_scaling(f"named[{name!r}]", s)
    return named


def hat_table(named: Mapping[str, scalings.Scaling]) -> str:
    """Hat and raw exponents of named scalings: :math:`q_\\sigma, \\tilde q_a, \\tilde q_w, q_a, q_w`."""
    rows = [[n, *map(frac, scalings.to_hat(s)), frac(s.q_a), frac(s.q_w)] for n, s in _scalings(named).items()]
    return reporting.table(["scaling", "$q_\\sigma$", "$\\tilde q_a$", "$\\tilde q_w$", "raw $q_a$", "raw $q_w$"], rows)


def cells_table() -> str:
    """The 13 :data:`~widthlimits.limit_models.LIMIT_MODELS`: examples, exponents of the first, properties."""
    rows = []
    for m in limit_models.LIMIT_MODELS:
        c = limit_models.classify(scalings.from_hat(*m.examples[0]))
        e = c.exponents
        examples = ", ".join(f"({frac(a)}, {frac(b)})" for a, b in m.examples)
        props = " ".join(ok(p) for p in c.properties)
        rows.append([m.number, m.name, examples, frac(e.q_0), frac(e.q_K), frac(e.q_h), props, m.summary])
    header = ["#", "limit model", "examples $(q_\\sigma,\\tilde q)$", "$q_0$", "$q_K$", "$q_h$", "P1 P2 P3"]
    return reporting.table([*header, "limit dynamics"], rows)


def regime_table(named: Mapping[str, scalings.Scaling]) -> str:
    """Exponents, regime and limit model of named scalings."""
    rows = []
    for name, s in _scalings(named).items():
        c = limit_models.classify(s)
        e = c.exponents
        model = c.model.name if c.model else "none (off the symmetric plane)"
        rows.append([name, frac(e.q_0), frac(e.q_K), f"{frac(e.q_h_w)}, {frac(e.q_h_a)}", c.regime, model])
    header = ["scaling", "$q_0$", "$q_K$", "$q_h$ (input, output layer)", "regime", "limit model"]
    return reporting.table(header, rows)


def exponent_table(
    families: Mapping[str, scalings.Scaling],
    measured: Mapping[str, Mapping[str, measure.PowerLaw]],
    points: Mapping[str, Any],
    *,
    pre_asymptotic: Sequence[str] = (),
) -> str:
    """Measured first-step slopes of every family against :func:`~widthlimits.width_exponents.predicted`; a family
    not in ``points`` is labelled as the off-plane SP point, those in ``pre_asymptotic`` are flagged."""
    rows = []
    for name, s in _scalings(families).items():
        m, d = measured[name], width_exponents.predicted(s)
        flag = " (pre-asymptotic)" if name in pre_asymptotic else ""
        pt = points.get(name, "off-plane: $\\tilde q_a=1$, $\\tilde q_w=0$")
        cell = {k: vs(m[k], d[k]) for k in ("q_0", "q_K_w", "q_K_a", "q_h_w", "q_h_a", "ratio")}
        k_cell, h_cell = f"{cell['q_K_w']}, {cell['q_K_a']}", f"{cell['q_h_w']}, {cell['q_h_a']}{flag}"
        rows.append([name, str(pt), cell["q_0"], k_cell, h_cell, cell["ratio"], limit_models.classify(s).regime])
    header = ["point", "$(q_\\sigma, \\tilde q)$", "$q_0$", "$q_K$ (w, a)", "$q_h$ (w, a)", "learned/initial"]
    return "measured slope (derived value in brackets):\n\n" + reporting.table([*header, "regime"], rows)


def rmsprop_table(
    families: Mapping[str, scalings.Scaling],
    measured: Mapping[str, Mapping[str, measure.PowerLaw]],
    asserted: Mapping[str, Sequence[str]],
) -> str:
    """RMSProp points: first-step change and hat moves, measured (derived); keys not in ``asserted[name]`` get †."""
    rows = []
    for name, s in _scalings(families).items():
        c, d = limit_models.classify(s), width_exponents.predicted(s)
        q_sigma, q_tilde, _ = scalings.to_hat(s)
        fits = [vs(measured[name][k], d[k]) + ("" if k in asserted[name] else " †") for k in ("q_K", "q_h_w", "q_h_a")]
        rows.append([f"({frac(q_sigma)}, {frac(q_tilde)})", f"{c.model.number} {c.model.name}", *fits])
    header = ["RMSProp point", "cell", "$q_K$ (first-step change)", "$q_h$ input", "$q_h$ output"]
    note = "\n\n† not asserted: $q_0 < 0$, loss derivatives still settling at these widths"
    return reporting.table(header, rows) + note


def abc_table(named: Mapping[str, scalings.Scaling], *, as_mup: Sequence[str] = ("MF",)) -> str:
    """Yang & Hu's abc-parametrisation of named scalings (those in ``as_mup`` with the representative θ = −1/2)
    next to Golikov's regime and cell: :math:`a, b, c, r`, stability and non-triviality."""
    A = abc_parametrizations
    rows = []
    for name, s in _scalings(named).items():
        p = A.to_abc(s, theta=-0.5 if name in as_mup else 0.0)
        c = limit_models.classify(s)
        label = f"{name}{' (as μP)' if name in as_mup else ''}"
        a, b = f"({frac(p.a[0])}, {frac(p.a[1])})", f"({frac(p.b[0])}, {frac(p.b[1])})"
        flags = [ok(A.tp4_stable(p)), ok(A.tp4_nontrivial(p)), c.regime, c.model.name if c.model else "—"]
        rows.append([label, a, b, frac(p.c), frac(A.tp4_r(p)), *flags])
    header = ["scaling", "$(a_1, a_2)$", "$(b_1, b_2)$", "$c$", "$r$", "stable (Yang–Hu)", "non-trivial"]
    return reporting.table([*header, "regime (Golikov)", "cell"], rows)


_SIZE = {-1: "vanish", 0: "O(1)", 1: "diverge"}


def property_groups() -> dict[tuple[bool, bool, bool], list[limit_models.LimitModel]]:
    """The 13 cells grouped by their properties (P1, P2, P3), read off each cell's signature."""
    groups: dict[tuple[bool, bool, bool], list[limit_models.LimitModel]] = {}
    for m in limit_models.LIMIT_MODELS:
        s_0, s_k, edge = m.signature
        groups.setdefault((s_0 == 0, s_k == 0, edge == "top"), []).append(m)
    return groups


def signature_table() -> str:
    """From the signature back to P1-P3: one row per cell, grouped by (P1, P2, P3), with the coordinates that
    tell apart the cells of one group (the side on which a property fails: sign of ``q_0``, of ``q_K``, edge)."""
    rows = []
    for props, models in sorted(property_groups().items(), reverse=True):
        for m in models:
            s_0, s_k, edge = m.signature
            extra = [f"logits {_SIZE[s_0]}"] * (not props[0]) + [f"kernel {_SIZE[s_k]}s"] * (not props[1])
            extra += [f"edge: {edge}"] * (not props[2])
            rows.append([" ".join(map(ok, props)), len(models), f"{m.number} {m.name}", "; ".join(extra) or "—"])
    header = ["P1 P2 P3", "cells with these", "cell", "extra coordinate (where a property fails, how)"]
    count = f"{len(rows)} cells, {len(property_groups())} distinct combinations of (P1, P2, P3).\n\n"
    return count + reporting.table(header, rows)


def cell_limit_table(checks: Mapping[str, Any], points: Mapping[str, tuple[float, float]]) -> str:
    """Finite nets of demonstrated cells against simulated limits (:func:`widthlimits.cell_limits.check_cells`):
    the distance's width exponent with the derived range, and the distances to the own and neighbour limits."""
    rows = []
    for name, c in checks.items():
        a, b = points[name]
        rows.append([
            name, f"({frac(a)}, {frac(b)})", c.cell, reporting.pm(c.own.exponent, c.own.exponent_se),
            f"[{frac(c.low)}, {frac(c.high)}]", reporting.pm(c.own.widest, c.own.widest_se),
            f"{c.neighbour}: " + reporting.pm(c.other.widest, c.other.widest_se),
            reporting.pm(c.other.exponent, c.other.exponent_se),
        ])
    header = ["point", "$(q_\\sigma,\\tilde q)$", "cell", "exponent of distance to own limit", "derived range",
              "distance at widest $d$", "to neighbour's limit (cell: distance)", "its exponent"]
    return reporting.table(header, rows)
