"""The state directory: where it is, what ``cairn init`` puts in it, and which
ones Cairn refuses to touch."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path

import pytest

from conftest import events, git

pytestmark = pytest.mark.usefixtures("warm_config")

SUBDIRECTORIES = ("tasks", "locks", "signals", "workspaces", "tmp", "cache")


def test_init_creates_the_documented_layout(cairn, repo: Path, home: Path) -> None:
    result = cairn("init")

    assert result.returncode == 0, result.stderr
    assert str(home) in result.stdout and "created" in result.stdout
    meta = json.loads((home / "meta.json").read_text())
    assert meta["format"] == 2
    assert meta["kind"] == "cairn-state"
    assert Path(meta["repo"]).resolve() == repo.resolve()
    datetime.fromisoformat(meta["created"].replace("Z", "+00:00"))
    for name in SUBDIRECTORIES:
        assert (home / name).is_dir(), name
    assert "*" in (home / ".gitignore").read_text().splitlines()


def test_init_makes_the_state_directory_private(cairn, home: Path) -> None:
    cairn("init")

    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_init_twice_changes_nothing(cairn, home: Path) -> None:
    first = cairn("init", "--json")
    meta = (home / "meta.json").read_bytes()
    cairn("queue", "keep me")

    second = cairn("init", "--json")

    assert first.json()["created"] is True
    assert second.returncode == 0
    assert second.json()["created"] is False
    assert (home / "meta.json").read_bytes() == meta
    assert (home / "tasks" / "1" / "task.json").exists()
    assert [e["event"] for e in events(home)] == ["init", "queued"]
    assert "already initialised" in cairn("init").stdout


def test_the_first_queue_creates_the_state_directory(cairn, home: Path) -> None:
    assert not home.exists()

    cairn("queue", "first task")

    assert json.loads((home / "meta.json").read_text())["format"] == 2
    assert all((home / name).is_dir() for name in SUBDIRECTORIES)


def test_git_does_not_see_the_state_directory(cairn, repo: Path) -> None:
    cairn("queue", "Add type hints\nacross the module")
    cairn("queue", "Second task", "--lock", "src/**")
    cairn("cancel", "2")

    assert git(repo, "status", "--porcelain") == ""


def test_cairn_home_puts_the_state_directory_elsewhere(cairn, repo: Path, home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "state" / "cairn"

    result = cairn("queue", "somewhere else", extra_env={"CAIRN_HOME": str(elsewhere)})

    assert result.returncode == 0, result.stderr
    assert (elsewhere / "tasks" / "1" / "task.json").exists()
    assert not home.exists()
    meta = json.loads((elsewhere / "meta.json").read_text())
    assert Path(meta["repo"]).resolve() == repo.resolve()


def test_cairn_home_works_from_outside_the_repository(cairn, tmp_path: Path) -> None:
    elsewhere = tmp_path / "state"
    cairn("queue", "queued from the repo", extra_env={"CAIRN_HOME": str(elsewhere)})
    outside = tmp_path / "outside"
    outside.mkdir()

    result = cairn("status", "--json", cwd=outside, extra_env={"CAIRN_HOME": str(elsewhere)})

    assert result.returncode == 0, result.stderr
    assert [t["title"] for t in result.json()] == ["queued from the repo"]


def test_home_in_cairn_toml_moves_the_state_directory(cairn, repo: Path, home: Path) -> None:
    (repo / "cairn.toml").write_text('home = "var/cairn-state"\n')
    git(repo, "add", "cairn.toml")
    git(repo, "commit", "-q", "-m", "configure cairn")

    cairn("queue", "configured home")

    assert (repo / "var" / "cairn-state" / "tasks" / "1" / "task.json").exists()
    assert not home.exists()
    assert git(repo, "status", "--porcelain") == ""


def test_cairn_home_wins_over_home_in_cairn_toml(cairn, repo: Path, tmp_path: Path) -> None:
    (repo / "cairn.toml").write_text('home = "var/cairn-state"\n')
    elsewhere = tmp_path / "env-home"

    cairn("queue", "where?", extra_env={"CAIRN_HOME": str(elsewhere)})

    assert (elsewhere / "tasks" / "1").is_dir()
    assert not (repo / "var").exists()


def test_a_state_directory_of_another_format_is_refused(cairn, home: Path) -> None:
    home.mkdir()
    (home / "meta.json").write_text(json.dumps({"format": 99, "kind": "cairn-state"}))

    for args in (("status",), ("queue", "do it"), ("init",)):
        result = cairn(*args)
        assert result.returncode == 1, args
        first = result.stderr.splitlines()[0]
        assert str(home) in first and "format 99" in first and "formats 1, 2" in first, first
        assert "Traceback" not in result.stderr
    # Refused before anything was written into it.
    assert sorted(p.name for p in home.iterdir()) == ["meta.json"]


def test_a_state_directory_with_an_unreadable_header_is_refused(cairn, home: Path) -> None:
    home.mkdir()
    (home / "meta.json").write_text("{ this is not json")

    result = cairn("status")

    assert result.returncode == 2
    assert str(home / "meta.json") in result.stderr
    assert "not a Cairn state-directory header" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_outside_a_repository_without_cairn_home_is_refused(cairn, tmp_path: Path) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()

    result = cairn("init", cwd=outside)

    assert result.returncode == 2
    assert "not inside a git or jj repository" in result.stderr
    assert list(outside.iterdir()) == []


def test_init_outside_a_repository_with_cairn_home(cairn, tmp_path: Path) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()
    elsewhere = tmp_path / "state"

    result = cairn("init", "--json", cwd=outside, extra_env={"CAIRN_HOME": str(elsewhere)})

    assert result.returncode == 0, result.stderr
    assert result.json() == {"home": str(elsewhere), "created": True, "repo": None}
    assert json.loads((elsewhere / "meta.json").read_text())["repo"] is None


def test_the_repository_records_which_state_directory_serves_it(cairn, repo: Path, home: Path) -> None:
    cairn("init")

    assert Path((repo / ".git" / "cairn-home").read_text().strip()) == home.resolve()


def test_a_second_state_directory_on_the_same_repository_is_refused(cairn, repo: Path, home: Path, tmp_path: Path) -> None:
    assert cairn("queue", "first").returncode == 0
    second = tmp_path / "devenv-state" / "cairn"

    result = cairn("queue", "second", extra_env={"CAIRN_HOME": str(second)})

    assert result.returncode == 2
    assert str(home) in result.stderr and f"CAIRN_HOME={home}" in result.stderr
    assert not second.exists(), "nothing was written"
    assert cairn("status", "--json").json()[0]["title"] == "first"


def test_a_recorded_state_directory_that_is_gone_may_be_replaced(cairn, repo: Path, home: Path, tmp_path: Path) -> None:
    import shutil

    cairn("init")
    shutil.rmtree(home)
    second = tmp_path / "devenv-state" / "cairn"

    result = cairn("queue", "here now", extra_env={"CAIRN_HOME": str(second)})

    assert result.returncode == 0, result.stderr
    assert Path((repo / ".git" / "cairn-home").read_text().strip()) == second.resolve()


def test_an_existing_directory_that_is_not_a_state_directory_is_not_taken_over(cairn, repo: Path) -> None:
    mode = stat.S_IMODE(repo.stat().st_mode)

    for args in (("init",), ("queue", "do it")):
        result = cairn(*args, extra_env={"CAIRN_HOME": "."})
        assert result.returncode == 2, args
        assert "not a Cairn state directory" in result.stderr and "Traceback" not in result.stderr

    assert stat.S_IMODE(repo.stat().st_mode) == mode
    assert not (repo / ".gitignore").exists() and not (repo / "meta.json").exists() and not (repo / "tasks").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_a_state_directory_holding_only_its_config_is_made_whole(cairn, tmp_path: Path) -> None:
    elsewhere = tmp_path / "prepared"
    elsewhere.mkdir()
    (elsewhere / "config.toml").write_text('default_agent = "codex"\n')

    result = cairn("init", extra_env={"CAIRN_HOME": str(elsewhere)})

    assert result.returncode == 0, result.stderr
    assert (elsewhere / "meta.json").exists()


def test_a_relative_workspace_dir_is_relative_to_the_repository(cairn, repo: Path, tmp_path: Path) -> None:
    (repo / "cairn.toml").write_text('workspace_dir = "../task-workspaces"\n')
    cairn("queue", "-a", "demo", "write a.txt: a")

    spawned = cairn("spawn", "1", "--wait", cwd=repo / "src")

    assert spawned.returncode == 0, spawned.stderr
    state = json.loads((repo / ".cairn" / "tasks" / "1" / "state.json").read_text())
    assert Path(state["work"]["workspace"]) == tmp_path / "task-workspaces" / "1"
    assert (tmp_path / "task-workspaces" / "1" / "a.txt").exists()
