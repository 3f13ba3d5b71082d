"""``cairn queue``: what a user types becomes a task exactly, and bad input is
refused with its exit code before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import events, git

pytestmark = pytest.mark.usefixtures("warm_config")

# Many lines, non-ASCII, shell metacharacters, tabs, blank lines and edge
# whitespace: none of it may be changed on the way to task.json.
PROMPT = (
    "  Refactor the parser — keep the public API stable.\n"
    "\n"
    "Steps:\n"
    "\t1. Replace `eval` with ast.literal_eval; don't touch $HOME or \"quotes\" or 'these'.\n"
    "\t2. Résumé, naïve, 日本語, emoji 🪨🪨, Ω ≠ ∞; a\\backslash; 100% sure? * ~ !\n"
    + "".join(f"line {n}: {'ü' * (n % 50)}\n" for n in range(400))
    + "   trailing spaces kept   \n\n"
)


def task_json(home: Path, task_id: int) -> dict:
    return json.loads((home / "tasks" / str(task_id) / "task.json").read_text())


def test_queue_prints_the_new_id(cairn, home: Path) -> None:
    first = cairn("queue", "Add type hints to cairn/store.py")
    second = cairn("queue", "Fix the flaky test")

    assert (first.returncode, first.stdout) == (0, "1\n")
    assert (second.returncode, second.stdout) == (0, "2\n")
    assert first.stderr == ""
    assert task_json(home, 2)["prompt"] == "Fix the flaky test"


def test_queue_json_prints_the_whole_record(cairn, home: Path) -> None:
    result = cairn("queue", "--json", "Write the docs", "--priority", "high")

    record = result.json()
    assert (record["format"], record["id"], record["state"], record["priority"]) == (1, 1, "queued", "high")
    assert record["detail"]["task"] == task_json(home, 1)
    assert record["detail"]["state"] == json.loads((home / "tasks" / "1" / "state.json").read_text())
    task, state = record["detail"]["task"], record["detail"]["state"]
    assert task["id"] == 1 and task["title"] == "Write the docs" and task["prompt"] == "Write the docs"
    assert task["priority"] == "high" and task["agent"] == "claude" and task["target"] == "main"
    assert task["format"] == 2 and task["after"] == [] and task["locks"] == []
    assert state == {"state": "queued", "format": 2, "since": task["created"]}


def test_queue_joins_prompt_words_with_spaces(cairn, home: Path) -> None:
    cairn("queue", "Fix", "the", "bug in", "src/app.py")

    assert task_json(home, 1)["prompt"] == "Fix the bug in src/app.py"


def test_a_long_multiline_prompt_round_trips_exactly_as_an_argument(cairn, home: Path) -> None:
    cairn("queue", PROMPT)

    assert task_json(home, 1)["prompt"] == PROMPT


def test_a_prompt_round_trips_exactly_from_a_file(cairn, home: Path, tmp_path: Path) -> None:
    prompt_file = tmp_path / "prompt.md"
    prompt_file.write_bytes(PROMPT.encode())

    cairn("queue", "-f", str(prompt_file))

    assert task_json(home, 1)["prompt"] == PROMPT


def test_a_prompt_file_keeps_its_line_endings(cairn, home: Path, tmp_path: Path) -> None:
    prompt_file = tmp_path / "windows.txt"
    prompt_file.write_bytes(b"first line\r\nsecond line\r\n")

    cairn("queue", "--file", str(prompt_file))

    assert task_json(home, 1)["prompt"] == "first line\r\nsecond line\r\n"
    assert task_json(home, 1)["title"] == "first line"


def test_a_prompt_round_trips_exactly_from_stdin(cairn, home: Path) -> None:
    result = cairn("queue", "-f", "-", input=PROMPT)

    assert result.returncode == 0, result.stderr
    assert task_json(home, 1)["prompt"] == PROMPT


def test_the_title_defaults_to_the_first_line(cairn, home: Path) -> None:
    cairn("queue", "\n\n   Fix   the  login\tbug  \nThe details follow here.")

    assert task_json(home, 1)["title"] == "Fix the login bug"


def test_a_long_first_line_is_shortened_for_the_title(cairn, home: Path) -> None:
    first_line = "word " * 40
    cairn("queue", first_line + "\nmore")

    title = task_json(home, 1)["title"]
    assert len(title) <= 72 and title.endswith("…")
    assert first_line.startswith(title[:-1])


def test_title_option_overrides_the_first_line(cairn, home: Path) -> None:
    cairn("queue", "A long prompt\nwith lines", "--title", "Short  name")

    assert task_json(home, 1)["title"] == "Short name"


def test_queue_records_every_option(cairn, home: Path) -> None:
    cairn("queue", "first")

    result = cairn(
        "queue", "second", "--priority", "URGENT", "--agent", "codex", "--after", "1", "--after", "#1",
        "--lock", "src/**", "--lock", "docs/*.md", "--base", "main", "--timeout", "1h30m",
    )

    assert result.returncode == 0, result.stderr
    task = task_json(home, 2)
    assert task["priority"] == "urgent"
    assert task["agent"] == "codex"
    assert task["after"] == [1]
    assert task["locks"] == ["src/**", "docs/*.md"]
    assert task["base"] == "main"
    assert task["timeout"] == 5400
    assert task["target"] == "main"


def test_queue_records_the_checked_out_branch_as_target(cairn, repo: Path, home: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature/login")
    cairn("queue", "on a branch")
    git(repo, "checkout", "-q", "--detach")
    cairn("queue", "detached")

    assert task_json(home, 1)["target"] == "feature/login"
    assert task_json(home, 2)["target"] is None


def test_queue_from_a_subdirectory_uses_the_repository_state(cairn, repo: Path, home: Path) -> None:
    result = cairn("queue", "from below", cwd=repo / "src")

    assert result.returncode == 0, result.stderr
    assert task_json(home, 1)["prompt"] == "from below"
    assert not (repo / "src" / ".cairn").exists()


def test_queue_from_a_linked_worktree_uses_the_main_state(cairn, repo: Path, home: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))

    result = cairn("queue", "from a worktree", cwd=linked)

    assert result.returncode == 0, result.stderr
    assert task_json(home, 1)["prompt"] == "from a worktree"
    assert not (linked / ".cairn").exists()


# -- bad input ------------------------------------------------------------------------

BAD_INPUT = [
    pytest.param([], 2, "the prompt is empty", id="no-prompt"),
    pytest.param(["   \n\t "], 2, "the prompt is empty", id="blank-prompt"),
    pytest.param(["-f", "{empty}"], 2, "the prompt is empty", id="empty-file"),
    pytest.param(["do it", "-f", "{prompt}"], 2, "not both", id="prompt-and-file"),
    pytest.param(["-f", "{missing}"], 2, "No such file or directory", id="missing-file"),
    pytest.param(["-f", "{binary}"], 2, "not UTF-8", id="binary-file"),
    pytest.param(["-a", "gpt-7", "do it"], 2, "unknown agent 'gpt-7'; known agents: aider, amp, claude, codex", id="unknown-agent"),
    pytest.param(["--after", "99", "do it"], 3, "no task 99", id="unknown-after"),
    pytest.param(["--after", "abc", "do it"], 2, "'abc' is not a task id", id="after-not-a-number"),
    pytest.param(["--after", "0", "do it"], 2, "not a task id", id="after-zero"),
    pytest.param(["--priority", "huge", "do it"], 2, "'huge' is not one of", id="bad-priority"),
    pytest.param(["--timeout", "5y", "do it"], 2, "cannot read '5y' as a duration", id="bad-timeout"),
    pytest.param(["--timeout", "0s", "do it"], 2, "longer than zero", id="zero-timeout"),
    pytest.param(["--base", "no-such-branch", "do it"], 2, "'no-such-branch' names no commit", id="bad-base"),
    pytest.param(["--base=--all", "do it"], 2, "is not a revision", id="base-looks-like-option"),
    pytest.param(["--lock", "/etc/**", "do it"], 2, "relative to the repository root", id="absolute-lock"),
    pytest.param(["--lock", "../elsewhere/**", "do it"], 2, "relative to the repository root", id="lock-outside"),
    pytest.param(["--lock", " ", "do it"], 2, "--lock needs a path glob", id="empty-lock"),
    pytest.param(["--title", "  ", "do it"], 2, "the title is empty", id="empty-title"),
    pytest.param(["--frobnicate", "do it"], 2, "No such option", id="unknown-option"),
    # Bytes that are not UTF-8 in argv (they reach Python as lone surrogates).
    pytest.param(["bad \udcff byte"], 2, "the prompt is not valid UTF-8", id="prompt-not-utf8"),
    pytest.param(["do it", "--title", "caf\udce9"], 2, "the title is not valid UTF-8", id="title-not-utf8"),
    pytest.param(["do it", "--lock", "src/\udce9/**"], 2, "--lock is not valid UTF-8", id="lock-not-utf8"),
]


def _fill(args: list[str], tmp_path: Path) -> list[str]:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "prompt.txt").write_text("from a file")
    (tmp_path / "binary.bin").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    names = {
        "{empty}": tmp_path / "empty.txt",
        "{prompt}": tmp_path / "prompt.txt",
        "{missing}": tmp_path / "missing.txt",
        "{binary}": tmp_path / "binary.bin",
    }
    return [str(names.get(a, a)) for a in args]


@pytest.mark.parametrize(("args", "code", "message"), BAD_INPUT)
def test_bad_input_is_refused_and_nothing_is_written(
    cairn, add_task, home: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    add_task("an existing task")
    journal_before = events(home)

    result = cairn("queue", *_fill(args, tmp_path))

    assert result.returncode == code, result.stderr
    assert message in result.stderr.splitlines()[0]
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in (home / "tasks").iterdir()) == ["1"]
    assert events(home) == journal_before
    assert (home / "next-id").read_text().strip() == "2"


@pytest.mark.parametrize(
    "args",
    [["-a", "nope", "x"], ["--after", "1", "x"], ["--base", "nope", "x"], ["--timeout", "soon", "x"], []],
    ids=["agent", "after", "base", "timeout", "empty"],
)
def test_bad_input_in_a_fresh_repository_creates_no_state_directory(cairn, home: Path, args: list[str]) -> None:
    result = cairn("queue", *args)

    assert result.returncode in (2, 3)
    assert not home.exists()


def test_queue_outside_a_repository_without_cairn_home_is_refused(cairn, tmp_path: Path) -> None:
    outside = tmp_path / "not-a-repo"
    outside.mkdir()

    result = cairn("queue", "do it", cwd=outside)

    assert result.returncode == 2
    assert f"{outside} is not inside a git or jj repository" in result.stderr
    assert "CAIRN_HOME" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(outside.iterdir()) == []


def test_queue_outside_a_repository_with_cairn_home(cairn, tmp_path: Path) -> None:
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    state = tmp_path / "state"

    result = cairn("queue", "no repository needed", cwd=outside, extra_env={"CAIRN_HOME": str(state)})

    assert result.returncode == 0, result.stderr
    task = task_json(state, 1)
    assert task["prompt"] == "no repository needed" and task["target"] is None


def test_base_needs_a_repository(cairn, tmp_path: Path) -> None:
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    state = tmp_path / "state"

    result = cairn("queue", "x", "--base", "main", cwd=outside, extra_env={"CAIRN_HOME": str(state)})

    assert result.returncode == 2
    assert "--base needs a repository" in result.stderr


def test_queue_in_a_linked_worktree_targets_the_branch_checked_out_there(cairn, repo: Path, home: Path, tmp_path: Path) -> None:
    feature = tmp_path / "feature"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(feature))
    (feature / "sub").mkdir()

    from_linked = cairn("queue", "on the feature branch", cwd=feature / "sub")
    from_main = cairn("queue", "on main")

    assert from_linked.returncode == 0, from_linked.stderr
    assert from_main.returncode == 0, from_main.stderr
    assert task_json(home, 1)["target"] == "feature"
    assert task_json(home, 2)["target"] == "main"


def test_the_executor_is_recorded_when_queued_so_a_new_default_moves_nothing(cairn, home: Path) -> None:
    assert cairn("queue", "--executor", "slurm", "on the cluster").returncode == 0
    assert cairn("queue", "here").returncode == 0
    (home / "config.toml").write_text('executor = "ray"\n')
    assert cairn("queue", "follows the new default").returncode == 0
    assert cairn("queue", "--executor", "local", "stays here").returncode == 0

    recorded = [json.loads((home / "tasks" / str(n) / "task.json").read_text()).get("executor") for n in (1, 2, 3, 4)]
    assert recorded == ["slurm", None, "ray", None]
    assert [row["executor"] for row in cairn("status", "--json").json()] == ["slurm", "local", "ray", "local"]


def test_an_unknown_executor_is_refused_before_anything_is_written(cairn, home: Path) -> None:
    result = cairn("queue", "--executor", "kubernetes", "somewhere")
    assert result.returncode == 2
    assert "kubernetes" in result.stderr and "local" in result.stderr
    assert not (home / "tasks").exists() or not list((home / "tasks").iterdir())
