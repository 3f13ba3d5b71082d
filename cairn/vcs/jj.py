"""The one place Cairn runs jj (Jujutsu).

Every call is checked, runs in a given directory (which picks the workspace:
``@`` means that workspace's working-copy commit), and never waits for a
human: no pager, no colour, an editor that fails instead of opening, and a
user identity when the user has none.  Output is read only through ``-T``
templates (``json(...)`` where a value may hold any text), never by parsing
jj's human-readable messages, which change between releases.  On failure
``JjError`` carries the command line and jj's own ``Error:`` line.

``--ignore-working-copy`` (``quiet_wc=True``) is for calls that must neither
snapshot nor touch a workspace's files: reading, and rewriting commits that
are no workspace's working copy.  jj 0.42 spellings: ``rebase -o/--onto``
(``-d`` is a deprecated alias), ``squash --from/--into``, ``op revert``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from cairn.errors import OperationFailed

#: Before any subcommand: nothing may page, colour, or open an editor.
_GLOBAL = ("--no-pager", "--color=never", "--config", 'ui.editor="false"', "--config", 'ui.paginate="never"')
#: Used only when the user has no jj identity configured at all.
_FALLBACK_IDENTITY = ("--config", 'user.name="Cairn"', "--config", 'user.email="cairn@localhost"')

#: Asked once per process: the identity lives in the user's (or the repository's) config.
_identity_known: list[tuple[str, ...]] = []


class JjError(OperationFailed):
    def __init__(self, args: list[str], cwd: Path, returncode: int, stderr: str) -> None:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("Error:")]
        shown = (errors or lines or [f"exit status {returncode}"])[-1].removeprefix("Error:").strip()
        super().__init__(f"jj {' '.join(map(_shown_arg, args))} failed in {cwd}: {shown}")
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr

    @property
    def stale(self) -> bool:
        """The workspace was rewritten from elsewhere and needs ``jj workspace update-stale``."""
        return "working copy is stale" in self.stderr


def _shown_arg(arg: str) -> str:
    """Arguments as the one-line error shows them: a message or a long revset elided."""
    return "…" if "\n" in arg or len(arg) > 80 else arg


def jj(
    cwd: Path | str,
    *args: str,
    quiet_wc: bool = False,
    config: dict[str, str] | None = None,
    strip: bool = True,
) -> str:
    """Run jj in ``cwd``; its stdout (stripped unless told otherwise).

    ``config``: extra ``--config NAME=VALUE`` pairs, VALUE already in TOML.
    """
    argv = ["jj", *_GLOBAL, *_identity(Path(cwd))]
    if quiet_wc:
        argv.append("--ignore-working-copy")
    for name, value in (config or {}).items():
        argv += ["--config", f"{name}={value}"]
    argv += args
    for attempt in (1, 2):
        try:
            completed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=_env(), stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise OperationFailed("jj is not installed or not on PATH", hint="install Jujutsu (https://jj-vcs.github.io), or set vcs = \"git\"") from None
        # Redoing a rewrite that was just undone, within the same second, makes
        # the very commit that exists hidden (git timestamps have whole
        # seconds); jj refuses without changing anything.  A second later the
        # commit differs.
        if attempt == 1 and completed.returncode != 0 and "already exists" in completed.stderr and "Newly-created commit" in completed.stderr:
            time.sleep(1.0)
            continue
        break
    if completed.returncode != 0:
        raise JjError(list(args), Path(cwd), completed.returncode, completed.stderr)
    return completed.stdout.strip() if strip else completed.stdout


def records(cwd: Path | str, revset: str, fields: dict[str, str], *, quiet_wc: bool = True) -> list[dict[str, Any]]:
    """One dict per commit in ``revset``: ``fields`` maps a key to a template
    expression, each serialised with ``json()`` so any text survives."""
    out = jj(cwd, "log", "--no-graph", "-r", revset, "-T", _object_template(fields), quiet_wc=quiet_wc)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _object_template(fields: dict[str, str]) -> str:
    """A template printing one JSON object per commit: ``{"key": json(expr), ...}``."""
    pieces = []
    for index, (key, expression) in enumerate(fields.items()):
        prefix = "{" if index == 0 else ","
        pieces.append(f"{json.dumps(prefix + json.dumps(key) + ':')} ++ json({expression})")
    return " ++ ".join(pieces) + ' ++ "}\\n"'


def current_operation(cwd: Path | str, *, snapshot: bool) -> str:
    """The id of the repository's newest operation.  ``snapshot``: take the
    workspace's pending edits into its working-copy commit first, so that
    restoring this operation later gives them back."""
    return jj(cwd, "op", "log", "--no-graph", "-n", "1", "-T", "id", quiet_wc=not snapshot)


def _identity(cwd: Path) -> tuple[str, ...]:
    """Nothing when the user has a jj identity; Cairn's own otherwise."""
    if not _identity_known:
        completed = subprocess.run(
            ["jj", "--no-pager", "--color=never", "--ignore-working-copy", "config", "get", "user.email"],
            cwd=cwd, capture_output=True, text=True, env=_env(), stdin=subprocess.DEVNULL,
        )
        known = completed.returncode == 0 and completed.stdout.strip() != ""
        _identity_known.append(() if known else _FALLBACK_IDENTITY)
    return _identity_known[0]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # An editor or pager named in the environment must not be started either.
    env.pop("JJ_EDITOR", None)
    env["PAGER"] = "cat"
    return env


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes are valid TOML ones)."""
    return json.dumps(text)


def is_jj_repository(root: Path) -> bool:
    return (root / ".jj").is_dir()


def operations(cwd: Path | str, limit: int = 20) -> list[dict[str, Any]]:
    """The newest operations first: ``id`` and ``description``."""
    template = _object_template({"id": "id", "description": "description"})
    out = jj(cwd, "op", "log", "--no-graph", "-n", str(limit), "-T", template, quiet_wc=True)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def operation_mentioning(cwd: Path | str, text: str, limit: int = 20) -> str | None:
    """The newest recent operation whose description contains ``text`` (a
    full commit id): how Cairn finds the operation its own command made even
    when another process wrote one meanwhile."""
    for operation in operations(cwd, limit):
        if text in operation["description"]:
            return str(operation["id"])
    return None


def evolution(cwd: Path | str, revset: str) -> list[dict[str, Any]]:
    """Every version in the history of the commits in ``revset``: ``commit``
    and its ``predecessors`` (commit ids); a squash lists both sides."""
    template = _object_template({"commit": "commit.commit_id()", "predecessors": "predecessors.map(|c| c.commit_id())"})
    out = jj(cwd, "evolog", "--no-graph", "-r", revset, "-T", template, quiet_wc=True)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def workspace_roots(cwd: Path | str) -> dict[str, str]:
    """Every workspace of the repository: its name -> the directory jj recorded for it."""
    template = _object_template({"name": "name", "root": "self.root()"})
    out = jj(cwd, "workspace", "list", "-T", template, quiet_wc=True)
    return {item["name"]: item["root"] for item in map(json.loads, filter(str.strip, out.splitlines()))}


def local_bookmarks(cwd: Path | str, pattern: str) -> dict[str, list[str]]:
    """Local bookmarks matching ``pattern`` (``glob:cairn/archive/*``) -> the
    commits each points at (two or more while it is conflicted)."""
    template = _object_template({"name": "name", "commits": "added_targets.map(|c| c.commit_id())"})
    out = jj(cwd, "bookmark", "list", "-T", f"if(!remote, {template})", pattern, quiet_wc=True)
    return {item["name"]: item["commits"] for item in map(json.loads, filter(str.strip, out.splitlines()))}
