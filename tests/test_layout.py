"""Repository rules: one-way imports, output-free notebooks, Colab setup in sync with _config.yml, full TOC."""

import ast
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "widthlimits"
# Data flows one way: a module may import only modules listed before it.
ORDER = [
    "_validate",
    "numerics",
    "divergence",
    "profiles",
    "cifar10",
    "data",
    "scalings",
    "abc_parametrizations",
    "limit_models",
    "models",
    "kernel_dynamics",
    "kernels",
    "signal_propagation",
    "gradient_propagation",
    "losses",
    "optimizers",
    "runs",
    "engines",
    "training",
    "kernel_motion",
    "sweep_cache",
    "results_files",
    "experiments",
    "kernel_limit",
    "particle_limit",
    "limits",
    "particle_map",
    "logit_statistics",
    "limit_comparison",
    "icmf_limit",
    "catapult",
    "two_layer_linear",
    "measure",
    "width_exponents",
    "width_trends",
    "cell_limits",
    "limit_properties",
    "layer_dynamics",
    "deep_mup",
    "claims",
    "ledger",
    "ledger_sentences",
    "reporting",
    "gap_reports",
    "framework_tables",
    "plots",
    "mean_field_plots",
    "framework_plots",
    "limit_plots",
    "catapult_plots",
    "kernel_plots",
    "deep_net_plots",
    "widgets",
]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def internal_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "widthlimits":
                found |= {a.name for a in node.names}
            elif node.module.startswith("widthlimits."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("widthlimits.")}
    return found


@pytest.mark.parametrize("path", sorted(LIB.glob("*.py")), ids=lambda p: p.name)
def test_imports_flow_one_way(path):
    if path.name == "__init__.py":
        assert internal_imports(path) == set()
        return
    name = path.stem
    assert name in ORDER, f"add {name} to ORDER in tests/test_layout.py at its place in the data flow"
    later = {m for m in internal_imports(path) if ORDER.index(m) >= ORDER.index(name)}
    assert not later, f"{name} imports {sorted(later)}, which come later in the data flow {ORDER}"


@pytest.mark.parametrize("path", sorted(LIB.glob("*.py")), ids=lambda p: p.name)
def test_modules_are_short(path):
    assert len(path.read_text().splitlines()) <= 450, "split the module: one idea per module"


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_there_are_chapters():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "strip outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_have_unique_ids(path):
    # nbformat 4.5 requires them (readers warn today and will refuse later); an editor that drops them is caught here.
    nb = json.loads(path.read_text())
    ids = [cell.get("id") for cell in nb["cells"]]
    assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5) and None not in ids and len(set(ids)) == len(ids)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_installs_the_library_in_colab_from_the_configured_repository(path):
    first = json.loads(path.read_text())["cells"][0]
    source = "".join(first["source"])
    assert first["cell_type"] == "code" and "remove-cell" in first["metadata"].get("tags", [])
    assert 'find_spec("widthlimits") is None' in source
    # pinned to the book's version, overridable (tests/test_colab.py installs a freshly built wheel this way)
    import widthlimits

    assert f"git+{repository_url()}@v{widthlimits.__version__}#subdirectory=lib" in source
    assert 'os.environ.get("WIDTHLIMITS_INSTALL", spec)' in source and '%pip install -q "{spec}"' in source


def test_toc_lists_every_chapter_and_only_existing_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    for f in files:
        assert any((ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb")), f
    assert {f"book/{p.stem}" for p in NOTEBOOKS} <= set(files)


def readme_commands() -> dict[str, str]:
    """The README's numbered commands: the line after each '# N.' comment of its code block."""
    lines = (ROOT / "README.md").read_text().splitlines()
    return {l[2]: lines[i + 1] for i, l in enumerate(lines) if l[:2] == "# " and l[2:3].isdigit() and l[3:4] == "."}


def test_readme_gives_the_build_and_test_commands():
    cmds = readme_commands()
    assert cmds["1"] == "pip install -r requirements.txt && jupyter-book build . -W -n --keep-going"
    assert cmds["2"] == "pip install -r requirements.txt && python -m pytest"


def test_ci_runs_the_readme_commands_as_written():
    """.ci/run reads both commands from the README with .ci/readme-command (so they cannot drift apart) and runs
    the test command before the build command."""
    import subprocess

    out = [subprocess.run([str(ROOT / ".ci" / "readme-command"), n], capture_output=True, text=True,
                          check=True).stdout.strip() for n in ("1", "2")]
    cmds = readme_commands()
    assert out == [cmds["1"], cmds["2"]]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "build_command=$(.ci/readme-command 1)" in ci and "test_command=$(.ci/readme-command 2)" in ci
    assert ci.index('eval "$test_command"') < ci.index('eval "$build_command"')


def test_every_formula_home_exists_and_says_what_it_computes():
    import importlib

    import widthlimits

    for formula, home in widthlimits.FORMULA_HOMES.items():
        module, name = home.split(".")
        obj = getattr(importlib.import_module(f"widthlimits.{module}"), name, None)
        assert callable(obj), f"{formula!r}: {home} does not exist"
        assert obj.__doc__ and obj.__doc__.strip(), f"{formula!r}: {home} has no docstring"
