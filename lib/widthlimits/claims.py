"""State a numerical claim, check it, and fail loudly if it does not hold.

Every number the book's prose asserts goes through one of these helpers, so a chapter cannot say something
its computation does not support: a failed claim raises :class:`ClaimError` and stops the notebook (and CI).
Each check displays one line in the notebook where it is made (so the helpers return nothing), and
:func:`summary` tabulates a chapter's claims.

    claims.close("logit exponent, MF", measured=-0.49, expected=-0.5, tol=0.05)
    claims.less("MF closer to the reference than NTK", d_mf, d_ntk, rules_out="NTK as good or better")
    claims.close("file: families identical at d = 128", gap, 0, 1e-6, kind="consistency")

Two kinds of claim are kept apart. *Evidence* could have come out otherwise had the science been different
(a fitted exponent, an ordering of measured distances); ``rules_out`` may say which alternative it excludes.
A *consistency* check holds by construction unless the code is wrong (a scaling is the identity at the
reference width; a classifier labels the grid it was built from): it guards the computation but supports
nothing. :func:`summary` tabulates the two separately, and with ``chapter=`` it also saves the chapter's
claims as a record for the book's claims ledger (:mod:`widthlimits.ledger`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import math
import numbers
import os
import time
from pathlib import Path
from typing import Literal

import numpy as np

from widthlimits import _validate, profiles

_REGISTRY: list[Claim] = []

#: Outcomes of a claim. ``skip`` is a claim that could not be tested under this run (its reason says why):
#: it is listed in :func:`summary` and never counts as support.
STATUSES = ("pass", "fail", "skip")

#: What a claim can support: ``evidence`` could have failed had the science been otherwise; ``consistency``
#: holds by construction unless the code is wrong.
Kind = Literal["evidence", "consistency"]
KINDS: tuple[str, ...] = ("evidence", "consistency")

#: Where :func:`summary` saves chapter records when it is given ``chapter=`` (set by the book build; unset,
#: nothing is written, e.g. in Colab).
RECORDS_ENV = "WIDTHLIMITS_CLAIMS_DIR"


class ClaimError(AssertionError):
    """A claim stated in the book failed its check."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """A checked statement: what was measured, what was expected, and whether it held.

    ``status`` is ``"pass"``, ``"fail"`` or ``"skip"``; ``passed`` is true only for ``"pass"``. ``kind`` is
    ``"evidence"`` or ``"consistency"``; ``rules_out`` names the alternative an evidence claim excludes.
    """

    name: str
    measured: float
    expected: str
    passed: bool
    note: str = ""
    status: str = ""
    kind: str = "evidence"
    rules_out: str = ""

    def __post_init__(self):
        if not self.status:  # derived for callers that build a Claim from ``passed`` alone
            object.__setattr__(self, "status", "pass" if self.passed else "fail")
        _validate.choice("status", self.status, STATUSES)
        _validate.choice("kind", self.kind, KINDS)
        if self.rules_out and self.kind == "consistency":
            raise ValueError("rules_out is for evidence: a consistency check rules out nothing but a bug")

    def __str__(self) -> str:
        mark = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[self.status]
        got = "" if math.isnan(self.measured) else f"measured {self.measured:.4g}, "
        text = f"[{mark}] {self.name}: {got}expected {self.expected}"
        text += f" (rules out: {self.rules_out})" if self.rules_out else ""
        return text + (f" ({self.note})" if self.note else "")

    def _repr_html_(self) -> str:
        colour, mark, word = {
            "pass": ("#1a7f37", "&#10003;", "claim"),
            "fail": ("#cf222e", "&#10007;", "claim"),
            "skip": ("#9a6700", "&#8856;", "not tested"),
        }[self.status]
        if self.kind == "consistency" and self.status != "skip":
            word = "consistency check"
        body = html.escape(str(self).split("] ", 1)[1])
        badge = f'<span style="color:{colour};font-weight:bold">{mark} {word}</span>'
        return f'<p style="margin:0.2em 0">{badge} {body}</p>'


def _record(claim: Claim) -> None:
    _REGISTRY.append(claim)
    try:  # show the check where it is made, when running in a notebook
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            display(claim)
    except ImportError:
        pass
    if claim.status == "fail":
        raise ClaimError(str(claim))


def _name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    return name


def _number(name: str, value: object) -> float:
    """A measured value as a float; NaN and inf are allowed (they fail the claim), other types are errors."""
    if isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0:
        value = value.item()
    elif hasattr(value, "shape") and hasattr(value, "dtype") and tuple(value.shape) == ():
        value = value.item()  # a concrete 0-d JAX array
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number (a measured value), got {value!r}")
    return float(value)


def _note(note: object, param: str = "note") -> str:
    if not isinstance(note, str):
        raise TypeError(f"{param} must be a string, got {note!r}")
    return note


def _labels(kind: object, rules_out: object) -> dict:
    """The ``kind`` and ``rules_out`` fields of a claim, checked before anything is recorded."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return {"kind": kind, "rules_out": _note(rules_out, "rules_out")}


def close(
    name: str, measured: float, expected: float, tol: float, *, relative: bool = False, note: str = "",
    kind: Kind = "evidence", rules_out: str = "",
) -> None:
    """Claim ``|measured - expected| <= tol`` (or ``<= tol * |expected|`` if ``relative``).

    A non-finite ``measured`` (e.g. from a diverged run) always fails; ``expected`` and ``tol`` must be finite
    (``tol >= 0``), since an infinite tolerance would make the claim unfalsifiable.
    """
    name, note, labels = _name(name), _note(note), _labels(kind, rules_out)
    m = _number("measured", measured)
    e = _validate.real("expected", expected)
    t = _validate.real("tol", tol, low=0.0)
    relative = _validate.boolean("relative", relative)
    if relative and e == 0:
        raise ValueError("expected must be non-zero for a relative tolerance (use an absolute tol around 0)")
    bound = t * abs(e) if relative else t
    passed = math.isfinite(m) and abs(m - e) <= bound
    spec = f"{e:.4g} ± {100 * t:.3g}%" if relative else f"{e:.4g} ± {t:.3g}"
    return _record(Claim(name, m, spec, passed, note, **labels))


def less(
    name: str, smaller: float, larger: float, *, margin: float = 0.0, note: str = "", kind: Kind = "evidence",
    rules_out: str = "",
) -> None:
    """Claim ``smaller + margin < larger``; fails if either side is not finite.

    ``margin`` must be finite and ``>= 0``: a negative margin would let ``smaller > larger`` pass.
    """
    name, note, labels = _name(name), _note(note), _labels(kind, rules_out)
    s, big = _number("smaller", smaller), _number("larger", larger)
    margin = _validate.real("margin", margin, low=0.0)
    passed = math.isfinite(s) and math.isfinite(big) and s + margin < big
    return _record(Claim(name, s, f"< {big:.4g}" + (f" - {margin:.3g}" if margin else ""), passed, note, **labels))


def within(
    name: str, measured: float, low: float, high: float, *, note: str = "", kind: Kind = "evidence",
    rules_out: str = "",
) -> None:
    """Claim ``low <= measured <= high``; fails if ``measured`` is not finite.

    One bound may be infinite (a one-sided claim), but not both, and ``low <= high``.
    """
    name, note, labels = _name(name), _note(note), _labels(kind, rules_out)
    m = _number("measured", measured)
    lo, hi = _number("low", low), _number("high", high)
    if math.isnan(lo) or math.isnan(hi) or lo > hi or (math.isinf(lo) and math.isinf(hi)):
        raise ValueError(f"low and high must satisfy low <= high with at most one infinite, got [{low!r}, {high!r}]")
    passed = math.isfinite(m) and lo <= m <= hi
    return _record(Claim(name, m, f"in [{lo:.4g}, {hi:.4g}]", passed, note, **labels))


def holds(
    name: str, condition: bool, *, measured: float = float("nan"), note: str = "", kind: Kind = "evidence",
    rules_out: str = "",
) -> None:
    """Claim a boolean condition (for exact statements such as 'identical at the reference width').

    ``condition`` must be a real boolean (Python or NumPy): a number or a string such as ``"False"`` would be
    truthy by accident, so it is a ``TypeError``.
    """
    name, note, labels = _name(name), _note(note), _labels(kind, rules_out)
    cond = _validate.boolean("condition", condition)
    return _record(Claim(name, _number("measured", measured), "true", cond, note, **labels))


def skip(name: str, reason: str, *, kind: Kind = "evidence") -> None:
    """Record that a claim is not tested in this run, and why (e.g. the profile has too few widths).

    A skipped claim is shown where it would have been checked and listed in :func:`summary`; it never counts
    as support and never raises.
    """
    name, reason, labels = _name(name), _note(reason, "reason"), _labels(kind, "")
    if not reason.strip():
        raise ValueError("reason must say why the claim is not tested, got an empty string")
    return _record(Claim(name, math.nan, "not tested", False, reason, status="skip", **labels))


def _cell(text: str) -> str:
    """Escape the Markdown table separator inside a cell."""
    return text.replace("|", "\\|")


def _table(claims: list[Claim]) -> list[str]:
    rows = ["| claim | measured | expected | |", "|---|---|---|---|"]
    marks = {"pass": "✓", "fail": "✗", "skip": "not tested"}
    for c in claims:
        got = "" if math.isnan(c.measured) else f"{c.measured:.4g}"
        expected = c.expected if c.status != "skip" else f"not tested: {c.note}"
        expected += f"; rules out {c.rules_out}" if c.rules_out else ""
        rows.append(f"| {_cell(c.name)} | {got} | {_cell(expected)} | {marks[c.status]} |")
    return rows


def summary(*, chapter: str | None = None) -> str:
    """Markdown tables of every claim checked so far in this process (to end a chapter): evidence first, then
    consistency checks, each with its count of passed and skipped claims (skipped ones list their reason).

    With ``chapter`` (the notebook's name without ``.ipynb``), the claims are also saved as that chapter's
    record for the claims ledger, in the folder named by ``$WIDTHLIMITS_CLAIMS_DIR`` when it is set.
    """
    if chapter is not None:
        save_record(chapter)
    parts = []
    for kind, title in [("evidence", "Evidence"), ("consistency", "Consistency checks (hold by construction)")]:
        group = [c for c in _REGISTRY if c.kind == kind]
        if not group:
            continue
        counts = {s: sum(c.status == s for c in group) for s in STATUSES}
        tail = f"{counts['pass']} passed" + (f", {counts['fail']} failed" if counts["fail"] else "")
        tail += f", {counts['skip']} not tested under this run (reasons above)." if counts["skip"] else "."
        parts.append(f"**{title}**\n\n" + "\n".join(_table(group)) + f"\n\n{len(group)} claims: {tail}")
    return "\n\n".join(parts) if parts else "No claims were checked."


def record(chapter: str) -> dict:
    """This process's claims as a ledger record of ``chapter``: the claims, the profile they ran under, and the
    hash of the chapter's code cells (when ``<chapter>.ipynb`` is in the working directory), so that a ledger
    can tell a record of the current chapter from a stale one."""
    if not isinstance(chapter, str) or not chapter.strip() or "/" in chapter:
        raise ValueError(f"chapter must be a notebook name without folder or suffix, got {chapter!r}")
    nb = Path(f"{chapter}.ipynb")
    return {
        "chapter": chapter,
        "profile": profiles.current().name,
        "code_hash": code_hash(nb) if nb.is_file() else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "claims": [dataclasses.asdict(c) for c in _REGISTRY],
    }


def save_record(chapter: str) -> Path | None:
    """Write :func:`record` to ``$WIDTHLIMITS_CLAIMS_DIR/<chapter>.json`` (atomically) and return the path;
    ``None`` when the variable is unset."""
    rec = record(chapter)
    folder = os.environ.get(RECORDS_ENV)
    if not folder:
        return None
    path = Path(folder) / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rec, indent=1, default=str))
    tmp.replace(path)  # a reader never sees half a record
    return path


def code_hash(notebook: str | os.PathLike) -> str:
    """SHA-256 of a notebook's code-cell sources, the same part of it that keys Jupyter Book's cache."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    code = "\n# cell\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return hashlib.sha256(code.encode()).hexdigest()


def checked() -> list[Claim]:
    """The claims checked so far in this process, in order."""
    return list(_REGISTRY)


def reset() -> None:
    """Forget the claims checked so far."""
    _REGISTRY.clear()
