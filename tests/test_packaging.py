"""The library is a releasable package: an sdist and a wheel that carry the data subset and the results files,
pass ``twine check``, take their version from the one place it is set, and import without the repository.

Offline: ``python -m build --no-isolation`` builds with this environment's setuptools, and the wheel is
installed with ``--no-deps`` into a folder of its own, imported from a directory outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import widthlimits

LIB = Path(__file__).resolve().parents[1] / "lib"
ASSETS = sorted(p.name for p in (LIB / "widthlimits" / "_assets").iterdir() if p.suffix in {".npz", ".json"})


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    # Build from a copy, so the test leaves no build/ or egg-info in the working tree.
    src = tmp_path_factory.mktemp("src") / "lib"
    shutil.copytree(LIB, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir",
                             str(out), str(src)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def _one(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {dist}, found {found}"
    return found[0]


def test_both_artifacts_carry_the_version_and_the_assets(dist: Path):
    wheel = _one(dist, f"widthlimits-{widthlimits.__version__}-py3-none-any.whl")
    sdist = _one(dist, f"widthlimits-{widthlimits.__version__}.tar.gz")
    in_wheel = {Path(n).name for n in zipfile.ZipFile(wheel).namelist() if "/_assets/" in n}
    with tarfile.open(sdist) as tar:
        in_sdist = {Path(n).name for n in tar.getnames() if "/_assets/" in n}
    assert ASSETS, "the package ships no assets"
    assert set(ASSETS) <= in_wheel, f"wheel lacks {set(ASSETS) - in_wheel}"
    assert set(ASSETS) <= in_sdist, f"sdist lacks {set(ASSETS) - in_sdist}"


def test_twine_check_passes(dist: Path):
    files = [str(p) for p in sorted(dist.iterdir())]
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wheel_imports_and_loads_its_data_without_the_repository(dist: Path, tmp_path: Path):
    wheel = _one(dist, "*.whl")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, text=True)
    code = ("import widthlimits, widthlimits.data as d; from pathlib import Path; "
            f"assert Path(widthlimits.__file__).is_relative_to({str(target)!r}), widthlimits.__file__; "
            "x = d.load_cifar2(); print(widthlimits.__version__, x.x_train.shape)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDTHLIMITS_")}
    env["PYTHONPATH"] = str(target)  # the wheel's copy first, ahead of the editable install
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(widthlimits.__version__)
