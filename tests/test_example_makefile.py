"""examples/makefile: Cairn driven by a Makefile with plain commands, no Nix.

Make queues each prompts/<name>.md once (again only when it changes), and the
prompt reaches Cairn byte for byte, never through a shell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A fresh make, not a sub-make of the one that may be running the suite
    # (`make test`): no inherited flags, no "Entering directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=repo, capture_output=True, text=True, env=env)


def test_make_queues_each_prompt_once(repo: Path, cairn) -> None:
    shutil.copy(REPO / "examples" / "makefile" / "Makefile", repo / "Makefile")
    (repo / "prompts").mkdir()
    prompt = "Say \"hello\" in 'README.md'; $(touch pwned) and `touch pwned` stay text\n"
    (repo / "prompts" / "hello.md").write_text(prompt)

    first = make(repo, "queue", "AGENT=demo")
    assert first.returncode == 0, first.stderr
    again = make(repo, "queue", "AGENT=demo")
    assert again.returncode == 0, again.stderr
    assert "cairn queue" not in again.stdout, "an unchanged prompt must not be queued again"

    task_id = (repo / ".queued" / "hello.id").read_text().strip()
    shown = cairn("status", "--json", task_id).json()["detail"]["task"]
    assert shown["agent"] == "demo"
    assert shown["prompt"].strip() == prompt.strip()
    assert not (repo / "pwned").exists()


def test_every_target_is_a_plain_command(repo: Path) -> None:
    shutil.copy(REPO / "examples" / "makefile" / "Makefile", repo / "Makefile")
    for target in ("run", "status", "review", "gc"):
        planned = make(repo, "-n", target)
        assert planned.returncode == 0, planned.stderr
        assert "cairn " in planned.stdout and "nix" not in planned.stdout
    planned = make(repo, "-n", "accept", "ID=7")
    assert planned.stdout.strip() == "cairn accept 7"
