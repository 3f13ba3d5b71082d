"""The type checker over cairn/, strict (pyproject.toml ``[tool.mypy]``): part
of every `make test`, so `.ci/run` fails on a type error like on a failing test."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def test_cairn_passes_mypy_strict(tmp_path):
    pytest.importorskip("mypy", reason="mypy comes with the test extra: pip install -e '.[test]'")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout


def test_no_type_ignore_without_its_reason():
    """A ``# type: ignore`` stays only where a library's stubs force it, and says why."""
    unexplained = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "cairn").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "# type: ignore" in line and not line.split("# type: ignore", 1)[1].split("]", 1)[-1].strip(" #")
    ]
    assert unexplained == []
