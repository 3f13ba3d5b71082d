"""``cairn demo [DIR]``: Cairn's main job, offline, in under a minute.

A throwaway repository, a crew of scripted agents (no LLM, no network), the
scheduler until idle, then review and landing — each step printed as the
command a user would type, run for real through the same commands.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cairn.cmd._cli import argument, echo, entrypoint, option, verb
from cairn.errors import OperationFailed, UsageError

_PROJECT = {
    "README.md": "# calc\n\nA tiny calculator.\n",
    "calc.py": 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n',
    "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n",
}

_TASKS = [
    (["--title", "Add multiplication", "-p", "high"],
     "Add a mul() function to calc.py.\nappend calc.py: \\n\\ndef mul(a, b):\\n    return a * b\nsleep 0.5"),
    (["--title", "Document the project", "--lock", "README.md"],
     "Describe the functions in the README.\nappend README.md: \\nFunctions: add, sub, mul.\nsleep 0.3"),
    (["--title", "Test subtraction"],
     "Add a test for sub().\nwrite test_sub.py: from calc import sub\\n\\n\\ndef test_sub():\\n    assert sub(5, 3) == 2\nsleep 0.4"),
    (["--title", "Add division", "--after", "1"],
     "Add div() on top of mul().\nappend calc.py: \\n\\ndef div(a, b):\\n    return a / b"),
]


@verb("Run Cairn's main job offline: scripted agents in a throwaway repository.")
@argument("directory", required=False, type=Path)
@option("--keep", is_flag=True, help="Keep the throwaway repository (kept anyway when DIR is given).")
def command(directory: Path | None, keep: bool) -> None:
    if shutil.which("git") is None:
        raise OperationFailed("the demo needs git on PATH")
    temporary = directory is None
    root = Path(tempfile.mkdtemp(prefix="cairn-demo-")) if directory is None else directory.resolve()
    if not temporary and root.exists() and any(root.iterdir()):
        raise UsageError(f"{root} is not empty: give a new directory, or none for a temporary one")
    try:
        _demo(root)
    finally:
        if temporary and not keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            echo(f"\nThe demo repository is kept in {root}")


def _demo(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    env = _environment(root)
    for name, text in _PROJECT.items():
        (root / name).write_text(text)
    (root / "cairn.toml").write_text(
        'default_agent = "demo"\nmax_agents = 2\ntmux = "never"\n\n'
        '[checks]\ncommands = [["python3", "-c", "import calc"]]\n'
    )
    _git(root, env, "init", "-q", "-b", "main")
    _git(root, env, "add", "-A")
    _git(root, env, "commit", "-q", "-m", "A tiny calculator")
    echo(f"A throwaway repository in {root}, with scripted agents (no LLM, no network).\n")
    for options, prompt in _TASKS:
        _cairn(root, env, "queue", *options, prompt, show=["queue", *options, "…"])
    _cairn(root, env, "status")
    _cairn(root, env, "up", "--until-idle")
    _cairn(root, env, "status")
    _cairn(root, env, "diff", "1")
    _cairn(root, env, "accept", "1")
    _cairn(root, env, "up", "--until-idle")
    _cairn(root, env, "accept", "2", "--squash")
    _cairn(root, env, "accept", "4")
    _cairn(root, env, "reject", "3", "--reason", "not needed today")
    _cairn(root, env, "status")
    echo("$ git log --oneline")
    echo(_git(root, env, "log", "--oneline"))


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    # The demo must work on a machine with no git identity.
    env.setdefault("GIT_AUTHOR_NAME", "Cairn Demo")
    env.setdefault("GIT_AUTHOR_EMAIL", "demo@cairn.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "Cairn Demo")
    env.setdefault("GIT_COMMITTER_EMAIL", "demo@cairn.invalid")
    # The scripted agent and the commands come from this installation.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, _checkout_bin(), env.get("PATH", "")])
    return env


def _checkout_bin() -> str:
    return str(Path(__file__).resolve().parents[2] / "bin")


def _git(root: Path, env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise OperationFailed(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.rstrip()


def _cairn(root: Path, env: dict[str, str], *args: str, show: list[str] | None = None) -> None:
    echo(f"$ cairn {' '.join(show or args)}")
    sys.stdout.flush()
    command = [sys.executable, "-m", "cairn", *args]
    completed = subprocess.run(command, cwd=root, env=env)
    echo()
    if completed.returncode != 0:
        raise OperationFailed(f"`cairn {' '.join(args)}` exited with status {completed.returncode}")


main = entrypoint(command, "demo")
