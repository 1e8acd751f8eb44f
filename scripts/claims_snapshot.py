"""Execute chapters and save every claim they check; compare two such snapshots.

Used to show that a refactoring of the chapters keeps the science: run it before and after, under the same
profile, and compare::

    python scripts/claims_snapshot.py run  /tmp/before [chapter ...]   # default: every chapter
    python scripts/claims_snapshot.py compare /tmp/before /tmp/after [chapter ...]

``run`` executes each notebook (with nbclient, in its own folder, under the current ``WIDTHLIMITS_PROFILE``)
followed by one extra cell that writes ``claims.checked()`` to ``<out>/<chapter>.json``, plus the execution time.
``compare`` matches claims by name and reports, per chapter, claims gained or lost, status changes, and values
that moved by more than their tolerance (the ``±`` of a ``close`` claim) or, for other claims, by more than
1e-6 relative (printed, for a reader to judge against the claim's own margin).
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUMP = """
import dataclasses as _dc, json as _json
from widthlimits import claims as _claims
with open({path!r}, "w") as _f:
    _json.dump([_dc.asdict(c) for c in _claims.checked()], _f, indent=1, default=str)
"""


def run(out: Path, names: list[str]) -> None:
    import nbformat
    from nbclient import NotebookClient

    out.mkdir(parents=True, exist_ok=True)
    books = sorted((ROOT / "book").glob("*.ipynb"))
    for nb_path in books:
        if names and nb_path.stem not in names:
            continue
        nb = nbformat.read(nb_path, as_version=4)
        target = out / f"{nb_path.stem}.json"
        nb.cells.append(nbformat.v4.new_code_cell(DUMP.format(path=str(target))))
        start = time.perf_counter()
        try:
            NotebookClient(nb, timeout=3600, resources={"metadata": {"path": str(nb_path.parent)}}).execute()
            status = "ok"
        except Exception as exc:  # keep going: the snapshot records which chapter failed and why
            status = f"error: {type(exc).__name__}: {str(exc)[-2000:]}"
        seconds = time.perf_counter() - start
        (out / f"{nb_path.stem}.status.json").write_text(json.dumps({"status": status, "seconds": seconds}))
        print(f"{nb_path.stem}: {status.splitlines()[0][:200]} ({seconds:.0f} s)", flush=True)


def _tol(expected: str) -> float | None:
    m = re.search(r"± ([0-9.eE+-]+)(%?)", expected)
    if not m:
        return None
    return float(m.group(1)) * (0.01 if m.group(2) else 1.0)


def compare(before: Path, after: Path, names: list[str]) -> int:
    worst = 0
    for b_path in sorted(before.glob("*.json")):
        if b_path.name.endswith(".status.json") or (names and b_path.stem not in names):
            continue
        a_path = after / b_path.name
        if not a_path.exists():
            print(f"## {b_path.stem}: no snapshot after")
            worst = 1
            continue
        b = {c["name"]: c for c in json.loads(b_path.read_text())}
        a = {c["name"]: c for c in json.loads(a_path.read_text())}
        lines = []
        for name in b.keys() - a.keys():
            lines.append(f"  lost: {name}")
        for name in a.keys() - b.keys():
            lines.append(f"  new: {name} [{a[name]['status']}]")
        n_equal = 0
        for name in b.keys() & a.keys():
            cb, ca = b[name], a[name]
            mb, ma = float(cb["measured"]), float(ca["measured"])
            if cb["status"] != ca["status"]:
                lines.append(f"  status {cb['status']} -> {ca['status']}: {name}")
                continue
            if math.isnan(mb) and math.isnan(ma):
                n_equal += 1
                continue
            tol = _tol(cb["expected"])
            if mb == ma:
                n_equal += 1
            elif tol is not None and abs(ma - mb) <= tol:
                lines.append(f"  moved within tol: {name}: {mb:.6g} -> {ma:.6g} (tol {tol:.3g})")
            elif tol is None and abs(ma - mb) <= 1e-6 * max(abs(mb), 1e-30):
                n_equal += 1
            else:
                lines.append(f"  MOVED: {name}: {mb:.6g} -> {ma:.6g} (expected {cb['expected']})")
        n_fail = sum(c["status"] == "fail" for c in a.values())
        print(f"## {b_path.stem}: {len(b)} before, {len(a)} after, {n_equal} identical, {n_fail} failed after")
        print("\n".join(sorted(lines)))
        if n_fail or any(line.startswith(("  lost", "  status", "  MOVED")) for line in lines):
            worst = 1
    return worst


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        run(Path(sys.argv[2]), sys.argv[3:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]))
    else:
        sys.exit(__doc__)
