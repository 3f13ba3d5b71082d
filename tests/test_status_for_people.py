"""`cairn status` for people: --since, --state with several states, --sort,
and --short, the one-line summary for shell prompts and tmux — the snippet
docs/cli.md shows is run as tmux would run it."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

from conftest import REPO, run_task


@pytest.fixture
def crew(cairn, add_task, store, set_running):
    """1 low queued (changed 3h ago), 2 urgent queued, 3 running, 4 high review, 5 normal failed."""
    from cairn.core.model import Queued

    ids = [add_task("old and low", priority="low"), add_task("urgent one", priority="urgent"), add_task("runs")]
    store.write_state(1, Queued(since=time.time() - 3 * 3600))
    set_running(3)
    ids.append(run_task(cairn, "write r.txt: r", "--priority", "high"))
    ids.append(run_task(cairn, "write f.txt: f\nexit 1", must_reach_review=False))
    assert ids == [1, 2, 3, 4, 5]
    return ids


def ids_of(result) -> list[int]:
    assert result.returncode == 0, result.stderr
    return [int(line.split()[0]) for line in result.stdout.splitlines()[1:]]


def test_several_states_at_once_comma_or_repeated(cairn, crew):
    assert ids_of(cairn("status", "--state", "review,failed")) == [4, 5]
    assert ids_of(cairn("status", "--state", "review", "--state", "queued")) == [1, 2, 4]
    bad = cairn("status", "--state", "review,done")
    assert bad.returncode == 2 and "'done' is not one of" in bad.stderr


def test_since_keeps_what_changed_recently(cairn, crew):
    assert ids_of(cairn("status", "--since", "1h")) == [2, 3, 4, 5]
    assert ids_of(cairn("status", "--since", "4h")) == [1, 2, 3, 4, 5]
    assert [t["id"] for t in cairn("status", "--since", "1h", "--state", "queued", "--json").json()] == [2]
    bad = cairn("status", "--since", "soon")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_sorting(cairn, crew):
    assert ids_of(cairn("status", "--sort", "priority")) == [2, 4, 3, 5, 1]
    assert ids_of(cairn("status", "--sort", "state")) == [1, 2, 3, 4, 5]
    assert ids_of(cairn("status", "--sort", "updated"))[0] == 1, "the least recent change first"
    assert [t["id"] for t in cairn("status", "--sort", "priority", "--json").json()] == [2, 4, 3, 5, 1]


def test_short_is_one_line_of_counts(cairn, crew):
    short = cairn("status", "--short")
    assert short.returncode == 0 and short.stdout == "1 running, 1 review, 2 queued, 1 failed\n"
    assert cairn("status", "--short", "--since", "1h").stdout == "1 running, 1 review, 1 queued, 1 failed\n"
    assert cairn("status", "--short", "--json").json() == {"format": 1, "counts": {"running": 1, "review": 1, "queued": 2, "failed": 1}, "total": 5}


def test_short_with_no_tasks(cairn, repo):
    assert cairn("status", "--short").stdout == "no tasks\n"


def tmux_snippet() -> str:
    doc = (REPO / "docs" / "cli.md").read_text()
    found = re.search(r"^    set -g status-right '(.*)'$", doc, re.M)
    assert found, "docs/cli.md shows the status-right line"
    return found.group(1)


def test_the_documented_tmux_status_right_shows_the_counts(cairn, crew, repo, tmp_path, tmux_server):
    snippet = tmux_snippet()
    # tmux takes the line as written ...
    assert subprocess.run(["tmux", "new-session", "-d", "-s", "bar", "-c", str(repo)], capture_output=True).returncode == 0
    assert subprocess.run(["tmux", "set", "-g", "status-right", snippet], capture_output=True).returncode == 0
    shown = subprocess.run(["tmux", "show", "-gv", "status-right"], capture_output=True, text=True)
    assert shown.stdout.strip() == snippet
    # ... and runs the command in #(…) with the pane's directory filled in, from a directory of its own.
    job = re.fullmatch(r"#\((.*)\)", snippet).group(1).replace("#{pane_current_path}", str(repo))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ran = subprocess.run(["sh", "-c", job], cwd=elsewhere, capture_output=True, text=True)
    assert ran.stdout == "1 running, 1 review, 2 queued, 1 failed\n"
    assert shutil.which("tmux")
