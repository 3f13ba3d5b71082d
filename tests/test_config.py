"""Configuration: which source wins, what a bad value says, and that the
cached result never outlives an edit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cairn.config.load import resolve
from cairn.errors import ConfigError


def agent_of_new_task(cairn, home: Path, **extra_env: str) -> str:
    result = cairn("queue", "--json", "which agent?", extra_env=extra_env or None)
    assert result.returncode == 0, result.stderr
    return result.json()["agent"]


# -- precedence -------------------------------------------------------------------


def test_built_in_defaults(repo: Path) -> None:
    config = resolve(repo).config

    assert config.default_agent == "claude"
    assert config.max_agents == 4
    assert config.vcs == "auto"
    assert config.timeout == 7200
    assert {"claude", "codex", "aider", "gemini", "opencode", "amp"} <= set(config.agents)


def test_each_source_overrides_the_one_before_it(repo: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "cairn.toml").write_text('default_agent = "codex"\nmax_agents = 2\nidle_after = "5m"\n')
    assert resolve(repo).config.default_agent == "codex"

    home.mkdir()
    (home / "config.toml").write_text('default_agent = "aider"\nmax_agents = 3\n')
    config = resolve(repo).config
    assert (config.default_agent, config.max_agents, config.idle_after) == ("aider", 3, 300)

    rendered = tmp_path / "devenv-cairn.toml"
    rendered.write_text('default_agent = "gemini"\n')
    monkeypatch.setenv("CAIRN_CONFIG", str(rendered))
    config = resolve(repo).config
    assert (config.default_agent, config.max_agents) == ("gemini", 3)

    monkeypatch.setenv("CAIRN_DEFAULT_AGENT", "amp")
    monkeypatch.setenv("CAIRN_MAX_AGENTS", "7")
    config = resolve(repo).config
    assert (config.default_agent, config.max_agents, config.idle_after) == ("amp", 7, 300)


def test_cairn_config_may_be_json(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = tmp_path / "cairn.json"
    rendered.write_text(json.dumps({"default_agent": "opencode", "timeout": 90, "gc": {"keep": 5}}))
    monkeypatch.setenv("CAIRN_CONFIG", str(rendered))

    config = resolve(repo).config

    assert (config.default_agent, config.timeout, config.gc.keep) == ("opencode", 90, 5)


def test_environment_values_are_parsed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_TIMEOUT", "1h30m")
    monkeypatch.setenv("CAIRN_IDLE_AFTER", "45s")
    monkeypatch.setenv("CAIRN_VCS", "jj")
    monkeypatch.setenv("CAIRN_TMUX", "never")
    monkeypatch.setenv("CAIRN_MAX_AGENTS", "")  # empty: unset

    config = resolve(repo).config

    assert (config.timeout, config.idle_after, config.vcs, config.tmux, config.max_agents) == (5400, 45, "jj", "never", 4)


def test_tables_merge_key_by_key_but_an_agent_profile_is_replaced_whole(repo: Path, home: Path) -> None:
    (repo / "cairn.toml").write_text(
        '[gc]\nkeep = 3\n[gc.max_age]\naccepted = "1d"\n[agents.claude]\ncommand = ["my-claude", "{prompt}"]\n'
    )
    home.mkdir()
    (home / "config.toml").write_text('[gc]\ninterval = "1h"\n[gc.max_age]\nfailed = "2d"\n')

    config = resolve(repo).config

    assert (config.gc.keep, config.gc.interval) == (3, 3600)
    assert (config.gc.max_age.accepted, config.gc.max_age.failed, config.gc.max_age.rejected) == (86400, 172800, 14 * 86400)
    assert config.agents["claude"].command == ["my-claude", "{prompt}"]
    assert config.agents["claude"].description == ""  # nothing kept from the built-in profile
    assert config.agents["codex"].command[0] == "codex"


def test_queue_uses_the_default_agent_of_the_strongest_source(cairn, repo: Path, home: Path, tmp_path: Path) -> None:
    assert agent_of_new_task(cairn, home) == "claude"
    (repo / "cairn.toml").write_text('default_agent = "codex"\n')
    assert agent_of_new_task(cairn, home) == "codex"
    (home / "config.toml").write_text('default_agent = "aider"\n')
    assert agent_of_new_task(cairn, home) == "aider"
    rendered = tmp_path / "rendered.json"
    rendered.write_text('{"default_agent": "gemini"}')
    assert agent_of_new_task(cairn, home, CAIRN_CONFIG=str(rendered)) == "gemini"
    assert agent_of_new_task(cairn, home, CAIRN_CONFIG=str(rendered), CAIRN_DEFAULT_AGENT="amp") == "amp"
    # The command-line flag beats them all.
    result = cairn("queue", "x", "--agent", "demo", "--json", extra_env={"CAIRN_DEFAULT_AGENT": "amp"})
    assert result.json()["agent"] == "demo"


def test_a_user_defined_agent_can_be_the_default(cairn, repo: Path, home: Path) -> None:
    (repo / "cairn.toml").write_text('default_agent = "mine"\n[agents.mine]\ncommand = ["./my-agent.sh", "{prompt_file}"]\n')

    assert agent_of_new_task(cairn, home) == "mine"


def test_cairn_home_config_is_read_from_cairn_home(cairn, tmp_path: Path) -> None:
    elsewhere = tmp_path / "state"
    elsewhere.mkdir()
    (elsewhere / "config.toml").write_text('default_agent = "codex"\n')

    assert agent_of_new_task(cairn, elsewhere, CAIRN_HOME=str(elsewhere)) == "codex"


# -- invalid values -----------------------------------------------------------------

BAD_REPO_CONFIG = [
    pytest.param('max_agents = "many"', ["max_agents", "valid integer", "'many'"], id="bad-type"),
    pytest.param("max_agents = [4]", ["max_agents", "valid integer"], id="list-for-int"),
    pytest.param("bogus = 1", ["bogus", "unknown setting", "default_agent", "max_agents"], id="unknown-key"),
    pytest.param("[gc]\nbogus = 1", ["gc.bogus", "unknown setting", "interval", "max_age"], id="unknown-nested-key"),
    pytest.param('[agents.x]\ncommand = ["x"]\nbogus = 1', ["agents.x.bogus", "unknown setting", "command, credentials, description, env"], id="unknown-agent-key"),
    pytest.param("max_agents = 0", ["max_agents", "at least 1", "got 0"], id="zero-agents"),
    pytest.param('vcs = "hg"', ["vcs", "'hg'", "'auto'", "'git'", "'clone'", "'jj'"], id="vcs-hg"),
    pytest.param('tmux = "sometimes"', ["tmux", "'always'", "'never'"], id="bad-tmux"),
    pytest.param('timeout = "5 parsecs"', ["timeout", "cannot read '5 parsecs' as a duration", "90s"], id="bad-duration"),
    pytest.param('[gc.max_age]\naccepted = "soon"', ["gc.max_age.accepted", "as a duration"], id="bad-nested-duration"),
    pytest.param('[gc]\nmax_size = "lots"', ["gc.max_size", "as a size", "500M"], id="bad-size"),
    pytest.param("idle_after = -5", ["idle_after", "at least 0"], id="negative-duration"),
    pytest.param('max_agents = 4\nvcs = "git', ["not valid TOML", "line 2"], id="toml-syntax"),
    pytest.param('default_agent = "gpt-7"', ["default_agent", "'gpt-7'", "not a known agent", "claude", "codex"], id="unknown-default-agent"),
    pytest.param('[agents.mine]\ncommand = "my-agent {prompt}"', ["agents.mine.command", "valid list"], id="command-as-string"),
    pytest.param("[agents.mine]\ncommand = []", ["agents.mine.command", "empty"], id="empty-command"),
    pytest.param('[reviewer]\nagent = "nobody"', ["reviewer.agent", "'nobody'", "not a known agent"], id="unknown-reviewer"),
]


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= 2  # the message, and perhaps a hint
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize(("text", "fragments"), BAD_REPO_CONFIG)
def test_an_invalid_repository_config_is_refused(cairn, repo: Path, home: Path, text: str, fragments: list[str]) -> None:
    (repo / "cairn.toml").write_text(text + "\n")

    result = cairn("queue", "do it")

    assert_one_line_error(result, str(repo / "cairn.toml"), *fragments)
    assert not (home / "tasks").exists()


def test_an_invalid_value_in_the_home_config_names_that_file(cairn, repo: Path, home: Path) -> None:
    (repo / "cairn.toml").write_text("max_agents = 2\n")
    home.mkdir()
    (home / "config.toml").write_text('vcs = "svn"\n')

    assert_one_line_error(cairn("queue", "x"), str(home / "config.toml"), "vcs", "'svn'")


def test_an_invalid_json_config_names_the_file(cairn, tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.json"
    rendered.write_text('{"max_agents": 0}')
    broken = tmp_path / "broken.json"
    broken.write_text('{"max_agents": ')

    assert_one_line_error(cairn("queue", "x", extra_env={"CAIRN_CONFIG": str(rendered)}), str(rendered), "max_agents", "at least 1")
    assert_one_line_error(cairn("queue", "x", extra_env={"CAIRN_CONFIG": str(broken)}), str(broken), "not valid JSON")


def test_a_missing_cairn_config_file_is_refused(cairn, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"

    assert_one_line_error(cairn("queue", "x", extra_env={"CAIRN_CONFIG": str(missing)}), str(missing), "does not exist")


def test_a_config_that_is_not_a_table_is_refused(cairn, tmp_path: Path) -> None:
    rendered = tmp_path / "list.json"
    rendered.write_text("[1, 2]")

    assert_one_line_error(cairn("queue", "x", extra_env={"CAIRN_CONFIG": str(rendered)}), str(rendered), "table")


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("CAIRN_MAX_AGENTS", "lots", "valid integer"),
        ("CAIRN_MAX_AGENTS", "0", "at least 1"),
        ("CAIRN_TIMEOUT", "whenever", "as a duration"),
        ("CAIRN_VCS", "hg", "'git'"),
        ("CAIRN_DEFAULT_AGENT", "gpt-7", "not a known agent"),
    ],
)
def test_an_environment_variable_with_junk_is_refused(cairn, variable: str, value: str, fragment: str) -> None:
    result = cairn("queue", "do it", extra_env={variable: value})

    assert_one_line_error(result, f"environment variable {variable}", fragment)


def test_resolve_raises_a_config_error_naming_the_file(repo: Path) -> None:
    (repo / "cairn.toml").write_text("max_agents = 0\n")

    with pytest.raises(ConfigError, match=r"cairn\.toml: max_agents: must be at least 1"):
        resolve(repo)


# -- the cache --------------------------------------------------------------------


def test_an_edit_to_cairn_toml_is_seen_by_the_next_command(cairn, repo: Path, home: Path) -> None:
    config = repo / "cairn.toml"
    config.write_text('default_agent = "codex"\n')
    assert agent_of_new_task(cairn, home) == "codex"

    config.write_text('default_agent = "aider"\n')  # same size, same inode
    assert agent_of_new_task(cairn, home) == "aider"

    config.write_text('default_agent = "gpt-7"\n')
    assert_one_line_error(cairn("queue", "x"), "gpt-7")

    config.unlink()
    assert agent_of_new_task(cairn, home) == "claude"


def test_an_edit_between_two_resolves_is_seen(repo: Path, home: Path) -> None:
    config = repo / "cairn.toml"
    config.write_text("max_agents = 2\n")
    assert resolve(repo).config.max_agents == 2

    config.write_text("max_agents = 3\n")
    assert resolve(repo).config.max_agents == 3

    home.mkdir()
    (home / "config.toml").write_text("max_agents = 5\n")  # a source that did not exist before
    assert resolve(repo).config.max_agents == 5


def test_a_changed_environment_is_seen(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve(repo).config.max_agents == 4
    monkeypatch.setenv("CAIRN_MAX_AGENTS", "9")
    assert resolve(repo).config.max_agents == 9
    monkeypatch.delenv("CAIRN_MAX_AGENTS")
    assert resolve(repo).config.max_agents == 4


def test_the_config_cache_is_only_a_copy(repo: Path, env: dict[str, str]) -> None:
    (repo / "cairn.toml").write_text('default_agent = "codex"\n')
    first = resolve(repo)
    cache_files = list(Path(env["XDG_CACHE_HOME"]).rglob("*.json"))
    assert len(cache_files) == 1

    cache_files[0].write_text("{ not json")
    assert resolve(repo) == first
    cache_files[0].unlink()
    assert resolve(repo) == first
    assert cache_files[0].exists()  # written again


def test_resolve_does_not_depend_on_the_current_directory(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "cairn.toml").write_text('default_agent = "codex"\n')
    monkeypatch.chdir(tmp_path)

    settings = resolve(repo / "src")

    assert settings.root == repo.resolve()
    assert settings.home == repo.resolve() / ".cairn"
    assert settings.config.default_agent == "codex"
    assert os.getcwd() == str(tmp_path)


def test_two_installs_keep_caches_of_their_own(repo: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Alternating two installs on one repository must not make every command
    # of each validate the configuration again (each would find the other's
    # cache stale: its package files are in the key).
    from cairn.config import load

    resolve(repo)
    monkeypatch.setattr(load, "_PACKAGE_SOURCES", ["/elsewhere/cairn/config/schema.py", "/elsewhere/cairn/agents/builtin.py"])
    resolve(repo)
    cache_files = sorted(Path(env["XDG_CACHE_HOME"]).rglob("*.json"))
    assert len(cache_files) == 2 and cache_files[0].name == cache_files[1].name
    assert cache_files[0].parent != cache_files[1].parent
