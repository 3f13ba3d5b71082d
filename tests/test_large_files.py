"""Binary and huge files an agent writes are listed in the proposal with their
size, never inlined; preview.diff stays small and quick to make."""

from __future__ import annotations

import os

from conftest import git, run_task, state_of


def test_a_huge_file_and_a_binary_one_are_summarised_not_inlined(cairn, repo, home, tmp_path):
    script = tmp_path / "big-agent.sh"
    script.write_text("head -c 30000000 /dev/zero | tr '\\0' x > huge.txt\nprintf '\\0\\1\\2' > blob.bin\necho hi > small.txt\n")
    (repo / "cairn.toml").write_text(f'[agents.big]\ncommand = ["sh", "{script}"]\n')
    task = run_task(cairn, "make big files", "-a", "big")
    workspace = home / "workspaces" / str(task)
    assert os.path.getsize(workspace / "huge.txt") == 30_000_000
    preview = (home / "tasks" / str(task) / "preview.diff").read_text()
    assert len(preview) < 100_000
    assert "+hi" in preview
    assert "huge.txt  (30.0 MB, too large to show)" in preview
    assert "blob.bin  (binary, 3 bytes)" in preview
    stat = (home / "tasks" / str(task) / "preview.stat").read_text()
    assert "huge.txt | 30.0 MB, too large to show" in stat
    state = state_of(home, task)
    assert state["changed"]["files"] == 3
    # The work itself is whole on the branch.
    assert git(repo, "cat-file", "-s", f"cairn/{task}:huge.txt") == "30000000"


def test_preview_diff_is_capped_at_a_file_boundary(repo, env, monkeypatch):
    from cairn.vcs import proposal

    monkeypatch.setattr(proposal, "PREVIEW_CAP", 1_000_000)  # the real cap, 8 MiB, would need 80 such files

    base = git(repo, "rev-parse", "HEAD")
    for index in range(40):
        (repo / f"f{index:02}.txt").write_text("line\n" * 20_000)  # 100 kB each: inlined
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "many")
    head = git(repo, "rev-parse", "HEAD")
    described = proposal.describe(repo, base, head)
    assert len(described.diff.encode()) <= proposal.PREVIEW_CAP + 200
    assert "preview.diff stops here" in described.diff and f"git diff {base[:12]} {head[:12]}" in described.diff
    assert described.changed.files == 40 and described.changed.insertions == 40 * 20_000
    kept = described.diff.split("# preview.diff stops here")[0]
    assert kept.endswith("+line\n"), "cut between files, never inside one"
