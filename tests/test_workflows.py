"""The workflows in .github/workflows: they lint clean, run the README's commands as written, and trust no cache.

Linting is offline, with three tools from PyPI: the workflow schema vendored by ``check-jsonschema``
(structure, keys, types), ``zizmor --offline`` (the expression and permission audits actionlint also makes, and
hash-pinned actions) and ``shellcheck`` on every ``run:`` block (the shell check actionlint delegates to it).
Each linter is first shown a broken workflow, so a linter that silently accepts everything fails here too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -r requirements.txt")
    return path


def load(path: Path) -> dict:
    # PyYAML reads the key "on" as True (YAML 1.1); put it back under its name.
    doc = yaml.safe_load(path.read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def schema_errors(path: Path) -> str:
    cmd = [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    return "" if out.returncode == 0 else out.stdout + out.stderr


def zizmor_findings(directory: Path) -> list[dict]:
    cmd = [tool("zizmor"), "--offline", "--format", "json", "--no-progress", str(directory)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if "failed to parse input" in out.stderr:
        raise AssertionError(f"zizmor could not parse a workflow:\n{out.stderr}")
    return json.loads(out.stdout or "[]")


def run_blocks(doc: dict) -> list[tuple[str, str]]:
    """(job/step name, script) of every ``run:`` step."""
    return [(f"{job}/{step.get('name', i)}", step["run"])
            for job, spec in doc["jobs"].items() for i, step in enumerate(spec.get("steps", [])) if "run" in step]


def shellcheck(script: str) -> str:
    # Expressions are substituted before the shell sees the script; a plain word stands in for them.
    body = "#!/usr/bin/env bash\n" + re.sub(r"\$\{\{.*?\}\}", "EXPR", script)
    out = subprocess.run([tool("shellcheck"), "-"], input=body, capture_output=True, text=True)
    return "" if out.returncode == 0 else out.stdout


BROKEN = """name: broken
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {persist-credentials: false}
      - run: echo "${{ github.event.head_commit.message }}"
"""


def test_there_are_three_workflows():
    assert {p.stem for p in WORKFLOWS} == {"tests", "book", "newest-dependencies"}


def test_the_linters_reject_a_broken_workflow(tmp_path):
    (tmp_path / "schema.yml").write_text(BROKEN + "      - bogus_key: 1\n")
    assert schema_errors(tmp_path / "schema.yml")  # a step with neither uses nor run
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "broken.yml").write_text(BROKEN)
    assert schema_errors(workflows / "broken.yml") == ""
    rules = {f["ident"] for f in zizmor_findings(workflows)}
    assert {"template-injection", "unpinned-uses"} <= rules, rules
    assert shellcheck('x=$(ls *.txt)\necho $x')  # SC2086: unquoted expansion


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_schema(path):
    assert schema_errors(path) == ""


def test_workflows_have_no_zizmor_findings():
    findings = zizmor_findings(ROOT / ".github" / "workflows")
    assert findings == [], [(f["ident"], f["locations"][0]["symbolic"]["key"]) for f in findings]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_pass_shellcheck(path):
    problems = {name: shellcheck(script) for name, script in run_blocks(load(path))}
    assert {k: v for k, v in problems.items() if v} == {}


def test_tests_workflow_runs_readme_command_2_on_oldest_and_newest_python():
    doc = load(ROOT / ".github" / "workflows" / "tests.yml")
    assert {"push", "pull_request"} <= set(doc["on"])
    job = doc["jobs"]["tests"]
    pythons = job["strategy"]["matrix"]["python-version"]
    requires = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "lib" / "pyproject.toml").read_text())[1]
    assert pythons[0] == requires and len(pythons) == 2
    assert any(s.get("with", {}).get("cache") == "pip" for s in job["steps"])
    assert any(".ci/readme-command 2" in script for _, script in run_blocks(doc))


def test_book_workflow_builds_with_readme_command_1_and_publishes_with_the_pages_actions():
    doc = load(ROOT / ".github" / "workflows" / "book.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    scripts = [script for _, script in run_blocks(doc)]
    assert any(".ci/readme-command 1" in s for s in scripts)
    uses = [s.get("uses", "").split("@")[0] for job in doc["jobs"].values() for s in job["steps"]]
    assert {"actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"} <= set(uses)
    steps = doc["jobs"]["build"]["steps"]
    uploads = {s["with"]["name"]: s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")}
    assert uploads["build-reports"]["if"] == "failure()" and "reports" in uploads["build-reports"]["with"]["path"]
    assert uploads["html-check"]["if"] == "always()"  # screenshots of every chapter's first screen
    assert any("tests/test_html.py" in s and "built_book" in s for s in scripts)
    # Execution cache: cell sources are all Jupyter Book keys on, so only an exact key (over everything that
    # affects execution) may restore it; the sweep cache checks its own entries and may fall back.
    caches = {s["with"]["path"].strip(): s["with"] for s in steps if s.get("uses", "").startswith("actions/cache")}
    execution = next(v for k, v in caches.items() if ".jupyter_cache" in k)
    assert "restore-keys" not in execution and all(p in execution["key"] for p in ("lib/**", "book/**"))


def test_newest_dependencies_workflow_is_weekly_and_unbounds_jax_optax_numpy():
    doc = load(ROOT / ".github" / "workflows" / "newest-dependencies.yml")
    assert "schedule" in doc["on"]
    scripts = "\n".join(script for _, script in run_blocks(doc))
    assert ".ci/unbound-requirements jax optax numpy" in scripts
    assert ".ci/readme-command 1" in scripts and ".ci/readme-command 2" in scripts


def test_workflows_name_no_repository_url():
    """The repository URL is set once (_config.yml); workflows use the repository they run in."""
    url = load(ROOT / "_config.yml")["repository"]["url"]
    for path in WORKFLOWS:
        assert url not in path.read_text() and "github.com/" not in path.read_text(), path.name


def test_unbound_requirements_drops_only_upper_bounds():
    import importlib.machinery
    import importlib.util

    # the script has no .py suffix (it is run as .ci/unbound-requirements), so load it by path
    loader = importlib.machinery.SourceFileLoader("unbound", str(ROOT / ".ci" / "unbound-requirements"))
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader("unbound", loader))
    loader.exec_module(mod)
    text = "jax>=0.5,<0.11  # why\noptax~=0.2.4\nnumpy==2.0\nmatplotlib>=3.8,<4\n"
    out, found = mod.unbound(text, {"jax", "optax", "numpy"})
    assert out.splitlines() == ["jax>=0.5  # why", "optax>=0.2.4", "numpy", "matplotlib>=3.8,<4"]
    assert found == {"jax", "optax", "numpy"}
