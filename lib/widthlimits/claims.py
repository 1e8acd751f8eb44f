"""State a numerical claim, check it, and fail loudly if it does not hold.

Every number the book's prose asserts goes through one of these helpers, so a chapter cannot say something
its computation does not support: a failed claim raises :class:`ClaimError` and stops the notebook (and CI).
Each check displays one line in the notebook where it is made (so the helpers return nothing), and
:func:`summary` tabulates a chapter's claims.

    claims.close("logit exponent, MF", measured=-0.49, expected=-0.5, tol=0.05)
    claims.less("MF closer to the reference than NTK", d_mf, d_ntk)
"""

from __future__ import annotations

import dataclasses
import html
import math

_REGISTRY: list[Claim] = []


class ClaimError(AssertionError):
    """A claim stated in the book failed its check."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """A checked statement: what was measured, what was expected, and whether it held."""

    name: str
    measured: float
    expected: str
    passed: bool
    note: str = ""

    def __str__(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        got = "" if math.isnan(self.measured) else f"measured {self.measured:.4g}, "
        text = f"[{mark}] {self.name}: {got}expected {self.expected}"
        return text + (f" ({self.note})" if self.note else "")

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        mark = "&#10003;" if self.passed else "&#10007;"
        body = html.escape(str(self).split("] ", 1)[1])
        return f'<p style="margin:0.2em 0"><span style="color:{colour};font-weight:bold">{mark} claim</span> {body}</p>'


def _record(claim: Claim) -> None:
    _REGISTRY.append(claim)
    try:  # show the check where it is made, when running in a notebook
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            display(claim)
    except ImportError:
        pass
    if not claim.passed:
        raise ClaimError(str(claim))


def _number(name: str, value: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None


def close(name: str, measured: float, expected: float, tol: float, *, relative: bool = False, note: str = "") -> None:
    """Claim ``|measured - expected| <= tol`` (or ``<= tol * |expected|`` if ``relative``).

    A non-finite ``measured`` (e.g. from a diverged run) always fails.
    """
    m, e, t = _number("measured", measured), _number("expected", expected), _number("tol", tol)
    if not (math.isfinite(t) and t >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    bound = t * abs(e) if relative else t
    passed = math.isfinite(m) and abs(m - e) <= bound
    spec = f"{e:.4g} ± {100 * t:.3g}%" if relative else f"{e:.4g} ± {t:.3g}"
    return _record(Claim(name, m, spec, passed, note))


def less(name: str, smaller: float, larger: float, *, margin: float = 0.0, note: str = "") -> None:
    """Claim ``smaller + margin < larger``; fails if either side is not finite."""
    s, big = _number("smaller", smaller), _number("larger", larger)
    passed = math.isfinite(s) and math.isfinite(big) and s + margin < big
    return _record(Claim(name, s, f"< {big:.4g}" + (f" - {margin:.3g}" if margin else ""), passed, note))


def within(name: str, measured: float, low: float, high: float, *, note: str = "") -> None:
    """Claim ``low <= measured <= high``; fails if ``measured`` is not finite."""
    m = _number("measured", measured)
    passed = math.isfinite(m) and low <= m <= high
    return _record(Claim(name, m, f"in [{low:.4g}, {high:.4g}]", passed, note))


def holds(name: str, condition: bool, *, measured: float = float("nan"), note: str = "") -> None:
    """Claim a boolean condition (for exact statements such as 'identical at the reference width')."""
    return _record(Claim(name, _number("measured", measured), "true", bool(condition), note))


def _cell(text: str) -> str:
    """Escape the Markdown table separator inside a cell."""
    return text.replace("|", "\\|")


def summary() -> str:
    """A Markdown table of every claim checked so far in this process (to end a chapter)."""
    rows = ["| claim | measured | expected | |", "|---|---|---|---|"]
    for c in _REGISTRY:
        got = "" if math.isnan(c.measured) else f"{c.measured:.4g}"
        rows.append(f"| {_cell(c.name)} | {got} | {_cell(c.expected)} | {'✓' if c.passed else '✗'} |")
    return "\n".join(rows)


def checked() -> list[Claim]:
    """The claims checked so far in this process, in order."""
    return list(_REGISTRY)


def reset() -> None:
    """Forget the claims checked so far."""
    _REGISTRY.clear()
