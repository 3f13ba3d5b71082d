"""The scripted demo agent: edits files deterministically from instructions in its prompt.

It stands in for an LLM in the demo and the tests.  Each line of the prompt
that starts with a verb is one step; every other line is prose and ignored:

    write PATH: TEXT          create or overwrite PATH with TEXT and a newline
    append PATH: TEXT         add a line to PATH
    replace PATH: OLD => NEW  replace the first OLD in PATH with NEW
    delete PATH               remove PATH
    say TEXT                  print TEXT
    sleep SECONDS             wait (fractions allowed)
    wait-for PATH             wait until PATH exists (absolute, or in the workspace)
    spawn-sleeper SECONDS PIDFILE   leave a background process behind, its pid in PIDFILE
    exit CODE                 stop here with that exit status

``\\n`` in TEXT is a newline.  Paths are relative to the workspace and must
stay inside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


class ScriptError(Exception):
    pass


def steps(prompt: str) -> list[tuple[str, str]]:
    verbs = ("write", "append", "replace", "delete", "say", "sleep", "wait-for", "spawn-sleeper", "exit")
    found = []
    for line in prompt.splitlines():
        head, _, rest = line.strip().partition(" ")
        if head.lower() in verbs:
            found.append((head.lower(), rest.strip()))
    return found


def _inside(workspace: Path, relative: str) -> Path:
    path = (workspace / relative.strip()).resolve()
    if workspace.resolve() not in (path, *path.parents):
        raise ScriptError(f"{relative!r} is outside the workspace")
    return path


def run(prompt: str, workspace: Path) -> int:
    for verb, rest in steps(prompt):
        if verb in ("write", "append", "replace"):
            target, _, text = rest.partition(":")
            path = _inside(workspace, target)
            text = text.strip().replace("\\n", "\n")
            path.parent.mkdir(parents=True, exist_ok=True)
            if verb == "write":
                path.write_text(text + "\n")
            elif verb == "append":
                with path.open("a") as handle:
                    handle.write(text + "\n")
            else:
                old, _, new = text.partition("=>")
                content = path.read_text()
                if old.strip() not in content:
                    raise ScriptError(f"{target.strip()}: {old.strip()!r} not found")
                path.write_text(content.replace(old.strip(), new.strip(), 1))
            print(f"demo-agent: {verb} {target.strip()}", flush=True)
        elif verb == "delete":
            _inside(workspace, rest).unlink()
            print(f"demo-agent: delete {rest}", flush=True)
        elif verb == "say":
            print(rest, flush=True)
        elif verb == "sleep":
            time.sleep(float(rest))
        elif verb == "wait-for":
            path = Path(rest) if os.path.isabs(rest) else workspace / rest
            while not path.exists():
                time.sleep(0.02)
        elif verb == "spawn-sleeper":
            seconds, _, pidfile = rest.partition(" ")
            child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({float(seconds)})"], start_new_session=True)
            Path(pidfile.strip()).write_text(str(child.pid))
        elif verb == "exit":
            return int(rest or 0)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        prompt = Path(args[0]).read_text()
    else:
        prompt = sys.stdin.read()
    try:
        return run(prompt, Path.cwd())
    except (ScriptError, OSError, ValueError) as error:
        print(f"demo-agent: {error}", file=sys.stderr, flush=True)
        return 3
