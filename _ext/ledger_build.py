"""Sphinx extension: run the claims ledger strictly, and after every chapter, in the book build.

Chapters execute while Sphinx reads them (myst-nb), in the order Sphinx reads documents (sorted by name). The
ledger page reads the claims records the chapters save, so it must be read last and re-read whenever any
chapter is; it runs with ``execution_mode: force`` in its notebook metadata so the execution cache never
serves an old ledger. The records go to ``_build/claims`` unless ``$WIDTHLIMITS_CLAIMS_DIR`` says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

LEDGER = "book/claims_ledger"


def _environment(app, config) -> None:
    # notebook kernels inherit this process's environment
    os.environ.setdefault("WIDTHLIMITS_CLAIMS_DIR", str(Path(app.outdir).parent / "claims"))
    os.environ["WIDTHLIMITS_LEDGER_STRICT"] = "1"


def _reread_ledger(app, env, added, changed, removed) -> list[str]:
    return [LEDGER] if (added or changed) and LEDGER in env.found_docs else []


def _ledger_last(app, env, docnames: list[str]) -> None:
    if LEDGER in docnames:
        docnames.remove(LEDGER)
        docnames.append(LEDGER)


def setup(app):
    app.connect("config-inited", _environment)
    app.connect("env-get-outdated", _reread_ledger)
    app.connect("env-before-read-docs", _ledger_last)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
