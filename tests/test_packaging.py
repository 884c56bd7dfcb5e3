"""The wheel carries the whole package and the shipped presets (an installed clipagent needs both)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_has_every_module_and_preset(tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for name in ("clipagent", "presets"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    if build.returncode != 0 and "No module named pip" in build.stderr:
        pytest.skip("pip is not installed in this environment")
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("clipagent-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "clipagent").rglob("*.py")}
    presets = {"clipagent/_presets/" + p.relative_to(REPO / "presets").as_posix() for p in (REPO / "presets").rglob("*.yaml")}
    assert modules - names == set()
    assert presets - names == set()


def test_shipped_presets_are_found_in_a_checkout():
    from clipagent import presets

    assert presets.SHIPPED == REPO / "presets"
    assert "youtube" in presets.list_presets("platform")
