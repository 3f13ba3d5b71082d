"""The devenv module ``services.cairn``, evaluated as devenv would evaluate it.

nix-instantiate evaluates modules/cairn.nix, the project's devenv.nix and the
examples against the stand-ins in tests/nix/ (nixpkgs' lib, devenv's options,
packages): what the module sets, that Cairn accepts the configuration it
renders, that bad values stop evaluation with a clear message, that
docs/devenv.md documents every option with its default.  One test runs the
command of ``processes.cairn`` for real and has it take a task to review.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import BIN, run_cairn
from nixeval import INPUTS, MODULE, REPO, Nix, nix, path, requires_nix  # noqa: F401  (nix: fixture)

pytestmark = requires_nix

EXAMPLES = sorted(p.parent.name for p in (REPO / "examples").glob("*/devenv.nix"))
SKIPPED_DIRS = {".git", ".venv", ".tools", ".devenv", ".direnv", ".cairn", "node_modules"}
PACKAGE = "cairn-{version}".format_map(tomllib.loads((REPO / "pyproject.toml").read_text())["project"])


def enabled(settings: str = "") -> str:
    return f"{{ services.cairn = {{ enable = true; {settings} }}; }}"


def nix_files() -> list[Path]:
    found = []
    for directory, subdirs, files in os.walk(REPO):
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS]
        found += [Path(directory, f) for f in files if f.endswith(".nix")]
    return sorted(found)


@pytest.mark.parametrize("file", nix_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_nix_file_parses(nix: Nix, file: Path) -> None:
    done = nix.run("--parse", str(file))
    assert done.returncode == 0, done.stderr


def test_defaults(nix: Nix) -> None:
    result = nix.evaluate(MODULE, enabled())
    cairn = result["processes"]["cairn"]["exec"].split()[1]

    assert re.fullmatch(rf"/nix/store/\w+-{re.escape(PACKAGE)}/bin/cairn", cairn)
    assert result["env"] == {
        "CAIRN_HOME": "/project/.devenv/state/cairn",
        "CAIRN_CONFIG": result["cairn"]["configFile"],
        "DEVENV_ROOT": "/project",
        "DEVENV_STATE": "/project/.devenv/state",
    }
    assert result["cairn"]["configFile"].endswith("-cairn.json")
    assert result["cairn"]["settings"] == {}, "an unset option must leave Cairn's own default in force"
    assert result["packages"] == [PACKAGE, "git", "tmux"]
    assert set(result["processes"]) == {"cairn"}
    assert result["tasks"] == {
        "cairn:init": {
            "exec": f"{cairn} init",
            "cwd": "/project",
            "before": ["devenv:processes:cairn"],
            "after": [],
            "description": "Create Cairn's state directory",
            "execIfModified": [],
            "status": None,
        }
    }


def test_the_scheduler_process(nix: Nix) -> None:
    process = nix.evaluate(MODULE, enabled())["processes"]["cairn"]
    cairn = process["exec"].split()[1]

    assert process["exec"] == f"exec {cairn} up"
    assert process["cwd"] == "/project"
    assert process["ready"]["exec"] == f"{cairn} status --scheduler"
    assert process["restart"] == {"on": "on_failure", "max": 5, "window": 300}


def test_gc_runs_as_its_own_process_when_an_interval_is_set(nix: Nix) -> None:
    result = nix.evaluate(MODULE, enabled('gc = { interval = "2h"; keep = 3; maxSize = "20G"; maxAge.failed = 86400; };'))
    cairn = result["processes"]["cairn"]["exec"].split()[1]

    assert result["processes"]["cairn-gc"]["exec"] == f"exec {cairn} gc --every 2h"
    assert result["processes"]["cairn-gc"]["restart"]["on"] == "on_failure"
    assert sorted(result["tasks"]["cairn:init"]["before"]) == ["devenv:processes:cairn", "devenv:processes:cairn-gc"]
    # The interval is the process's alone: in the file, `cairn up` would run gc as well.
    assert result["cairn"]["settings"] == {"gc": {"keep": 3, "max_size": "20G", "max_age": {"failed": 86400}}}


def test_a_gc_interval_in_seconds_becomes_a_duration(nix: Nix) -> None:
    result = nix.evaluate(MODULE, enabled("gc.interval = 90;"))
    assert result["processes"]["cairn-gc"]["exec"].endswith(" gc --every 90s")
    for accepted in ('"0.5h"', '"1h0m"', '"10s"'):
        assert nix.evaluate(MODULE, enabled(f"gc.interval = {accepted};"))["processes"]["cairn-gc"]["exec"].endswith(accepted.strip('"'))


def test_the_environment_carries_what_is_set(nix: Nix) -> None:
    result = nix.evaluate(MODULE, enabled(
        'maxAgents = 6; defaultAgent = "codex"; vcs = "jj"; workspaceDir = "/scratch/cairn";'
        ' stateDir = "/var/lib/cairn";'
    ))
    assert {k: v for k, v in result["env"].items() if k.startswith("CAIRN_")} == {
        "CAIRN_HOME": "/var/lib/cairn",
        "CAIRN_CONFIG": result["cairn"]["configFile"],
        "CAIRN_MAX_AGENTS": "6",
        "CAIRN_DEFAULT_AGENT": "codex",
        "CAIRN_VCS": "jj",
        "CAIRN_WORKSPACE_DIR": "/scratch/cairn",
    }


def test_agents_checks_and_settings_are_rendered(nix: Nix) -> None:
    settings = nix.evaluate(MODULE, enabled(
        'agents.reviewer = { command = [ "claude" "-p" "{prompt}" ]; env.MODEL = "opus"; };'
        ' agents.piped = { command = [ "opencode" "run" ]; stdin = true; description = "from stdin"; };'
        ' check = { commands = [ [ "make" "test" ] [ "ruff" "check" "." ] ]; timeout = "15m"; };'
        ' settings = { tmux = "never"; bootstrap.copy = [ ".env" ]; };'
    ))["cairn"]["settings"]
    assert settings == {
        "agents": {
            "reviewer": {"command": ["claude", "-p", "{prompt}"], "stdin": False, "env": {"MODEL": "opus"}, "description": ""},
            "piped": {"command": ["opencode", "run"], "stdin": True, "description": "from stdin"},
        },
        "checks": {"commands": [["make", "test"], ["ruff", "check", "."]], "timeout": "15m"},
        "tmux": "never",
        "bootstrap": {"copy": [".env"]},
    }


def test_cairn_accepts_the_configuration_the_module_renders(nix: Nix, cairn, tmp_path: Path) -> None:
    result = nix.evaluate(MODULE, enabled(
        'maxAgents = 2; defaultAgent = "local"; vcs = "git";'
        ' agents.local = { command = [ "./agent.sh" "{prompt_file}" ]; stdin = true; env.A = "b"; };'
        ' check = { commands = [ [ "true" ] ]; timeout = 90; };'
        ' gc = { interval = "1h"; keep = 2; maxSize = "2G"; maxAge = { accepted = "1d"; rejected = "2w"; }; };'
        ' settings.tmux = "never";'
    ))
    rendered = tmp_path / "cairn.json"
    rendered.write_text(json.dumps(result["cairn"]["settings"]))
    environment = {k: v for k, v in result["env"].items() if k.startswith("CAIRN_")}
    environment |= {"CAIRN_HOME": str(tmp_path / "state"), "CAIRN_CONFIG": str(rendered)}

    assert cairn("init", extra_env=environment).returncode == 0
    queued = cairn("queue", "--json", "try the local agent", extra_env=environment)
    assert queued.returncode == 0, queued.stderr
    [task] = cairn("status", "--json", extra_env=environment).json()
    assert task["agent"] == "local", "CAIRN_DEFAULT_AGENT must reach Cairn"

    # The control: Cairn does read the file, and refuses what its schema refuses.
    rendered.write_text(json.dumps({"agents": {"local": {"command": "./agent.sh"}}}))
    refused = cairn("queue", "refused", extra_env=environment)  # status only warns: it reads tasks without a valid config
    assert refused.returncode != 0 and "agents" in refused.stderr


def test_jj_and_tmux_are_added_as_chosen(nix: Nix) -> None:
    assert nix.evaluate(MODULE, enabled("jj.enable = true;"))["packages"] == [PACKAGE, "git", "tmux", "jujutsu"]
    assert nix.evaluate(MODULE, enabled("tmux.enable = false;"))["packages"] == [PACKAGE, "git"]


def test_scripts(nix: Nix) -> None:
    result = nix.evaluate(MODULE, enabled())
    cairn = result["processes"]["cairn"]["exec"].split()[1]
    assert result["scripts"]["cairn-review"]["exec"] == f'exec {cairn} status --state review "$@"'
    assert result["scripts"]["cairn-settings"]["exec"] == 'cat "$CAIRN_CONFIG"'
    assert all(script["description"] for script in result["scripts"].values())


def test_an_own_config_file_replaces_the_rendered_one(nix: Nix) -> None:
    result = nix.evaluate(MODULE, enabled('configFile = "/etc/cairn/team.toml";'))
    assert result["env"]["CAIRN_CONFIG"] == "/etc/cairn/team.toml"


def test_disabled_sets_nothing(nix: Nix) -> None:
    result = nix.evaluate(MODULE)
    assert result["cairn"] is None
    assert (result["processes"], result["tasks"], result["scripts"], result["packages"]) == ({}, {}, {}, [])
    assert not [k for k in result["env"] if k.startswith("CAIRN_")]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("maxAgents = 0;", "services.cairn.maxAgents' is not of type `null or positive integer, meaning >0'"),
        ('maxAgents = "4";', "services.cairn.maxAgents' is not of type"),
        ('vcs = "svn";', 'services.cairn.vcs\' is not of type `null or one of "auto", "git", "clone", "jj"\''),
        ('defaultAgent = "";', "services.cairn.defaultAgent' is not of type `null or non-empty string'"),
        ('gc.interval = "ten minutes";', "services.cairn.gc.interval' is not of type"),
        ("gc.interval = 0;", "services.cairn.gc.interval' is not of type"),
        ('gc.interval = "0s";', "services.cairn.gc.interval' is not of type"),
        ('gc.interval = "0h0m";', "services.cairn.gc.interval' is not of type"),
        ('gc.maxSize = "lots";', "services.cairn.gc.maxSize' is not of type"),
        ("gc.keep = -1;", "services.cairn.gc.keep' is not of type `null or unsigned integer, meaning >=0'"),
        ('check.timeout = "soon";', "services.cairn.check.timeout' is not of type"),
        ('check.commands = [ "make test" ];', "services.cairn.check.commands"),
        ('agents.a.command = "claude -p {prompt}";', "services.cairn.agents.a.command' is not of type `non-empty list of string'"),
        ("agents.a.command = [ ];", "services.cairn.agents.a.command' is not of type `non-empty list of string'"),
        ('agents.a = { command = [ "x" ]; stdin = "yes"; };', "services.cairn.agents.a.stdin' is not of type `boolean'"),
        ('agents.a = { command = [ "x" ]; env.N = 1; };', "services.cairn.agents.a.env.N' is not of type `string'"),
        ("agents.a.stdin = true;", "services.cairn.agents.a.command' was accessed but has no value defined"),
        ("maxAgent = 4;", "The option `services.cairn.maxAgent' does not exist"),
        ('jj = true;', "services.cairn.jj"),
    ],
)
def test_bad_values_are_rejected_with_a_clear_message(nix: Nix, setting: str, message: str) -> None:
    error = nix.error(nix.devenv(MODULE, enabled(setting)))
    assert message in error, error


def test_bad_values_name_the_file_they_come_from(nix: Nix, tmp_path: Path) -> None:
    devenv_nix = tmp_path / "devenv.nix"
    devenv_nix.write_text(enabled("maxAgents = -2;"))
    error = nix.error(nix.devenv(MODULE, path(devenv_nix)))
    assert f"In `{devenv_nix}': -2" in error, error


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_evaluates(nix: Nix, example: str) -> None:
    inputs = f"{{ cairn = (import {INPUTS} {{ }}).callFlake {path(REPO)} {{ }}; }}"
    result = nix.evaluate(path(REPO / "examples" / example / "devenv.nix"), inputs=inputs)

    assert result["cairn"] is not None, f"{example} does not enable services.cairn"
    assert "cairn" in result["processes"]
    assert result["env"]["CAIRN_HOME"] == "/project/.devenv/state/cairn"


def test_full_example_uses_agents_checks_jj_and_gc(nix: Nix) -> None:
    result = nix.evaluate(path(REPO / "examples" / "full-cairn" / "devenv.nix"))
    settings = result["cairn"]["settings"]

    assert len(settings["agents"]) >= 3
    assert settings["checks"]["commands"]
    assert "jujutsu" in result["packages"] and result["env"]["CAIRN_VCS"] == "jj"
    assert "cairn-gc" in result["processes"]
    layout = (REPO / "examples" / "full-cairn" / ".tmuxp.yaml").read_text()
    assert "session_name:" in layout and "devenv up" in layout


def test_every_example_has_a_readme() -> None:
    for example in (REPO / "examples").iterdir():
        assert (example / "README.md").is_file(), f"examples/{example.name} has no README.md"
    assert not (REPO / "examples" / "makefile" / "devenv.nix").exists(), "the makefile example is the one without Nix"


def test_the_projects_own_devenv(nix: Nix) -> None:
    result = nix.evaluate(path(REPO / "devenv.nix"))

    assert "pytest" in result["enterTest"]
    assert {"tmux", "jujutsu", "git"} <= set(result["packages"])
    assert "cairn" in result["processes"] and "cairn-gc" in result["processes"]
    # Cairn runs from the working tree's virtualenv, not from a build of it.
    assert result["cairn"]["package"]["name"] == "cairn"
    assert result["tasks"]["cairn-dev:install"]["before"] == ["devenv:enterShell"]


def test_every_option_is_documented_with_its_default(nix: Nix) -> None:
    options = nix.evaluate(MODULE)["options"]
    docs = (REPO / "docs" / "devenv.md").read_text()
    sections = dict(re.findall(r"^### `([^`]+)`\n(.*?)(?=^#|\Z)", docs, re.M | re.S))

    assert len(options) > 20
    for option in options:
        name = option["name"]
        assert option["description"], f"{name} has no description"
        assert name in sections, f"docs/devenv.md has no section for {name}"
        if option["default"] is not None:
            expected = _default_as_documented(option["default"])
            assert f"*Default:* {expected}" in sections[name], f"docs/devenv.md: {name} should say *Default:* {expected}"
    documented = set(sections) - {o["name"] for o in options}
    assert not documented, f"docs/devenv.md documents options the module does not have: {documented}"


def _default_as_documented(default: dict[str, Any]) -> str:
    if "text" in default:
        return default["text"] if default["markdown"] else f"`{default['text']}`"
    return f"`{_as_nix(default['json'])}`"


def _as_nix(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in ({}, []):
        return "{ }" if value == {} else "[ ]"
    return json.dumps(value)


@pytest.mark.skipif(not os.environ.get("CAIRN_TEST_NIXPKGS_LIB"), reason=(
    "set CAIRN_TEST_NIXPKGS_LIB to a nixpkgs lib/ directory to check the stand-in lib against the real one"
))
def test_stand_in_agrees_with_nixpkgs_lib(nix: Nix) -> None:
    real = path(os.environ["CAIRN_TEST_NIXPKGS_LIB"])
    cases = [(MODULE, enabled('gc.interval = "1h"; maxAgents = 3; agents.a.command = [ "a" ];'))]
    cases += [(path(REPO / "examples" / e / "devenv.nix"),) for e in EXAMPLES if e != "flake-input"]
    cases += [(path(REPO / "devenv.nix"),)]
    for modules in cases:
        assert _comparable(nix.evaluate(*modules)) == _comparable(nix.evaluate(*modules, lib=f"import {real}"))
    for setting in ("maxAgents = 0;", 'agents.a.command = "x";', "nope = 1;"):
        stand_in = nix.error(nix.devenv(MODULE, enabled(setting)))
        nixpkgs = nix.error(nix.devenv(MODULE, enabled(setting), lib=f"import {real}"))
        assert _first_line(stand_in) == _first_line(nixpkgs)


def _comparable(result: dict[str, Any]) -> Any:
    # Type descriptions differ in parentheses only, and the order of merged lists is not promised.
    for option in result["options"]:
        option.pop("type")
    for group in ("tasks", "processes"):
        for item in result[group].values():
            item["before"].sort()
            item["after"].sort()
    return result


def _first_line(error: str) -> str:
    # Up to the type's phrase, where nixpkgs adds parentheses the stand-in leaves out.
    return error.split("Definition")[0].split("is not of type")[0]


@pytest.mark.slow
def test_the_process_takes_a_queued_task_to_review(nix: Nix, repo: Path, tmp_path: Path) -> None:
    venv = Path(sys.executable).parent.parent
    result = nix.evaluate(
        MODULE,
        enabled(f'maxAgents = 1; settings.tmux = "never"; '
                f'package = {{ type = "derivation"; name = "cairn-venv"; outPath = {json.dumps(str(venv))}; }};'),
        root=str(repo),
    )
    # The store path of the rendered file exists only in name here: write its text.
    rendered = tmp_path / "cairn.json"
    rendered.write_text(json.dumps(result["cairn"]["settings"]))
    environment = {**os.environ, **result["env"], "CAIRN_CONFIG": str(rendered)}
    init, process = result["tasks"]["cairn:init"], result["processes"]["cairn"]

    subprocess.run(["bash", "-c", init["exec"]], cwd=init["cwd"], env=environment, check=True, capture_output=True)
    log = (tmp_path / "process.log").open("w")
    scheduler = subprocess.Popen(
        ["bash", "-c", process["exec"]], cwd=process["cwd"], env=environment,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        def ready() -> bool:
            probe = subprocess.run(["bash", "-c", process["ready"]["exec"]], cwd=process["cwd"], env=environment, capture_output=True)
            return probe.returncode == 0

        _wait_for(ready, "the readiness probe to pass", scheduler, tmp_path)
        queued = run_cairn(repo, "queue", "-a", "demo", "Create hello.txt containing: hello from devenv", env=environment)
        assert queued.returncode == 0, queued.stderr
        task_id = int(queued.stdout.split()[0])

        def state() -> str:
            listed = run_cairn(repo, "status", "--json", env=environment).json()
            found = next(t["state"] for t in listed if t["id"] == task_id)
            if found in ("failed", "cancelled"):
                pytest.fail(f"task {task_id} ended {found}:\n{run_cairn(repo, 'status', str(task_id), env=environment).stdout}")
            return found

        _wait_for(lambda: state() == "review", f"task {task_id} to reach review", scheduler, tmp_path)
    finally:
        os.killpg(scheduler.pid, signal.SIGTERM)
        try:
            scheduler.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(scheduler.pid, signal.SIGKILL)
            scheduler.wait()
        log.close()


def _wait_for(condition, what: str, scheduler: subprocess.Popen, tmp_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if scheduler.poll() is not None:
            pytest.fail(f"the scheduler exited ({scheduler.returncode}) waiting for {what}:\n{(tmp_path / 'process.log').read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{(tmp_path / 'process.log').read_text()}")
        time.sleep(0.2)


def test_executor_options_are_rendered_and_cairn_accepts_them(nix: Nix, cairn, tmp_path: Path) -> None:
    result = nix.evaluate(MODULE, enabled(
        'executor = "slurm";'
        ' executors.ray = { address = "http://head:8265"; maxAgents = 32; remote = "git@host:team/repo.git"; env = [ "PATH" ]; };'
        ' executors.slurm = { sharedDir = "/shared/cairn"; partition = "gpu"; timeLimit = "3h"; cpus = 4; memory = "8G";'
        ' sbatchArgs = [ "--account=lab" ]; command = [ "nix" "run" ".#cairn" "--" "remote-run" ]; };'
    ))
    assert result["env"]["CAIRN_EXECUTOR"] == "slurm"
    assert result["cairn"]["settings"]["executors"] == {
        "ray": {"address": "http://head:8265", "max_agents": 32, "remote": "git@host:team/repo.git", "env": ["PATH"]},
        "slurm": {"shared_dir": "/shared/cairn", "partition": "gpu", "time_limit": "3h", "cpus": 4, "memory": "8G",
                  "sbatch_args": ["--account=lab"], "command": ["nix", "run", ".#cairn", "--", "remote-run"]},
    }
    rendered = tmp_path / "cairn.json"
    rendered.write_text(json.dumps(result["cairn"]["settings"]))
    environment = {"CAIRN_HOME": str(tmp_path / "state"), "CAIRN_CONFIG": str(rendered), "CAIRN_EXECUTOR": "slurm"}
    queued = cairn("queue", "--json", "-a", "demo", "run on the cluster", extra_env=environment)
    assert queued.returncode == 0, queued.stderr
    [task] = cairn("status", "--json", extra_env=environment).json()
    assert task["executor"] == "slurm"
    # The control: Cairn reads the executors group, and refuses a bad value in it.
    rendered.write_text(json.dumps({"executors": {"slurm": {"cpus": 0}}}))
    refused = cairn("queue", "-a", "demo", "refused", extra_env=environment)  # status only warns: it reads tasks without a valid config
    assert refused.returncode != 0 and "cpus" in refused.stderr
