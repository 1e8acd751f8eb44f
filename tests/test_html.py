"""The HTML in a real browser (headless Chromium, offline): typeset equations, loading images, working sliders.

Three levels:
- the checker itself is shown pages with each defect planted, and must report every one;
- a two-page book built here with the book's own ``_config.yml`` (an equation page and a notebook holding a
  static slider) must read clean and offline: MathJax comes from the package, not a CDN;
- after the book build, ``.ci/run`` points ``$WIDTHLIMITS_BOOK_HTML`` at ``_build/html`` and every chapter
  page of ``_toc.yml`` is checked, with a screenshot of its first screen and a summary (sizes, pages per
  second) written beside the HTML's parent.
Without Chromium these tests skip, unless ``$WIDTHLIMITS_REQUIRE_BROWSER`` is set (as in ``.ci/run``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.browser_check import check_pages, chromium

ROOT = Path(__file__).resolve().parent.parent
MAX_PAGE_BYTES = 8 * 2**20

if chromium() is None:
    if os.environ.get("WIDTHLIMITS_REQUIRE_BROWSER"):
        raise RuntimeError("WIDTHLIMITS_REQUIRE_BROWSER is set but there is no Chromium (apt-get install chromium)")
    pytest.skip("no Chromium on this machine (apt-get install chromium)", allow_module_level=True)

PLANTED = """<!doctype html><html><head>
<script>window.MathJax = {startup: {typeset: false}};</script></head><body>
<img src="missing.png"/>
<span class="math notranslate nohighlight">\\(x^2\\)</span>
<div><img id="wl1-i" src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"/>
<input id="wl1-r" data-wl="wl1" type="range" min="0" max="1" value="0" aria-label="frame"/>
<span id="wl1-t">a</span></div>
<img src="https://example.invalid/x.png"/>
<div class="output traceback">Traceback (most recent call last)</div>
</body></html>"""


def test_the_check_reports_every_planted_defect(tmp_path):
    (tmp_path / "bad.html").write_text(PLANTED)
    (report,), rate = check_pages(tmp_path, ["bad.html"])
    text = "\n".join(report.errors)
    for defect in ("image does not load: http://127.0.0.1", "traceback", "MathJax did not load",
                   "equation not typeset", "static slider wl1-r did not change", "request outside the book"):
        assert defect in text, (defect, report.errors)
    assert rate > 0


@pytest.fixture(scope="module")
def small_book(tmp_path_factory) -> Path:
    """A two-page book built with the book's configuration: ``book/maths`` (equations) and ``book/slider``."""
    src = tmp_path_factory.mktemp("small_book")
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "_ext", src / "_ext")
    (src / "book").mkdir()
    (src / "_toc.yml").write_text("format: jb-book\nroot: book/maths\nchapters:\n  - file: book/slider\n")
    (src / "book" / "maths.md").write_text(
        "# Maths\n\nInline $\\chi_1 = \\sigma_w^2\\,\\mathbb{E}[\\phi'(z)^2]$ and display\n\n"
        "$$\n\\Theta(x, x') = \\sum_l \\langle \\partial_l f(x), \\partial_l f(x') \\rangle\n$$\n\n"
        "```{math}\n:label: eq-test\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}\n```\n"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Slider\n\nA static slider over three frames."),
        nbformat.v4.new_code_cell(
            "from widthlimits import widgets\n\n"
            "def draw(fig, a):\n    fig.add_subplot().plot([0, 1], [0, a])\n\n"
            "ex = widgets.Explorer(draw, {'a': (1.0, 2.0, 3.0)}, defaults={'a': 1.0}, figsize=(2, 2))\n"
            "ex.static(widgets.path(ex.grid, [{'a': 1.0}, {'a': 3.0}]))"
        ),
        nbformat.v4.new_markdown_cell("Two sliders over a plane of two parameters."),
        nbformat.v4.new_code_cell(
            "def line(fig, a, b):\n    fig.add_subplot().plot([0, 1], [b, a])\n\n"
            "plane = widgets.Explorer(line, {'a': (1.0, 2.0, 3.0), 'b': (0.0, 1.0)}, figsize=(2, 2))\n"
            "plane.static_plane('a', 'b')"
        ),
    ]
    nbformat.write(nb, src / "book" / "slider.ipynb")
    env = {**os.environ, "WIDTHLIMITS_CLAIMS_DIR": str(src / "_claims")}
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src), "-W", "-n", "--keep-going"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return src / "_build" / "html"


def test_small_book_typesets_loads_and_slides_offline(small_book, tmp_path):
    assert (small_book / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax is not served with the book"
    reports, _ = check_pages(small_book, ["book/maths.html", "book/slider.html"], screenshots=tmp_path)
    by_page = {r.page: r for r in reports}
    assert {p: r.errors for p, r in by_page.items() if r.errors} == {}
    assert by_page["book/maths.html"].equations >= 3
    assert by_page["book/slider.html"].sliders == 3 and by_page["book/slider.html"].images >= 2
    assert all(Path(r.screenshot).stat().st_size > 0 for r in reports)


def chapter_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    return [f"{f}.html" for f in files]


@pytest.mark.skipif(not os.environ.get("WIDTHLIMITS_BOOK_HTML"), reason="set WIDTHLIMITS_BOOK_HTML to a built book")
def test_built_book_reads_clean_in_chromium():
    html = Path(os.environ["WIDTHLIMITS_BOOK_HTML"]).resolve()
    out = html.parent / "html-check"
    reports, rate = check_pages(html, chapter_pages(), screenshots=out / "screenshots")
    summary = {"pages_per_second": rate,
               "pages": [{"page": r.page, "bytes": r.bytes, "images": r.images, "sliders": r.sliders,
                          "equations": r.equations, "errors": r.errors} for r in reports]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    for r in reports:
        print(f"{r.page:48s} {r.bytes / 2**20:6.2f} MB  images {r.images:3d}  sliders {r.sliders}  "
              f"equations {r.equations:4d}  errors {len(r.errors)}")
    print(f"{rate:.2f} pages per second")
    assert {r.page: r.errors for r in reports if r.errors} == {}
    assert [r.page for r in reports if r.bytes > MAX_PAGE_BYTES] == []
