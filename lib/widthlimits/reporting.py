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


# --- where, when and how a results file was made ---

# Imported here rather than at the top: this section is appended to a module shared by every chapter.
from collections.abc import Mapping  # noqa: E402


def _log2_range(widths: Sequence[int]) -> str:
    return f"$2^{{{math.log2(widths[0]):g}}} \\dots 2^{{{math.log2(widths[-1]):g}}}$"


def provenance_table(meta: Any, *, origin: str, paper_widths: Any = None) -> str:
    """Markdown: the record of a results file as a table, then a warning if it was made with reduced settings.

    ``meta`` is the record the results scripts write (``scripts/run_figure1.py``, ``run_figure2.py``):
    ``command``, ``date``, ``device``, ``versions``, ``settings`` (``widths``: a list, or one list per panel;
    ``seeds``, ``n_steps``, ``n_train``, ``n_test``, ``data``, ``data_source``, ``precision``, optionally
    ``ref_lr``), ``timing`` (``total_seconds``, optionally ``cached_widths``), ``paper_profile`` and ``note``.
    ``origin`` says which file was read (:func:`widthlimits.results_files.load_sweep` returns it);
    ``paper_widths`` (a list, or one per panel) adds the paper's widths next to those run.
    """
    if not isinstance(origin, str):
        raise TypeError(f"origin must be a string saying which file was read, got {type(origin).__name__}")
    need = dict(
        meta=("command", "date", "device", "versions", "settings", "timing", "paper_profile"),
        settings=("widths", "seeds", "n_steps", "n_train", "n_test", "data", "data_source", "precision"),
        device=("backend", "kind", "cpu_count", "load_average_at_start", "load_average_at_end"),
        timing=("total_seconds",),
    )
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a mapping (a results file's record), got {type(meta).__name__}")
    for part, keys in need.items():
        record = meta if part == "meta" else meta[part]
        missing = [k for k in keys if not isinstance(record, Mapping) or k not in record]
        if missing:
            where = "meta" if part == "meta" else f"meta[{part!r}]"
            raise ValueError(f"{where} must hold {list(keys)}; missing {missing}")
    s, dev, t = meta["settings"], meta["device"], meta["timing"]
    by_panel = s["widths"] if isinstance(s["widths"], Mapping) else {None: s["widths"]}
    width_rows = []
    for name, widths in by_panel.items():
        paper = paper_widths.get(name) if isinstance(paper_widths, Mapping) else paper_widths
        text = f"{_log2_range(widths)} ({len(widths)} widths" + (f"; the paper: {_log2_range(paper)}" if paper else "")
        width_rows.append(("widths" if name is None else f"widths of `{name}`", text + ")"))
    cached = any(t.get("cached_widths", ()))
    rows = [
        ("file", origin),
        ("paper profile", "**yes**" if meta["paper_profile"] else "**no** (reduced settings)"),
        ("command", f"`{meta['command']}`"),
        ("note", meta.get("note") or "—"),
        ("date (UTC)", meta["date"]),
        ("device", f"{dev['backend']} ({dev['kind']}), {dev['cpu_count']} CPU cores"),
        (
            "machine load (1-min average, start / end)",
            f"{dev['load_average_at_start'][0]:.1f} / {dev['load_average_at_end'][0]:.1f}",
        ),
        ("versions", ", ".join(f"{k} {v}" for k, v in meta["versions"].items())),
        *width_rows,
        (
            "seeds, steps",
            f"{len(s['seeds'])} seeds, {s['n_steps']} full-batch steps"
            + (f", $\\eta^* = {s['ref_lr']}$" if "ref_lr" in s else ""),
        ),
        (
            "data",
            f"{s['n_train']} training / {s['n_test']} test images, source {s['data_source']}, "
            f"fingerprint `{s['data']}`",
        ),
        ("matmul precision", f"`{s['precision']}`"),
        (
            "compute time",
            f"{t['total_seconds'] / 60:.1f} min" + (" (read from the cache of earlier runs: see the note)" * cached),
        ),
    ]
    out = table(["", ""], rows)
    if not meta["paper_profile"]:
        out += (
            "\n\n```{warning}\nThis results file was made with **reduced settings, not the paper's** (see the table; "
            f"note stored in the file: *{meta.get('note') or 'none'}*). Every claim below is checked on it as it is, "
            "and the figures show it as it is; where its widths stop early, the width trends are weaker than the "
            "paper's. The script named in the table, run without the options that reduce it, makes the paper-scale "
            "file.\n```"
        )
    return out
