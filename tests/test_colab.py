"""Colab, proven the way a reader meets it: the chapter's setup cell installs the library into an environment
pre-populated like Colab's, changes none of Colab's packages, and every chapter then runs there under the quick
profile from a directory outside the repository.

The environment holds the versions Colab preinstalls (:data:`COLAB`, from googlecolab/backend-info's
``pip-freeze.txt``), on Colab's Python where this machine has it. The wheel is built from a copy of ``lib/`` and
installed by executing a chapter's real first cell in a kernel of that environment, with the install spec taken
from ``$WIDTHLIMITS_INSTALL`` (the cell's own override). Creating the environment needs the package index (as CI
has); nothing else leaves the machine. A summary (Python, versions, seconds per chapter) goes to
``$WIDTHLIMITS_COLAB_REPORT`` when it is set. Under xdist each worker builds its own environment (a few minutes,
in parallel) and runs its share of the chapters. This test found one real defect: an eager computation in
``kernel_motion`` that Colab's jax 0.7.2 returned wrongly for one run per call (now compiled, and exact).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
# googlecolab/backend-info, pip-freeze.txt at a72407924822ea377410b69f0a290150bcb5c9c2 (2026-08-19, CPU runtime,
# Python 3.13.15): every package the library or a notebook kernel touches. GPU runtimes add jax-cuda12-plugin.
COLAB_PYTHON = "3.13"
COLAB = {
    "jax": "0.7.2", "jaxlib": "0.7.2", "optax": "0.2.8", "numpy": "2.1.3", "matplotlib": "3.10.0",
    "ipywidgets": "7.7.1", "widgetsnbextension": "3.6.10", "jupyterlab-widgets": "3.0.16", "tqdm": "4.67.3",
    "ipykernel": "6.17.1", "ipython": "7.34.0", "jupyter-client": "7.4.9", "jupyter-core": "5.9.1",
    "nbformat": "5.11.1", "nbclient": "0.10.4", "traitlets": "5.7.1", "tornado": "6.5.7", "pyzmq": "26.2.1",
}

RUNNER = """
import sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
start = time.perf_counter()
NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
print(f"executed in {time.perf_counter() - start:.1f} s")
"""


def _python() -> str:
    for exe in (shutil.which(f"python{COLAB_PYTHON}"), f"/root/.pyenv/versions/{COLAB_PYTHON}.0/bin/python"):
        if exe and Path(exe).exists() and subprocess.run([exe, "-c", "import venv"]).returncode == 0:
            return exe
    return sys.executable


def _freeze(python: Path) -> dict[str, str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True,
                         check=True).stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(out)}


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{cmd[:4]} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    return out


def _kernel_env(work: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env.update(WIDTHLIMITS_PROFILE="quick", WIDTHLIMITS_CACHE=str(work / "cache"),
               WIDTHLIMITS_CLAIMS_DIR=str(work / "claims"), PYDEVD_DISABLE_FILE_VALIDATION="1", **extra)
    return env


@pytest.fixture(scope="session")
def colab(tmp_path_factory) -> dict:
    """The Colab-like environment after the setup cell ran: python, work dir, before/after versions, seconds."""
    base = tmp_path_factory.mktemp("colab")
    chapters = base / "chapters"  # the chapters as they are now, beside the wheel built now
    chapters.mkdir()
    for chapter in CHAPTERS:
        shutil.copy(chapter, chapters / chapter.name)
    src = base / "lib"
    shutil.copytree(ROOT / "lib", src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    _run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(base / "dist"), str(src)])
    (wheel,) = (base / "dist").glob("widthlimits-*.whl")
    start = time.perf_counter()
    exe = _python()
    _run([exe, "-m", "venv", str(base / "env")])
    python = base / "env" / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", *[f"{k}=={v}" for k, v in COLAB.items()]])
    env_seconds = time.perf_counter() - start
    before = _freeze(python)
    # The setup cell itself (a chapter's first cell), run in a kernel of that environment, from outside the repo.
    work = base / "work"
    work.mkdir()
    (work / "run.py").write_text(RUNNER)
    setup = nbformat.read(CHAPTERS[0], as_version=4)
    setup.cells = setup.cells[:1]
    nbformat.write(setup, work / "setup.ipynb")
    _run([str(python), str(work / "run.py"), str(work / "setup.ipynb"), str(work)], cwd=work,
         env=_kernel_env(work, WIDTHLIMITS_INSTALL=str(wheel)))
    return {"python": python, "work": work, "chapters": chapters, "before": before, "after": _freeze(python),
            "env_seconds": env_seconds, "seconds": {}, "interpreter": _run([str(python), "--version"]).stdout.strip()}


def test_setup_cell_adds_the_library_and_changes_no_preinstalled_package(colab):
    before, after = colab["before"], colab["after"]
    assert {k: v for k, v in COLAB.items() if before.get(k) != v} == {}, "the environment is not Colab-like"
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert changed == {}, f"the setup cell changed preinstalled packages: {changed}"
    assert set(after) - set(before) == {"widthlimits"}


def test_explorer_live_works_with_colabs_ipywidgets(colab):
    code = (
        "import ipywidgets, widthlimits.widgets as w\n"
        "ex = w.Explorer(lambda fig, a: fig.add_subplot().plot([0, a]), {'a': (1.0, 2.0)}, defaults={'a': 1.0})\n"
        "box = ex.live(); controls, image, status = box.children\n"
        "first = image.value; controls.children[0].value = 2.0\n"
        "assert image.value != first and 'ms' in status.value\n"
        "print(ipywidgets.__version__)"
    )
    out = _run([str(colab["python"]), "-c", code], cwd=colab["work"], env=_kernel_env(colab["work"]))
    assert out.stdout.strip() == COLAB["ipywidgets"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_in_the_colab_like_environment(colab, chapter):
    nb = colab["work"] / chapter.name
    shutil.copy(colab["chapters"] / chapter.name, nb)  # outside the repository: no relative file access works
    out = _run([str(colab["python"]), str(colab["work"] / "run.py"), str(nb), str(colab["work"])],
               cwd=colab["work"], env=_kernel_env(colab["work"]))
    colab["seconds"][chapter.stem] = float(out.stdout.split()[-2])
    report = os.environ.get("WIDTHLIMITS_COLAB_REPORT")
    if report:
        Path(report).mkdir(parents=True, exist_ok=True)
        summary = {"interpreter": colab["interpreter"], "env_seconds": colab["env_seconds"],
                   "versions": {k: colab["after"][k] for k in sorted(COLAB)}, "chapter_seconds": colab["seconds"]}
        (Path(report) / "colab.json").write_text(json.dumps(summary, indent=1))
