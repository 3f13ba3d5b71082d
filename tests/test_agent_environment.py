"""What of the scheduler's environment reaches an agent: the [env] policy, a
profile's declared variables, and the names (never the values) on record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import git

from cairn.core.environment import DEFAULT_DROP, EnvPolicy, compose, filtered

DUMP = r'''
import json, os
with open("env.json", "w") as handle:
    json.dump(sorted(os.environ), handle)
'''

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "aws-secret-value",
    "OPENAI_API_KEY": "openai-secret-value",
    "ANTHROPIC_API_KEY": "anthropic-secret-value",
    "DEPLOY_TOKEN": "deploy-token-value",
    "HARMLESS_SETTING": "kept",
}


def _agent(repo: Path, env: dict[str, str], extra: str = "") -> None:
    script = Path(env["HOME"]) / "dump.py"
    script.write_text(DUMP)
    (repo / "cairn.toml").write_text(
        f'[agents.dumper]\ncommand = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]\n'
        'env_pass = ["ANTHROPIC_*"]\n' + extra
    )


def _received(cairn, repo: Path) -> tuple[int, list[str]]:
    task_id = int(cairn("queue", "-a", "dumper", "go").stdout)
    spawned = cairn("spawn", str(task_id), "--wait", extra_env=SECRETS)
    assert spawned.returncode == 0, spawned.stdout + spawned.stderr
    return task_id, json.loads(git(repo, "show", f"cairn/{task_id}:env.json"))


def test_secrets_of_the_scheduler_do_not_reach_an_agent_by_default(repo: Path, cairn, env) -> None:
    _agent(repo, env)

    task_id, names = _received(cairn, repo)

    assert "AWS_SECRET_ACCESS_KEY" not in names
    assert "OPENAI_API_KEY" not in names
    assert "DEPLOY_TOKEN" not in names
    assert "ANTHROPIC_API_KEY" in names  # its profile declares it
    assert "HARMLESS_SETTING" in names and "PATH" in names
    assert {"CAIRN_TASK_ID", "CAIRN_PORT", "CAIRN_WORKSPACE"} <= set(names)
    shown = cairn("status", str(task_id), "--json")
    isolation = shown.json()["isolation"]
    assert isolation["env"] == names
    assert {"AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "DEPLOY_TOKEN"} <= set(isolation["withheld"])
    assert not any(value in shown.stdout for value in SECRETS.values() if value != "kept")


def test_a_listed_variable_reaches_the_agent_and_set_adds_one(repo: Path, cairn, env) -> None:
    _agent(repo, env, '[env]\npass = ["DEPLOY_TOKEN", "AWS_*"]\nset = { FROM_CAIRN = "1" }\n')

    _, names = _received(cairn, repo)

    assert {"DEPLOY_TOKEN", "AWS_SECRET_ACCESS_KEY", "FROM_CAIRN"} <= set(names)
    assert "OPENAI_API_KEY" not in names


def test_allow_list_mode_keeps_only_what_is_named(repo: Path, cairn, env) -> None:
    _agent(repo, env, '[env]\ndrop = ["*"]\npass = ["PATH", "HOME"]\n')

    _, names = _received(cairn, repo)

    assert not {"HARMLESS_SETTING", "AWS_SECRET_ACCESS_KEY", "GIT_AUTHOR_NAME"} & set(names)
    assert {"PATH", "HOME", "ANTHROPIC_API_KEY", "CAIRN_TASK_ID"} <= set(names)


def test_the_policy_rule() -> None:
    base = {"PATH": "/bin", "OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a", "AWS_REGION": "eu", "GITHUB_TOKEN": "g",
            "SSH_AUTH_SOCK": "/run/x", "LANG": "C"}
    policy = EnvPolicy()
    assert set(filtered(base, policy)) == {"PATH", "LANG"}
    assert set(filtered(base, policy, needs=["ANTHROPIC_*"])) == {"PATH", "LANG", "ANTHROPIC_API_KEY"}
    assert set(filtered(base, EnvPolicy(passed=("AWS_*",)))) == {"PATH", "LANG", "AWS_REGION"}
    composed = compose(base, EnvPolicy(set=(("LANG", "C.UTF-8"),)), profile_set={"X": "1"}, cairn={"CAIRN_TASK_ID": "3"})
    assert composed == {"PATH": "/bin", "LANG": "C.UTF-8", "X": "1", "CAIRN_TASK_ID": "3"}
    assert "AWS_*" in DEFAULT_DROP and "*TOKEN*" in DEFAULT_DROP
