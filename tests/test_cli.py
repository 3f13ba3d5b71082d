"""The command line itself: ``cairn <verb>`` and ``cairn-<verb>`` alike, help,
version, unknown verbs, and running from a plain checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cairn import __version__
from cairn.cmd.main import VERBS
from conftest import BIN, REPO, Result, run_task

pytestmark = pytest.mark.usefixtures("warm_config")

FOUNDATION_VERBS = ("init", "queue", "status", "cancel")


def run(command: list[str], cwd: Path, **extra_env: str) -> Result:
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **extra_env}, timeout=60
    )
    return Result(command, completed.returncode, completed.stdout, completed.stderr)


def test_help_lists_the_verbs(cairn) -> None:
    result = cairn("--help")

    assert result.returncode == 0
    assert result.stdout.startswith("usage: cairn <verb>")
    verbs = [line.split(None, 1) for line in result.stdout.splitlines() if line.startswith("  ")]
    assert set(FOUNDATION_VERBS) <= {verb for verb, _ in verbs}
    assert all(len(text) > 10 for _, text in verbs)  # each with its line of help
    assert cairn("help").stdout == result.stdout


def test_no_verb_prints_usage_and_exits_2(cairn) -> None:
    result = cairn()

    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage: cairn <verb>" in result.stderr


@pytest.mark.parametrize(("typed", "meant"), [("stauts", "status"), ("queu", "queue"), ("cancle", "cancel")])
def test_a_mistyped_verb_exits_2_with_a_suggestion(cairn, typed: str, meant: str) -> None:
    result = cairn(typed, "1")

    assert result.returncode == 2
    assert f"'{typed}' is not a cairn verb" in result.stderr
    assert f"did you mean `cairn {meant}`?" in result.stderr


def test_an_unknown_verb_points_at_help(cairn) -> None:
    result = cairn("frobnicate")

    assert result.returncode == 2
    assert "`cairn --help` lists the verbs" in result.stderr


def test_a_cairn_dash_verb_on_path_becomes_a_verb(cairn, tmp_path: Path) -> None:
    extra = tmp_path / "extra-bin"
    extra.mkdir()
    script = extra / "cairn-hello"
    script.write_text('#!/bin/sh\nprintf "hello %s|" "$@"\nexit 7\n')
    script.chmod(0o755)

    result = cairn("hello", "a b", "c", extra_env={"PATH": f"{extra}{os.pathsep}{os.environ['PATH']}"})

    assert result.returncode == 7
    assert result.stdout == "hello a b|hello c|"


@pytest.mark.parametrize("flag", ["--version", "-V", "version"])
def test_version(cairn, flag: str) -> None:
    result = cairn(flag)

    assert result.returncode == 0
    assert result.stdout == f"cairn {__version__}\n"


@pytest.mark.parametrize("verb", FOUNDATION_VERBS)
def test_every_verb_has_help(cairn, verb: str) -> None:
    result = cairn(verb, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith(f"Usage: cairn {verb}")
    assert "--json" in result.stdout


def test_an_unknown_option_exits_2_and_points_at_help(cairn) -> None:
    result = cairn("status", "--colour")

    assert result.returncode == 2
    assert "No such option '--colour'" in result.stderr
    assert "`cairn status --help`" in result.stderr


def test_cairn_dash_queue_and_cairn_queue_behave_the_same(cairn, repo: Path, home: Path) -> None:
    dashed = lambda *args: run([str(BIN / "cairn-queue"), *args], repo)  # noqa: E731

    spaced_ok, dashed_ok = cairn("queue", "same\nprompt", "-p", "high"), dashed("same\nprompt", "-p", "high")

    assert (spaced_ok.returncode, spaced_ok.stdout, dashed_ok.returncode, dashed_ok.stdout) == (0, "1\n", 0, "2\n")
    one, two = (json.loads((home / "tasks" / n / "task.json").read_text()) for n in ("1", "2"))
    for record in (one, two):
        del record["id"], record["created"]
    assert one == two
    for args in (["-a", "nope", "x"], [], ["--after", "9", "x"], ["--bogus"]):
        spaced, dashed_result = cairn("queue", *args), dashed(*args)
        assert spaced.returncode == dashed_result.returncode != 0
        assert spaced.stderr == dashed_result.stderr.replace("cairn-queue", "cairn queue")


def test_the_installed_entrypoints_run_each_verb(cairn, repo: Path) -> None:
    assert run([str(BIN / "cairn-init")], repo).returncode == 0
    assert run([str(BIN / "cairn-queue"), "from cairn-queue"], repo).stdout == "1\n"
    assert "from cairn-queue" in run([str(BIN / "cairn-status")], repo).stdout
    assert run([str(BIN / "cairn-cancel"), "1"], repo).returncode == 0
    assert run([str(BIN / "cairn-status"), "1", "--json"], repo).json()["state"] == "cancelled"


def test_bin_cairn_runs_from_the_checkout(cairn, repo: Path, home: Path) -> None:
    checkout = REPO / "bin"

    version = run([str(checkout / "cairn"), "--version"], repo)
    queued = run([str(checkout / "cairn"), "queue", "from the checkout"], repo)
    listed = run([str(checkout / "cairn-status"), "--json"], repo)
    dashed = run([str(checkout / "cairn-queue"), "--json", "second"], repo)

    assert version.stdout == f"cairn {__version__}\n"
    assert queued.stdout == "1\n"
    assert [t["title"] for t in listed.json()] == ["from the checkout"]
    assert dashed.json()["id"] == 2
    assert (home / "tasks" / "2").is_dir()


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_has_its_cairn_dash_verb_in_the_checkout(verb: str, repo: Path) -> None:
    result = run([str(REPO / "bin" / f"cairn-{verb}"), "--help"], repo)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: ")


def test_status_with_a_warm_cache_does_not_import_pydantic(cairn) -> None:
    cairn("queue", "warm the caches")
    cairn("status")

    result = cairn("status", extra_env={"PYTHONPROFILEIMPORTTIME": "1"})

    assert result.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "cairn.config.load" in imported  # the trace works
    assert not any(name.split(".")[0] == "pydantic" for name in imported)


#: What the hot verbs must not import: each costs a sizeable part of the interpreter's own start.
HEAVY = {"click", "pydantic", "inspect", "dataclasses", "typing", "datetime", "uuid", "asyncio", "subprocess"}


def imported_by(result) -> set[str]:
    """The modules a command imported itself: those listed after the interpreter's start (``site``,
    which also runs an editable install's import hook)."""
    names = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "cairn.cmd._args" in names  # the trace works
    return set(names[names.index("site") + 1:])


def test_status_with_warm_caches_imports_nothing_heavy(cairn, home: Path) -> None:
    for n in range(3):
        cairn("queue", f"task {n}")
    cairn("status")

    result = cairn("status", extra_env={"PYTHONPROFILEIMPORTTIME": "1"})

    assert result.returncode == 0
    assert not {name.split(".")[0] for name in imported_by(result)} & HEAVY
    # Each state written by a Cairn command was noted for the next scan: nothing is decoded.
    assert "cairn.core.model" not in imported_by(result)


#: What opening and landing a proposal must not import: the record machinery of ``dataclasses`` and
#: gc's facts (``cairn.core.gc``), beside the heavy modules; ``cairn diff`` not even the configuration's schema.
LANDING_HEAVY = {"pydantic", "click", "inspect", "dataclasses", "asyncio", "uuid", "cairn.core.gc", "cairn.backends.git.gc"}


def _heavy_in(imported: set[str], heavy: set[str]) -> set[str]:
    return {name for name in imported if name in heavy or name.split(".")[0] in heavy}


def test_queue_imports_nothing_heavy_but_typing(cairn) -> None:
    cairn("queue", "warm the caches")

    result = cairn("queue", "one more", extra_env={"PYTHONPROFILEIMPORTTIME": "1"})

    assert result.returncode == 0
    assert "cairn.core.model" in imported_by(result)  # it builds the records, with typing's Literal and Union
    assert not _heavy_in(imported_by(result), HEAVY - {"typing"})


def test_diff_accept_and_reject_import_nothing_heavy(cairn) -> None:
    first, second, third = (run_task(cairn, f"write file{n}.txt: work {n}") for n in range(3))
    cairn("status")
    trace = {"PYTHONPROFILEIMPORTTIME": "1"}

    diff = cairn("diff", str(first), extra_env=trace)
    accept = cairn("accept", str(second), extra_env=trace)
    reject = cairn("reject", str(third), extra_env=trace)

    assert (diff.returncode, accept.returncode, reject.returncode) == (0, 0, 0), accept.stderr + reject.stderr
    assert "diff --git" in diff.stdout
    # Neither opening nor discarding a proposal makes a workspace: not the pool, copying or child processes.
    making = {"cairn.backends.git.pool", "cairn.agents.children", "shutil", "glob"}
    assert not _heavy_in(imported_by(diff), LANDING_HEAVY | making | {"cairn.config.schema", "cairn.backends.git.landing"})
    assert not _heavy_in(imported_by(accept), LANDING_HEAVY)
    assert not _heavy_in(imported_by(reject), LANDING_HEAVY | making | {"cairn.backends.git.landing"})


def test_the_standby_loads_what_a_local_run_needs_and_no_more(repo: Path) -> None:
    """Every runner is forked from it and starts with its pages: the cluster
    executors, OpenSSL and dataclasses would add 5 MB to each."""
    # What the preload imported, not what the interpreter had (coverage's subprocess hook loads some at start).
    probe = ("import sys\nbefore = set(sys.modules)\nfrom cairn.engine.runner import _preload\n_preload()\n"
             "print(' '.join(sorted(set(sys.modules) - before)))")
    result = run([sys.executable, "-c", probe], repo)

    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert {"cairn.engine.finish", "cairn.backends.git.pool", "cairn.agents.launch", "cairn.backends.jj"} <= loaded
    assert not loaded & {"cairn.engine.remote", "cairn.executors.shipping", "hashlib", "dataclasses", "inspect"}


def test_the_command_layer_imports_nothing_heavy(cairn) -> None:
    result = cairn("status", "--help", extra_env={"PYTHONPROFILEIMPORTTIME": "1"})

    assert result.returncode == 0 and result.stdout.startswith("Usage: cairn status")
    assert not {name.split(".")[0] for name in imported_by(result)} & (HEAVY | {"json", "pathlib", "re"})


def test_output_to_a_closed_pipe_is_not_an_error(cairn, repo: Path) -> None:
    for n in range(3):
        cairn("queue", f"task {n}")

    completed = subprocess.run(
        f"'{BIN / 'cairn'}' status | head -c 1", shell=True, cwd=repo, capture_output=True, text=True, timeout=60
    )

    assert completed.returncode == 0
    assert "Traceback" not in completed.stderr and "internal error" not in completed.stderr
