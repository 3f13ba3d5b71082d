"""Any prompt reaches the agent or is refused at queue time: a NUL byte, a prompt
past the kernel's 128 KiB per argument, a prompt that begins with '-'."""

from __future__ import annotations

from conftest import git, state_of

ARGV_ONLY = '[agents.argv]\ncommand = ["sh", "-c", "printf %s \\"$1\\" | wc -c > n.txt", "sh", "{prompt}"]\n'
WITH_FILE = (
    '[agents.filed]\ncommand = ["sh", "-c", "wc -c < \\"$2\\" > n.txt; printf %s \\"$1\\" > arg.txt", "sh", "{prompt}", "{prompt_file}"]\n'
)
ON_STDIN = '[agents.piped]\ncommand = ["sh", "-c", "wc -c > n.txt; printf %s \\"$1\\" > arg.txt", "sh", "{prompt}"]\nstdin = true\n'


def long_prompt() -> str:
    return "Do this carefully. " * 11_000  # 209,000 bytes: past 128 KiB


def test_a_long_prompt_for_an_argv_only_agent_is_refused_naming_the_limit_and_the_fix(cairn, repo, home, tmp_path):
    (repo / "cairn.toml").write_text(ARGV_ONLY)
    prompt = tmp_path / "prompt.md"
    prompt.write_text(long_prompt())
    queued = cairn("queue", "-a", "argv", "-f", str(prompt))
    assert queued.returncode == 2
    assert "128 KiB" in queued.stderr and "nothing was queued" in queued.stderr
    assert "stdin = true" in queued.stderr and "{prompt_file}" in queued.stderr
    assert not (home / "tasks").exists() or not any((home / "tasks").iterdir())


def test_a_long_prompt_reaches_an_agent_that_also_takes_a_file(cairn, repo, home, tmp_path):
    (repo / "cairn.toml").write_text(WITH_FILE)
    prompt = tmp_path / "prompt.md"
    prompt.write_text(long_prompt())
    assert cairn("queue", "-a", "filed", "-f", str(prompt)).returncode == 0
    assert cairn("spawn", "1", "--wait").returncode == 0, (home / "tasks" / "1" / "agent.log").read_text()[-2000:]
    assert int(git(repo, "show", "cairn/1:n.txt")) == len(long_prompt())
    assert "read the whole of it in the file" in git(repo, "show", "cairn/1:arg.txt")


def test_a_long_prompt_reaches_an_agent_on_standard_input(cairn, repo, home, tmp_path):
    (repo / "cairn.toml").write_text(ON_STDIN)
    prompt = tmp_path / "prompt.md"
    prompt.write_text(long_prompt())
    assert cairn("queue", "-a", "piped", "-f", str(prompt)).returncode == 0
    assert cairn("spawn", "1", "--wait").returncode == 0
    assert int(git(repo, "show", "cairn/1:n.txt")) == len(long_prompt())
    assert "on standard input" in git(repo, "show", "cairn/1:arg.txt")


def test_a_nul_byte_is_refused_for_an_argv_only_agent_and_carried_by_a_file(cairn, repo, home, tmp_path):
    (repo / "cairn.toml").write_text(ARGV_ONLY)
    prompt = tmp_path / "prompt.md"
    prompt.write_bytes(b"write nul.txt: before\x00after\n")
    queued = cairn("queue", "-a", "argv", "-f", str(prompt))
    assert queued.returncode == 2
    assert "NUL byte (character 22)" in queued.stderr
    # The demo agent reads {prompt_file}: the same prompt gets there whole.
    assert cairn("queue", "-a", "demo", "-f", str(prompt)).returncode == 0
    assert cairn("spawn", "1", "--wait").returncode == 0
    assert state_of(home, 1)["state"] == "review"
    assert (home / "tasks" / "1" / "prompt.md").read_bytes() == prompt.read_bytes()


def test_a_prompt_that_begins_with_a_dash_gets_a_hint_showing_double_dash(cairn, repo, home):
    refused = cairn("queue", "-r is broken")
    assert refused.returncode == 2
    assert "No such option '-r'" in refused.stderr
    assert '-- "-r is broken"' in refused.stderr
    queued = cairn("queue", "-a", "demo", "--", "-r is broken")
    assert queued.returncode == 0, queued.stderr
    assert state_of(home, int(queued.stdout))["state"] == "queued"
