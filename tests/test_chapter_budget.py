"""The chapters read as a book: short visible checks, machinery in the library, hidden cells introduced.

Read from the stored notebooks (no execution). A *code line* is a non-blank line of a code cell that is not
only a comment (comments that say why are welcome and cost nothing). A cell is *visible* unless tagged
``hide-input``, ``remove-input``, ``remove-cell`` or ``hide-cell``.

Budget (issue 13): no visible code cell over 25 lines; at most 150 visible lines per chapter; at most 2,000
code lines over all chapters; every collapsed (``hide-input``/``hide-cell``) code cell introduced by a
Markdown cell (a sentence saying what it computes or draws); no chapter writes a training loop or calls
autodiff/optax itself; at most 5 blocks of six or more lines repeated across the chapters' code cells; the
model chapter defines no function.

Run as a script for the table: ``python tests/test_chapter_budget.py``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("*.ipynb"))
HIDDEN = {"hide-input", "remove-input", "remove-cell", "hide-cell"}
MAX_CELL, MAX_VISIBLE, MAX_TOTAL, MAX_REPEATS, BLOCK = 25, 150, 2000, 5, 6
MODEL_CHAPTER = "one_network_many_limits"
#: What only the library may do: differentiate, optimise, or loop over training steps.
FORBIDDEN = {
    "jax.grad": r"\bjax\.grad\b|\bgrad\(",
    "value_and_grad": r"value_and_grad",
    "optax": r"\boptax\b",
    "a compiled loop (lax.scan / fori_loop / while_loop)": r"\blax\.scan\b|fori_loop|while_loop",
    "an optimiser step (opt.update / apply_updates)": r"\.update\(\s*grads|apply_updates",
}


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def code_lines(src: str) -> list[str]:
    """The counted lines of a cell: not blank, not a comment, not a cell magic."""
    out = []
    for line in src.splitlines():
        text = line.strip()
        if text and not text.startswith(("#", "%")):
            out.append(line)
    return out


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _hidden(cell: dict) -> bool:
    return bool(HIDDEN & set(cell.get("metadata", {}).get("tags", [])))


def measure(path: Path) -> dict:
    """Per chapter: total and visible code lines, the longest visible cell, and any rule it breaks."""
    cells = _cells(path)
    total = visible = longest = 0
    problems = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        src = _source(cell)
        n = len(code_lines(src))
        total += n
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"hide-input", "hide-cell"}:  # shown collapsed: the reader needs to know what it holds
            prev = cells[i - 1] if i else None
            if prev is None or prev["cell_type"] != "markdown" or not _source(prev).strip():
                problems.append(f"cell {i}: hidden code cell not introduced by a Markdown cell")
        if not _hidden(cell):
            visible += n
            longest = max(longest, n)
            if n > MAX_CELL:
                problems.append(f"cell {i}: visible code cell of {n} lines (max {MAX_CELL})")
        for what, pattern in FORBIDDEN.items():
            if re.search(pattern, src):
                problems.append(f"cell {i}: calls {what} (the library's job)")
        if path.stem == MODEL_CHAPTER and re.search(r"^\s*def ", src, re.M):
            problems.append(f"cell {i}: the model chapter defines a function")
    if visible > MAX_VISIBLE:
        problems.append(f"{visible} visible code lines (max {MAX_VISIBLE})")
    return dict(total=total, visible=visible, longest=longest, problems=problems)


def repeated_blocks() -> list[tuple[str, list[str]]]:
    """Blocks of >= BLOCK consecutive code lines that occur in more than one cell (normalised whitespace).

    Overlapping repeated windows of one cell merge into one block; each block is reported once, with the
    places it occurs.
    """
    where = defaultdict(set)
    per_cell = []
    for path in CHAPTERS:
        for i, cell in enumerate(_cells(path)):
            # The removed Colab setup cell installs the library, so it cannot live in it: the same in every chapter.
            if cell["cell_type"] != "code" or "remove-cell" in cell.get("metadata", {}).get("tags", []):
                continue
            lines = [" ".join(line.split()) for line in code_lines(_source(cell))]
            per_cell.append((f"{path.stem}[{i}]", lines))
            for k in range(len(lines) - BLOCK + 1):
                where["\n".join(lines[k : k + BLOCK])].add(f"{path.stem}[{i}]")
    blocks, seen = [], set()
    for _place, lines in per_cell:
        k = 0
        while k <= len(lines) - BLOCK:
            window = "\n".join(lines[k : k + BLOCK])
            if len(where[window]) > 1:
                start = k
                while k <= len(lines) - BLOCK and len(where["\n".join(lines[k : k + BLOCK])]) > 1:
                    k += 1
                text = "\n".join(lines[start : k + BLOCK - 1])
                first = "\n".join(lines[start : start + BLOCK])
                if first not in seen:
                    seen.update("\n".join(lines[j : j + BLOCK]) for j in range(start, k))
                    blocks.append((text, sorted(where[first])))
            else:
                k += 1
    return blocks


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_keeps_its_budget(path):
    got = measure(path)
    assert not got["problems"], f"{path.stem}: " + "; ".join(got["problems"])


def test_all_chapters_together_stay_under_the_total():
    total = sum(measure(p)["total"] for p in CHAPTERS)
    assert total <= MAX_TOTAL, f"{total} code lines over all chapters (max {MAX_TOTAL})"


def test_few_repeated_blocks_across_chapters():
    blocks = repeated_blocks()
    shown = "\n\n".join(f"{places}:\n{text}" for text, places in blocks)
    assert len(blocks) <= MAX_REPEATS, f"{len(blocks)} repeated blocks of >= {BLOCK} lines:\n{shown}"


if __name__ == "__main__":
    rows = {p.stem: measure(p) for p in CHAPTERS}
    print(f"{'chapter':34s} {'total':>6s} {'visible':>8s} {'longest':>8s}  problems")
    for name, m in rows.items():
        print(f"{name:34s} {m['total']:6d} {m['visible']:8d} {m['longest']:8d}  {len(m['problems'])}")
        for problem in m["problems"]:
            print(f"    {problem}")
    print(f"{'all':34s} {sum(m['total'] for m in rows.values()):6d} (max {MAX_TOTAL})")
    print(f"repeated blocks: {len(repeated_blocks())} (max {MAX_REPEATS})")
