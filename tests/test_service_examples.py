"""A service without devenv: examples/systemd/cairn@.service and the launchd
plist, checked as far as this machine can.

The unit goes through `systemd-analyze verify` (where systemd is installed)
with no complaint at all, and both files are run for real: their command line,
working directory and PATH, exactly as written, start the scheduler; the
unit's readiness probe returns once it is ready; the stop signal ends it with
the exit status that tells the service manager not to restart it.  The
installed commands stand where pipx puts them (`~/.local/bin`), so the PATH
the files set is what finds them.
"""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, REPO

SYSTEMD = REPO / "examples" / "systemd"
LAUNCHD = REPO / "examples" / "launchd"


def until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def unit_settings(text: str) -> dict[str, list[str]]:
    """The [Service] section's settings; a key set twice keeps both values."""
    settings: dict[str, list[str]] = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key}", []).append(value)
    return settings


def pipx_style_bin(home: Path) -> Path:
    """The installed commands linked into ~/.local/bin, as pipx and `uv tool` do."""
    local_bin = home / ".local" / "bin"
    local_bin.mkdir(parents=True)
    for script in BIN.glob("cairn*"):
        (local_bin / script.name).symlink_to(script)
    return local_bin


def scheduler_runs(env: dict[str, str], cwd: Path) -> bool:
    return subprocess.run([str(BIN / "cairn"), "status", "--scheduler"], cwd=cwd, env=env, capture_output=True).returncode == 0


def test_systemd_analyze_verifies_the_unit_without_a_complaint(repo, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    instance = subprocess.run(["systemd-escape", "--path", str(repo)], capture_output=True, text=True, check=True).stdout.strip()
    units = tmp_path / "units"
    units.mkdir()
    unit = units / f"cairn@{instance}.service"
    shutil.copy(SYSTEMD / "cairn@.service", unit)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)

    verified = subprocess.run(
        ["systemd-analyze", "verify", "--user", str(unit)],
        capture_output=True, text=True, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )

    assert verified.returncode == 0, verified.stderr
    complaints = [line for line in verified.stderr.splitlines() if unit.name in line or "cairn@" in line]
    assert not complaints, complaints


def test_the_units_command_probe_and_stop_work_as_written(repo, env):
    settings = unit_settings((SYSTEMD / "cairn@.service").read_text())
    home = Path(env["HOME"])
    pipx_style_bin(home)

    def fill(value: str) -> str:  # the specifiers the unit uses
        return value.replace("%f", str(repo)).replace("%h", str(home))

    assert settings["Service.Restart"] == ["on-failure"]
    assert settings["Service.KillMode"] == ["process"], "a stop must leave running agents to their runners"
    unit_env = dict(env)
    for assignment in settings["Service.Environment"]:
        name, _, value = fill(assignment).partition("=")
        unit_env[name] = value
    assert shutil.which("cairn", path=unit_env["PATH"]) == str(home / ".local" / "bin" / "cairn")
    cwd = Path(fill(settings["Service.WorkingDirectory"][0]))
    assert not scheduler_runs(unit_env, cwd)

    scheduler = subprocess.Popen(shlex.split(fill(settings["Service.ExecStart"][0])), cwd=cwd, env=unit_env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        probe = subprocess.run(shlex.split(fill(settings["Service.ExecStartPost"][0])), cwd=cwd, env=unit_env, timeout=30)
        assert probe.returncode == 0
        assert scheduler_runs(unit_env, cwd)

        queued = subprocess.run(["cairn", "queue", "-a", "demo", "write unit.txt: by the service"],
                                cwd=cwd, env=unit_env, capture_output=True, text=True, check=True)
        waited = subprocess.run(["cairn", "wait", queued.stdout.strip(), "--timeout", "60s"], cwd=cwd, env=unit_env, capture_output=True, text=True)
        assert waited.returncode == 0, waited.stdout + waited.stderr
    finally:
        scheduler.send_signal(getattr(signal, settings["Service.KillSignal"][0]))
        output, _ = scheduler.communicate(timeout=30)
    assert scheduler.returncode == 0, f"a stop must be a clean exit, or Restart=on-failure would restart it:\n{output}"
    assert not scheduler_runs(unit_env, cwd)


def launchd_install_command() -> str:
    """The sed line of the launchd README, with the path to the example filled in."""
    readme = (LAUNCHD / "README.md").read_text()
    command = re.search(r"^    (sed .*?plist)$", readme, re.M | re.S)
    assert command, "the README shows the sed line that fills in the plist"
    return command.group(1).replace("path/to/cairn/examples/launchd", str(LAUNCHD))


def test_the_launchd_agent_filled_in_as_the_readme_says_runs_the_scheduler(repo, env):
    home = Path(env["HOME"])
    pipx_style_bin(home)
    (home / "Library" / "LaunchAgents").mkdir(parents=True)
    script = f'name=$(basename "$PWD")\n{launchd_install_command()}\n'
    subprocess.run(["sh", "-c", script], cwd=repo, env=env, check=True)
    installed = home / "Library" / "LaunchAgents" / f"dev.cairn.scheduler.{repo.name}.plist"
    assert "@" not in re.sub(r"<!--.*?-->", "", installed.read_text(), flags=re.S), "every placeholder is filled in"
    agent = plistlib.loads(installed.read_bytes())

    assert agent["Label"] == f"dev.cairn.scheduler.{repo.name}"
    assert agent["WorkingDirectory"] == str(repo)
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    log = Path(agent["StandardOutPath"])
    assert home / "Library" / "Logs" in log.parents and repo not in log.parents, "logs stay out of the state directory"
    agent_env = {**env, **agent["EnvironmentVariables"]}
    assert shutil.which("cairn", path=agent_env["PATH"]) == str(home / ".local" / "bin" / "cairn")

    scheduler = subprocess.Popen(agent["ProgramArguments"], cwd=agent["WorkingDirectory"], env=agent_env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        until(lambda: scheduler_runs(agent_env, repo) or scheduler.poll() is not None)
        assert scheduler_runs(agent_env, repo)
    finally:
        scheduler.send_signal(signal.SIGTERM)  # what `launchctl bootout` sends
        output, _ = scheduler.communicate(timeout=30)
    assert scheduler.returncode == 0, f"a stop must be a clean exit, or KeepAlive would start it again:\n{output}"
