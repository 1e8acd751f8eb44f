"""Read built HTML pages the way a reader does: in headless Chromium, served from localhost, offline.

For each page :func:`check_pages` records what a reader would see go wrong: a cell error or traceback, an image
that does not load, a static slider whose frame or caption does not change when it is moved (its JavaScript did
not run), an equation MathJax did not typeset, and any request that leaves localhost (the book must read
offline: MathJax is served with it). It also saves a screenshot of each page's first screen.

Chromium is Debian's (``/usr/bin/chromium``, or ``$CHROMIUM``), driven by Playwright's Python driver, which
needs no browser download when given the executable. The flags are those that keep Chromium from reaching
for the network at start-up.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium() -> str | None:
    """The Chromium executable, or None when the machine has none."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return path if path and Path(path).exists() else None


@dataclass
class PageReport:
    page: str
    errors: list[str] = field(default_factory=list)
    images: int = 0
    sliders: int = 0
    equations: int = 0
    bytes: int = 0
    screenshot: str | None = None


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free localhost port for the duration of the block; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# In the page: wait for MathJax's first typeset, then count what is there and what failed.
_INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  for (const img of document.images) { img.loading = 'eager'; }
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(r => { img.onload = img.onerror = r; })));
  const text = document.body.innerText;
  const math = [...document.querySelectorAll('span.math, div.math')];
  return {
    images: document.images.length,
    broken: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80)),
    tracebacks: document.querySelectorAll('.output.traceback, .output.error').length
                + (text.includes('Traceback (most recent call last)') ? 1 : 0),
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60)),
    mathErrors: document.querySelectorAll('mjx-merror').length,
    mathjax: !!(window.MathJax && MathJax.version),
  };
}"""

# Move every slider of a static figure (widgets.Explorer.static / static_plane: range inputs marked data-wl with
# the figure's id) to another position, one at a time; report those that did not change frame and caption.
_SLIDE = """() => {
  const out = [];
  for (const r of document.querySelectorAll('input[type=range][data-wl]')) {
    const id = r.dataset.wl, img = document.getElementById(id + '-i'), cap = document.getElementById(id + '-t');
    const before = [img.src, cap.textContent], n = Number(r.max);
    r.value = String(Number(r.value) === n ? 0 : n);
    r.dispatchEvent(new Event('input', {bubbles: true}));
    out.push({id: r.id, frames: n + 1, moved: img.src !== before[0] && cap.textContent !== before[1]});
  }
  return out;
}"""


def check_pages(root: Path, pages: Sequence[str], *, screenshots: Path | None = None) -> tuple[list[PageReport], float]:
    """Open each page (a path relative to ``root``) in Chromium; returns the reports and pages per second."""
    from playwright.sync_api import sync_playwright

    exe = chromium()
    if exe is None:
        raise RuntimeError("no Chromium: install Debian's chromium (apt-get install chromium) or set $CHROMIUM")
    reports = []
    with serve(root) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        outside: list[str] = []

        def route(r):  # the book reads offline: anything not served from localhost is refused and recorded
            if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        start = time.perf_counter()
        for page_path in pages:
            rep = PageReport(page_path, bytes=(root / page_path).stat().st_size)
            page = context.new_page()
            console = []
            page.on("pageerror", lambda e, c=console: c.append(f"javascript error: {e}"))
            outside.clear()
            page.goto(base + page_path, wait_until="load")
            seen = page.evaluate(_INSPECT)
            sliders = page.evaluate(_SLIDE)
            rep.images, rep.equations, rep.sliders = seen["images"], seen["math"], len(sliders)
            rep.errors += [f"image does not load: {s}" for s in seen["broken"]]
            rep.errors += [f"{seen['tracebacks']} cell error(s) or traceback(s)"] if seen["tracebacks"] else []
            if seen["math"] and not seen["mathjax"]:
                rep.errors.append("page has equations but MathJax did not load")
            rep.errors += [f"equation not typeset: {t!r}" for t in seen["untypeset"][:5]]
            rep.errors += [f"{seen['mathErrors']} MathJax error(s)"] if seen["mathErrors"] else []
            rep.errors += [f"static slider {s['id']} did not change frame and caption"
                           for s in sliders if not s["moved"]]
            rep.errors += [f"request outside the book: {u[:100]}" for u in sorted(set(outside))]
            rep.errors += console
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                shot = screenshots / (Path(page_path).with_suffix("").as_posix().replace("/", "__") + ".png")
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(shot))
                rep.screenshot = str(shot)
            page.close()
            reports.append(rep)
        rate = len(pages) / (time.perf_counter() - start)
        browser.close()
    return reports, rate
