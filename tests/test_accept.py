"""`cairn accept`: land fast when nothing stands in the way, safely when something does."""

from __future__ import annotations

import os
import shutil
import subprocess

from conftest import git, run_task, state_of


def test_accept_fast_forwards_when_the_target_has_not_moved(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: new feature")
    before = git(repo, "rev-parse", "main")
    result = cairn("accept", str(task))
    assert result.returncode == 0, result.stderr
    assert git(repo, "rev-parse", "main^") == before
    assert (repo / "feature.txt").read_text() == "new feature\n", "the checked-out target is updated"
    assert state_of(home, task)["state"] == "accepted"
    assert not (home / "workspaces" / str(task)).exists()
    assert git(repo, "branch", "--list", f"cairn/{task}") == ""
    assert "rebasing" not in result.stdout


def test_accept_rebases_onto_a_target_that_moved(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: new feature")
    (repo / "other.txt").write_text("meanwhile\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "meanwhile")
    result = cairn("accept", str(task))
    assert result.returncode == 0, result.stderr
    assert "rebasing" in result.stdout
    assert git(repo, "log", "--format=%s", "-2", "main").splitlines() == ["write feature.txt: new feature", "meanwhile"]
    assert git(repo, "rev-list", "--merges", "--count", "main") == "0"


def test_squash_lands_one_commit_with_title_and_id(cairn, repo):
    task = run_task(cairn, "write a.txt: a\nwrite b.txt: b", "--title", "Two files")
    assert cairn("accept", str(task), "--squash").returncode == 0
    assert git(repo, "log", "-1", "--format=%B", "main").splitlines()[:3] == ["Two files", "", f"Cairn task {task}"]
    assert git(repo, "show", "--name-only", "--format=", "main").splitlines() == ["a.txt", "b.txt"]


def test_merge_makes_a_merge_commit(cairn, repo):
    task = run_task(cairn, "write m.txt: m")
    (repo / "other.txt").write_text("meanwhile\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "meanwhile")
    assert cairn("accept", str(task), "--merge").returncode == 0
    assert git(repo, "rev-list", "--merges", "--count", "main") == "1"
    assert git(repo, "log", "-1", "--format=%s", "main") == f"Merge Cairn task {task}: write m.txt: m"
    assert (repo / "m.txt").exists() and (repo / "other.txt").exists()


def test_apply_puts_the_changes_in_the_working_tree_uncommitted(cairn, repo, home):
    task = run_task(cairn, "write applied.txt: here\nreplace README.md: demo => applied demo")
    head = git(repo, "rev-parse", "main")
    result = cairn("accept", str(task), "--apply")
    assert result.returncode == 0, result.stderr
    assert git(repo, "rev-parse", "main") == head, "nothing committed"
    assert (repo / "applied.txt").read_text() == "here\n"
    assert "applied demo" in (repo / "README.md").read_text()
    assert state_of(home, task)["strategy"] == "apply"
    assert git(repo, "rev-parse", "--verify", f"cairn/{task}"), "the branch stays: the changes are not committed yet"


def test_three_tasks_on_different_files_all_land_one_after_another(cairn, repo):
    ids = [run_task(cairn, f"write f{n}.txt: {n}") for n in range(3)]
    for task in ids:
        assert cairn("accept", str(task)).returncode == 0
    assert sorted(p.name for p in repo.glob("f*.txt")) == ["f0.txt", "f1.txt", "f2.txt"]
    assert git(repo, "rev-list", "--count", "main") == "4"


def test_two_tasks_on_the_same_lines_conflict_and_a_retry_lands(cairn, repo, home):
    first = run_task(cairn, "replace src/app.py: 'hello' => 'hi'")
    second = run_task(cairn, "replace src/app.py: 'hello' => 'howdy'")
    assert cairn("accept", str(first)).returncode == 0
    head = git(repo, "rev-parse", "main")
    conflict = cairn("accept", str(second))
    assert conflict.returncode == 1
    assert f"task {second} conflicts with main in: src/app.py" in conflict.stderr
    assert git(repo, "rev-parse", "main") == head, "nothing changed"
    state = state_of(home, second)
    assert state["state"] == "review" and state["conflict"] == ["src/app.py"]
    assert "conflict: src/app.py" in cairn("status").stdout
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "show", f"cairn/{second}:src/app.py").count("howdy") == 1, "the work is intact"

    retried = cairn("retry", str(second), "--feedback", "main now says hi; say howdy instead")
    assert retried.returncode == 0
    new = int(retried.stdout)
    assert state_of(home, second)["state"] == "rejected"
    prompt = (home / "tasks" / str(new) / "task.json").read_text()
    assert "main now says hi" in prompt and "howdy" in prompt
    # The scripted agent redoes it against the new main.
    task_json = __import__("json").loads(prompt)
    assert task_json["retry_of"] == second
    assert cairn("cancel", str(new)).returncode == 0
    third = run_task(cairn, "replace src/app.py: 'hi' => 'howdy'")
    assert cairn("accept", str(third)).returncode == 0
    assert "howdy" in (repo / "src" / "app.py").read_text()


def test_uncommitted_user_changes_in_the_way_block_and_change_nothing(cairn, repo, home):
    task = run_task(cairn, "replace README.md: demo => agent demo")
    (repo / "README.md").write_text("# my local edit\n")
    head = git(repo, "rev-parse", "main")
    result = cairn("accept", str(task))
    assert result.returncode == 1
    assert "README.md" in result.stderr and "uncommitted" in result.stderr
    assert (repo / "README.md").read_text() == "# my local edit\n"
    assert git(repo, "rev-parse", "main") == head
    assert state_of(home, task)["state"] == "review"


def test_uncommitted_changes_elsewhere_are_kept_through_an_accept(cairn, repo):
    task = run_task(cairn, "write new.txt: new")
    (repo / "README.md").write_text("# my local edit\n")
    assert cairn("accept", str(task)).returncode == 0
    assert (repo / "README.md").read_text() == "# my local edit\n"
    assert (repo / "new.txt").exists()


def test_failing_checks_block_the_accept_and_say_so(cairn, repo, home):
    (repo / "cairn.toml").write_text('[checks]\ncommands = [["sh", "-c", "test ! -e broken.txt"]]\n')
    git(repo, "add", "cairn.toml")
    git(repo, "commit", "-qm", "checks")
    task = run_task(cairn, "write broken.txt: oops")
    state = state_of(home, task)
    assert state["checks"]["status"] == "failed"
    assert "checks failed" in cairn("status").stdout
    head = git(repo, "rev-parse", "main")
    result = cairn("accept", str(task))
    assert result.returncode == 1
    assert "checks failed: sh -c test ! -e broken.txt (exit status 1)" in result.stderr
    assert git(repo, "rev-parse", "main") == head
    assert state_of(home, task)["state"] == "review"
    assert cairn("accept", str(task), "--no-check").returncode == 0


def test_checks_run_again_after_the_rebase(cairn, repo, home):
    # Passes on the agent's base, fails once main gains a file the check forbids.
    (repo / "cairn.toml").write_text('[checks]\ncommands = [["sh", "-c", "test ! -e poison.txt"]]\n')
    git(repo, "add", "cairn.toml")
    git(repo, "commit", "-qm", "checks")
    task = run_task(cairn, "write fine.txt: fine")
    assert state_of(home, task)["checks"]["status"] == "passed"
    (repo / "poison.txt").write_text("x\n")
    git(repo, "add", "poison.txt")
    git(repo, "commit", "-qm", "poison")
    result = cairn("accept", str(task))
    assert result.returncode == 1 and "checks failed" in result.stderr
    assert git(repo, "rev-parse", f"cairn/{task}") == state_of(home, task)["work"]["head_commit"], "the branch is put back"


def test_reject_then_restore_then_accept(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: kept")
    rejected = cairn("reject", str(task), "--reason", "not now")
    assert rejected.returncode == 0 and f"refs/cairn/trash/{task}" in rejected.stdout
    assert state_of(home, task)["state"] == "rejected"
    assert not (home / "workspaces" / str(task)).exists()
    assert git(repo, "branch", "--list", f"cairn/{task}") == ""
    assert git(repo, "show", f"refs/cairn/trash/{task}:kept.txt") == "kept"
    assert cairn("restore", str(task)).returncode == 0
    assert state_of(home, task)["state"] == "review"
    assert (home / "workspaces" / str(task) / "kept.txt").exists()
    assert cairn("accept", str(task)).returncode == 0
    assert (repo / "kept.txt").read_text() == "kept\n"


def test_accept_refuses_wrong_states_unknown_tasks_and_missing_targets(cairn, repo, home):
    running = cairn("queue", "-a", "demo", "sleep 30")
    cairn("spawn", running.stdout.strip())
    result = cairn("accept", "1")
    assert result.returncode == 4 and "task 1 is running" in result.stderr
    cairn("cancel", "1")
    done = run_task(cairn, "write x.txt: x")
    assert cairn("accept", str(done)).returncode == 0
    again = cairn("accept", str(done))
    assert again.returncode == 4 and "accepted" in again.stderr
    assert cairn("accept", "99").returncode == 3
    assert cairn("accept", "abc").returncode == 2
    other = run_task(cairn, "write y.txt: y")
    head = git(repo, "rev-parse", "main")
    gone = cairn("accept", str(other), "--into", "no-such-branch")
    assert gone.returncode == 2 and "no-such-branch" in gone.stderr
    assert git(repo, "rev-parse", "main") == head and state_of(home, other)["state"] == "review"


def test_accept_into_a_branch_that_is_not_checked_out(cairn, repo):
    git(repo, "branch", "release")
    task = run_task(cairn, "write r.txt: r")
    assert cairn("accept", str(task), "--into", "release").returncode == 0
    assert git(repo, "show", "release:r.txt") == "r"
    assert not (repo / "r.txt").exists(), "main is untouched"


def test_a_task_after_another_starts_once_it_is_accepted_on_top_of_it(cairn, repo, home):
    cairn("queue", "-a", "demo", "write base.txt: base")
    cairn("queue", "-a", "demo", "--after", "1", "append base.txt: more")
    assert cairn("up", "--until-idle").returncode == 0
    assert state_of(home, 2)["state"] == "queued"
    assert cairn("accept", "1").returncode == 0
    assert cairn("up", "--until-idle").returncode == 0
    assert state_of(home, 2)["state"] == "review"
    assert cairn("accept", "2").returncode == 0
    assert (repo / "base.txt").read_text() == "base\nmore\n"


def test_diff_shows_the_proposal_plain_when_piped(cairn, repo):
    task = run_task(cairn, "write d.txt: diffed")
    diff = cairn("diff", str(task))
    assert diff.returncode == 0 and "+diffed" in diff.stdout and "\x1b[" not in diff.stdout
    assert cairn("diff", str(task), "--name-only").stdout.split() == ["d.txt"]
    assert "1 file changed" in cairn("diff", str(task), "--stat").stdout
    cairn("accept", str(task))
    assert "+diffed" in cairn("diff", str(task)).stdout, "the recorded proposal once landed"
    cairn("queue", "-a", "demo", "x")
    assert cairn("diff", str(task + 1)).returncode == 4


def test_retry_continue_starts_from_the_previous_work(cairn, repo, home):
    first = run_task(cairn, "write step1.txt: one")
    retried = cairn("retry", str(first), "--continue", "--feedback", "add step two")
    new = int(retried.stdout)
    assert cairn("spawn", str(new), "--wait").returncode == 0
    assert git(repo, "show", f"cairn/{new}:step1.txt") == "one"
    assert cairn("retry", "99").returncode == 3


def test_agents_start_while_others_land_without_tripping_over_git(cairn, repo, home):
    """git's worktree list has no guard against concurrent writers; Cairn serialises its calls."""
    import subprocess

    from conftest import BIN

    ready = [run_task(cairn, f"write landed{n}.txt: {n}") for n in range(4)]
    for n in range(6):
        cairn("queue", "-a", "demo", f"write fresh{n}.txt: {n}")
    scheduler = subprocess.Popen([str(BIN / "cairn"), "up", "--until-idle", "--max-agents", "6"], cwd=repo,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for task in ready:
        assert cairn("accept", str(task)).returncode == 0
    assert scheduler.wait(timeout=120) == 0
    for task in range(5, 11):
        assert state_of(home, task)["state"] == "review", state_of(home, task).get("reason")


def test_files_that_are_not_utf8_reach_review_and_land_byte_for_byte(cairn, repo, home):
    (repo / "cairn.toml").write_text(
        '[agents.latin]\ncommand = ["python3", "-c", "import os; open(\'menu.txt\',\'wb\').write(b\'caf\\\\xe9\\\\n\'); '
        'open(os.fsdecode(b\'caf\\\\xe9.txt\'),\'w\').write(\'x\')"]\n'
    )
    cairn("queue", "-a", "latin", "write a menu")
    assert cairn("spawn", "1", "--wait").returncode == 0
    assert state_of(home, 1)["changed"]["files"] == 2
    assert cairn("status").returncode == 0 and cairn("diff", "1").returncode == 0
    assert cairn("accept", "1").returncode == 0
    assert (repo / "menu.txt").read_bytes() == b"caf\xe9\n"
    assert (repo / __import__("os").fsdecode(b"caf\xe9.txt")).exists()


def test_accept_lands_a_commit_the_user_made_on_the_branch_during_review(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: agent")
    workspace = home / "workspaces" / str(task)
    (workspace / "feature.txt").write_text("agent, fixed up by hand\n")
    git(workspace, "commit", "-qam", "fix-up")

    result = cairn("accept", str(task))

    assert result.returncode == 0, result.stderr
    assert (repo / "feature.txt").read_text() == "agent, fixed up by hand\n"
    assert git(repo, "log", "-1", "--format=%s", "main") == "fix-up"
    assert git(repo, "branch", "--list", f"cairn/{task}") == ""


def test_accept_refuses_edits_left_uncommitted_in_the_workspace_and_keeps_them(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: agent")
    workspace = home / "workspaces" / str(task)
    (workspace / "feature.txt").write_text("edited by hand\n")
    (workspace / "notes.txt").write_text("mine\n")
    head = git(repo, "rev-parse", "main")

    result = cairn("accept", str(task))

    assert result.returncode == 1
    assert "not committed" in result.stderr and "feature.txt" in result.stderr and "notes.txt" in result.stderr
    assert git(repo, "rev-parse", "main") == head
    assert state_of(home, task)["state"] == "review"
    assert (workspace / "feature.txt").read_text() == "edited by hand\n"
    assert (workspace / "notes.txt").read_text() == "mine\n"

    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "my edits")
    assert cairn("accept", str(task)).returncode == 0
    assert (repo / "notes.txt").read_text() == "mine\n"


def test_a_rebase_that_fails_without_a_conflict_says_what_git_said(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: agent")
    (repo / "other.txt").write_text("meanwhile\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "meanwhile")
    # Another git holds the workspace's index (repository hooks never run for Cairn: test_hooks.py).
    lock = repo / ".git" / "worktrees" / str(task) / "index.lock"
    lock.write_text("")
    head = git(repo, "rev-parse", "main")

    result = cairn("accept", str(task))

    assert result.returncode == 1
    assert "could not rebase" in result.stderr and "error: " in result.stderr  # git's own words
    assert "conflict" not in result.stderr and "unknown paths" not in result.stderr
    assert state_of(home, task)["conflict"] == []
    assert git(repo, "rev-parse", "main") == head
    lock.unlink()
    assert cairn("accept", str(task)).returncode == 0


def test_ctrl_c_during_the_rebase_leaves_no_rebase_behind(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: agent")
    head = git(repo, "rev-parse", f"cairn/{task}")
    (repo / "other.txt").write_text("meanwhile\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "meanwhile")
    main = git(repo, "rev-parse", "main")
    # Cairn's first `git rebase` gets an --exec step, which runs once the
    # rebase has begun (its state written): it interrupts Cairn there, once,
    # as a Ctrl-C would.  (Repository hooks never run for Cairn's git.)
    fired = repo / "fired"
    shims = repo.parent / "shims"
    shims.mkdir()
    (shims / "git").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = rebase ] && [ ! -e {fired} ]; then\n'
        f"  touch {fired}; shift\n"
        f'  exec {shutil.which("git")} rebase --exec "kill -INT $PPID; sleep 2" "$@"\n'
        "fi\n"
        f'exec {shutil.which("git")} "$@"\n'
    )
    (shims / "git").chmod(0o755)

    result = cairn("accept", str(task), extra_env={"PATH": f"{shims}:{os.environ['PATH']}"})

    assert fired.exists(), "the interruption ran during the rebase"
    assert result.returncode == 130, result.stderr
    workspace = home / "workspaces" / str(task)
    assert not (workspace / git(workspace, "rev-parse", "--git-path", "rebase-merge")).exists(), "the rebase was aborted"
    assert git(workspace, "symbolic-ref", "HEAD") == f"refs/heads/cairn/{task}"
    assert git(repo, "rev-parse", f"cairn/{task}") == head
    assert git(repo, "rev-parse", "main") == main
    again = cairn("accept", str(task))
    assert again.returncode == 0, again.stderr


def test_accept_ignores_uncommitted_changes_to_files_only_the_target_changed(cairn, repo):
    task = run_task(cairn, "write feature.txt: agent")
    (repo / "other.txt").write_text("committed on main\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "main moves")
    (repo / "other.txt").write_text("committed on main\nand still being edited\n")

    result = cairn("accept", str(task))

    assert result.returncode == 0, result.stderr
    assert (repo / "other.txt").read_text() == "committed on main\nand still being edited\n"
    assert (repo / "feature.txt").read_text() == "agent\n"


def test_accept_refuses_while_the_target_is_being_rebased(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: agent")
    (repo / "other.txt").write_text("one\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "to be edited")
    main = git(repo, "rev-parse", "main")
    # The user's interactive rebase, stopped at its first commit.
    subprocess.run(["git", "rebase", "-q", "-i", "HEAD~1"], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_SEQUENCE_EDITOR": "sed -i 1s/^pick/edit/"})
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "HEAD", "the user's rebase stopped, detached"

    result = cairn("accept", str(task))

    assert result.returncode == 1
    assert "main is being rebased" in result.stderr and "nothing was changed" in result.stderr
    assert git(repo, "rev-parse", "refs/heads/main") == main
    assert state_of(home, task)["state"] == "review"
    git(repo, "rebase", "--continue")
    assert cairn("accept", str(task)).returncode == 0


# -- the facts accept reads from files instead of starting git (cairn/vcs/refs.py)


def test_branch_tips_and_checkouts_read_from_files_agree_with_git(repo, tmp_path):
    from cairn.vcs import refs
    from cairn.vcs.worktrees import branch_commit, head_commit, worktree_with_branch

    def git_tip(name):
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{name}^{{commit}}"],
                              cwd=repo, capture_output=True, text=True)
        return done.stdout.strip() or None

    git(repo, "branch", "loose")
    git(repo, "branch", "packed")
    git(repo, "branch", "both")
    git(repo, "pack-refs", "--all")
    git(repo, "commit", "-q", "--allow-empty", "-m", "moves both")
    git(repo, "branch", "-f", "both", "HEAD")  # a loose ref newer than its packed line
    git(repo, "branch", "-f", "loose", "HEAD")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "in-linked", str(linked))
    main_branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()

    for name in ("loose", "packed", "both", "in-linked", main_branch, "missing", "no/such"):
        assert refs.branch_tip(repo, name) == git_tip(name), name
        assert refs.branch_tip(linked, name) == git_tip(name), name  # from a linked worktree too
        assert branch_commit(repo, name) == git_tip(name)
    assert refs.worktree_with_branch(repo, main_branch) == repo
    assert refs.worktree_with_branch(repo, "in-linked") == linked
    assert refs.worktree_with_branch(repo, "loose") is None
    assert worktree_with_branch(linked, "in-linked") == linked
    git(linked, "commit", "-q", "--allow-empty", "-m", "on in-linked")
    for worktree in (repo, linked):
        assert head_commit(worktree) == git(worktree, "rev-parse", "HEAD").strip()
    git(linked, "checkout", "-q", "--detach", "HEAD~1")
    assert refs.worktree_with_branch(repo, "in-linked") is None
    assert head_commit(linked) == git(linked, "rev-parse", "HEAD").strip()  # detached: from git
    # Whatever the files cannot settle goes to git.
    assert refs.branch_tip(repo, "../HEAD") is refs.UNSURE
    assert refs.branch_tip(repo, "x.lock") is refs.UNSURE
    (repo / ".git" / "refs" / "heads" / "symbolic").write_text(f"ref: refs/heads/{main_branch}\n")
    assert refs.branch_tip(repo, "symbolic") is refs.UNSURE
    assert branch_commit(repo, "symbolic") == git_tip(main_branch)
