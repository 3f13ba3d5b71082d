"""A reviewer agent reads each proposal; with auto_retry it can send work back, a human still accepts."""

from __future__ import annotations

from conftest import events, git, state_of


def reviewer_config(repo, tmp_path, auto_retry: int) -> None:
    script = tmp_path / "reviewer.py"
    marker = tmp_path / "asked-once"
    script.write_text(
        "import os, pathlib, sys\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "review = pathlib.Path(os.environ['CAIRN_REVIEW_FILE'])\n"
        "diff = pathlib.Path(os.environ['CAIRN_DIFF_FILE']).read_text()\n"
        "pathlib.Path('reviewer-was-here.txt').write_text('x')\n"
        "if not marker.exists():\n"
        "    marker.write_text('1')\n"
        "    review.write_text('Please also write docs.txt.\\n\\nVERDICT: request-changes\\n')\n"
        "else:\n"
        "    review.write_text(f'Looks good ({len(diff)} bytes of diff).\\nVERDICT: approve\\n')\n"
    )
    (repo / "cairn.toml").write_text(
        f'[agents.critic]\ncommand = ["python3", "{script}", "{{prompt_file}}"]\n'
        f'[reviewer]\nagent = "critic"\nauto_retry = {auto_retry}\n'
    )


def test_a_reviewer_requests_changes_once_then_approves(cairn, repo, home, tmp_path):
    reviewer_config(repo, tmp_path, auto_retry=1)
    cairn("queue", "-a", "demo", "write code.txt: code")
    assert cairn("up", "--until-idle").returncode == 0
    first, second = state_of(home, 1), state_of(home, 2)
    assert first["state"] == "rejected" and "superseded" in first["reason"]
    assert first["previous"]["verdict"] == "request-changes"
    assert second["state"] == "review" and second["verdict"] == "approve"
    task2 = (home / "tasks" / "2" / "task.json").read_text()
    assert "Please also write docs.txt" in task2, "the retry carries the review"
    assert "Looks good" in (home / "tasks" / "2" / "review.md").read_text()
    assert any(e["event"] == "auto-retry" and e["retry"] == 2 for e in events(home))
    # The reviewer's own edits never reach the proposal.
    assert "reviewer-was-here" not in (home / "tasks" / "2" / "preview.diff").read_text()
    # Nothing lands by itself: the human accepts.
    assert git(repo, "rev-list", "--count", "main") == "1"
    assert cairn("accept", "2").returncode == 0
    assert (repo / "code.txt").exists()


def test_without_auto_retry_the_verdict_is_only_shown(cairn, repo, home, tmp_path):
    reviewer_config(repo, tmp_path, auto_retry=0)
    cairn("queue", "-a", "demo", "write code.txt: code")
    assert cairn("up", "--until-idle").returncode == 0
    state = state_of(home, 1)
    assert state["state"] == "review" and state["verdict"] == "request-changes"
    assert not (home / "tasks" / "2").exists()
    assert "verdict" in cairn("status", "1").stdout


def test_a_reviewers_own_commit_never_lands(cairn, repo, home, tmp_path):
    script = tmp_path / "sneaky.sh"
    script.write_text("echo evil > evil.txt && git add evil.txt && git commit -qm 'reviewer commit' && echo 'VERDICT: approve'\n")
    (repo / "cairn.toml").write_text(f'[agents.sneaky]\ncommand = ["sh", "{script}"]\n[reviewer]\nagent = "sneaky"\n')
    cairn("queue", "-a", "demo", "write f.txt: f")
    assert cairn("spawn", "1", "--wait").returncode == 0
    assert state_of(home, 1)["verdict"] == "approve"
    assert cairn("accept", "1").returncode == 0
    assert (repo / "f.txt").exists() and not (repo / "evil.txt").exists()
    assert "reviewer commit" not in git(repo, "log", "--format=%s", "main")


def test_cancelled_while_the_reviewer_reads_is_cancelled_and_queues_nothing(cairn, repo, home, tmp_path):
    import time

    started = tmp_path / "reviewing"
    script = tmp_path / "slow.sh"
    script.write_text(f"touch {started}; trap '' TERM; sleep 4; echo 'VERDICT: request-changes'\n")
    (repo / "cairn.toml").write_text(
        f'[agents.slow]\ncommand = ["sh", "{script}"]\n[reviewer]\nagent = "slow"\nauto_retry = 2\n'
    )
    cairn("queue", "-a", "demo", "write f.txt: f")
    cairn("spawn", "1")
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    result = cairn("cancel", "1", timeout=60)
    assert result.returncode == 0, result.stderr
    assert state_of(home, 1)["state"] == "cancelled"
    assert not (home / "tasks" / "2").exists(), "no retry for a cancelled task"
    assert cairn("status", "1").returncode == 0


def test_a_retry_still_starts_after_its_superseded_attempt_is_restored(cairn, repo, home, tmp_path):
    script = tmp_path / "strict.sh"
    script.write_text("echo 'VERDICT: request-changes'\n")
    (repo / "cairn.toml").write_text(f'[agents.strict]\ncommand = ["sh", "{script}"]\n[reviewer]\nagent = "strict"\nauto_retry = 1\n')
    cairn("queue", "-a", "demo", "write f.txt: f")
    assert cairn("spawn", "1", "--wait").returncode == 1  # superseded: rejected
    assert state_of(home, 1)["state"] == "rejected" and state_of(home, 2)["state"] == "queued"
    assert cairn("restore", "1").returncode == 0
    assert cairn("spawn", "2", "--wait").returncode == 0
    assert git(repo, "show", "cairn/2:f.txt") == "f"
