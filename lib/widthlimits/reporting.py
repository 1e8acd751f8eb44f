"""Reporting helpers: Markdown tables and number formats, written once for every chapter.

A chapter shows a table in one call::

    reporting.show(reporting.table(["family", "slope"], [["MF", -0.5], ["NTK", 0.01]]))

Numbers are formatted by :func:`fmt` (4 significant digits unless told), so tables in different chapters read
alike; ``|`` inside a cell is escaped so that a label cannot break the table.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from widthlimits import _validate


def fmt(value: Any, digits: int = 4) -> str:
    """A cell's text: numbers to ``digits`` significant digits (``nan``/``inf`` spelled out), else ``str``."""
    digits = _validate.integer("digits", digits, low=1, high=17)
    if isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        return f"{v:.{digits}g}"
    return str(value)


def pm(value: float, error: float, digits: int = 2) -> str:
    """``value ± error`` with the value rounded to the error's leading ``digits`` (``-0.503 ± 0.012``)."""
    v, e = _number("value", value), _number("error", error)
    if e < 0:
        raise ValueError(f"error must be >= 0 (a standard error or half-width), got {error!r}")
    digits = _validate.integer("digits", digits, low=1, high=6)
    if not (math.isfinite(v) and math.isfinite(e)) or e == 0:
        return f"{fmt(v)} ± {fmt(e)}"
    decimals = max(0, digits - 1 - math.floor(math.log10(e)))
    return f"{v:.{decimals}f} ± {e:.{decimals}f}"


def _number(name: str, value: Any) -> float:
    if isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def fraction(k: int, n: int) -> str:
    """``"k of n (p%)"``, the way the book counts runs, cells or points."""
    n = _validate.integer("n", n, low=1)
    k = _validate.integer("k", k, low=0, high=n)
    return f"{k} of {n} ({100 * k / n:.0f}%)"


def _cell(value: Any, digits: int) -> str:
    return fmt(value, digits).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, digits: int = 4) -> str:
    """A Markdown table: ``header`` (column names) and ``rows`` (one sequence of cells per row, each as long)."""
    if isinstance(header, str) or not isinstance(header, Sequence) or not header:
        raise TypeError(f"header must be a non-empty sequence of column names, got {header!r}")
    if isinstance(rows, str) or not isinstance(rows, Sequence):
        raise TypeError(f"rows must be a sequence of rows, got {type(rows).__name__}")
    lines = ["| " + " | ".join(_cell(h, digits) for h in header) + " |", "|" + "---|" * len(header)]
    for i, row in enumerate(rows):
        if isinstance(row, str) or not isinstance(row, Sequence) or len(row) != len(header):
            raise ValueError(f"rows[{i}] must hold {len(header)} cells (one per column), got {row!r}")
        lines.append("| " + " | ".join(_cell(c, digits) for c in row) + " |")
    return "\n".join(lines)


def show(markdown: str) -> None:
    """Display Markdown in a notebook (printed as text elsewhere)."""
    if not isinstance(markdown, str):
        raise TypeError(f"markdown must be a string, got {type(markdown).__name__}")
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(markdown))
            return
    except ImportError:
        pass
    print(markdown)
