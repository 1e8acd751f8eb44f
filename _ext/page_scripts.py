"""Sphinx extension: each page loads each script once.

sphinx-thebe adds its inline configuration script (``const THEBE_JS_URL = ...``) once per read phase; under
Jupyter Book 1.x the page gets it twice, and the second ``const`` is a JavaScript SyntaxError on every page (the
browser check in tests/test_html.py found it). The book does not use thebe, so dropping the repeat changes
nothing else. Scripts are compared by file name, body and attributes; the first of each is kept, in the original order.
"""

from __future__ import annotations


def _key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # an inline script's file name is None from one caller and "" from another: both mean "no file"
    return (str(getattr(script, "filename", script) or ""), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _once(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        if _key(script) not in seen:
            seen.add(_key(script))
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _once, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
