"""Installs without Nix: the wheel builds from the source as `python -m build`
makes it (sdist first, the wheel from the sdist), installs into a clean
virtualenv, and what it installed works there — `cairn --version`,
`python -m cairn`, the verbs on a real repository, the man pages it carries.

The clean venv gets Cairn only from the wheel, with no index; its
dependencies (pydantic, psutil, …) are lent from this interpreter's
site-packages by a .pth file, so the test needs no network and the Nix
checks can run it.  That Cairn itself comes from the wheel, not from the
editable checkout, is asserted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from cairn.cmd.main import VERBS
from conftest import REPO, git

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("source") / "cairn"
    # A copy without the working tree's build leftovers: what a fresh clone builds.
    junk = shutil.ignore_patterns(".git", ".venv", ".tools", ".cairn", "build", "dist", "*.egg-info", "__pycache__",
                                  ".pytest_cache", ".hypothesis", "result*")
    shutil.copytree(REPO, source, ignore=junk, symlinks=True)
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1 and list(out.glob("*.tar.gz")), list(out.iterdir())
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    lent = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "zz-lent-dependencies.pth").write_text("\n".join(lent) + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps", str(wheel)],
                               capture_output=True, text=True)
    if installed.returncode != 0 and "no such option: --python" in installed.stderr:  # pip < 22.3
        installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--prefix", str(root), str(wheel)],
                                   capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    return root


def run(venv: Path, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    # Never the checkout as the current directory: `python -c` would import its cairn.
    return subprocess.run([*argv], cwd=cwd or venv, env=env, capture_output=True, text=True, timeout=120)


def test_the_wheel_carries_the_package_its_scripts_and_a_man_page_per_verb(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "cairn/__main__.py" in names and "cairn/cmd/main.py" in names
    pages = {Path(n).name for n in names if n.startswith("cairn/man/man1/")}
    assert pages == {"cairn.1", *(f"cairn-{verb}.1" for verb in VERBS)}
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert all(f"cairn-{verb} =" in entry_points for verb in VERBS)


def test_version_and_python_m_from_the_clean_venv(venv):
    located = run(venv, str(venv / "bin" / "python"), "-c", "import cairn; print(cairn.__file__)")
    assert Path(located.stdout.strip()).is_relative_to(venv), "cairn must come from the wheel, not the checkout"

    assert run(venv, "cairn", "--version").stdout == f"cairn {VERSION}\n"
    assert run(venv, str(venv / "bin" / "python"), "-m", "cairn", "--version").stdout == f"cairn {VERSION}\n"
    helped = run(venv, str(venv / "bin" / "python"), "-m", "cairn", "--help")
    assert helped.returncode == 0 and "accept" in helped.stdout


def test_the_installed_commands_work_on_a_repository(venv, repo):
    queued = run(venv, "cairn-queue", "Add a README section", cwd=repo)
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.strip() == "1"
    listed = run(venv, str(venv / "bin" / "python"), "-m", "cairn", "status", cwd=repo)
    assert listed.returncode == 0 and "Add a README section" in listed.stdout
    assert git(repo, "status", "--porcelain") == "", "the state directory stays out of git's sight"


def test_man_finds_and_renders_the_pages_it_carries(venv):
    if subprocess.run(["sh", "-c", "command -v man"], capture_output=True).returncode != 0:
        pytest.skip("man is not installed")
    located = run(venv, str(venv / "bin" / "python"), "-c", "import cairn, pathlib; print(pathlib.Path(cairn.__file__).parent / 'man')")
    manpath = located.stdout.strip()
    env = {**os.environ, "MANPATH": manpath, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "", "PAGER": "cat", "LC_ALL": "C.UTF-8"}
    shown = subprocess.run(["man", "--warnings", "cairn-accept"], env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == "", shown.stderr
    text = " ".join(shown.stdout.split())  # man justifies lines with extra spaces
    assert "cairn-accept - land a task on its target branch" in text
    assert "--squash" in text and "EXIT STATUS" in text
    overview = " ".join(subprocess.run(["man", "cairn"], env=env, capture_output=True, text=True).stdout.split())
    assert all(f"cairn {verb}" in overview for verb in VERBS)
