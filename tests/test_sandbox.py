"""Agents confined with real bubblewrap: what a sandboxed agent can and cannot
write, the network switch, setup and checks in the same sandbox, bwrap asked
for and missing, and the same sandbox for root and for an ordinary user."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (.ci/tools.sh installs it)")


@pytest.fixture(autouse=True)
def sandbox_as_configured(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs agents unconfined (conftest); here the configured default, auto, holds."""
    monkeypatch.delenv("CAIRN_SANDBOX", raising=False)

#: Tries every write a confined agent must not make, and one it may; reports
#: what happened in report.json, inside its workspace (so it lands in the commit).
ESCAPER = r'''
import json, os, sys
home, repo = os.environ["HOME"], os.environ["REPO"]
targets = {
    "above the checkout": "../../../../escaped.txt",
    "the checkout": os.path.join(repo, "planted.txt"),
    "a hook": os.path.join(repo, ".git", "hooks", "pre-commit"),
    "home": os.path.join(home, "outside.txt"),
    "declared": os.path.join(home, ".escaper", "ok.txt"),
}
report = {}
for name, path in targets.items():
    try:
        with open(path, "w") as handle:
            handle.write("x\n")
        report[name] = "wrote"
    except OSError as error:
        report[name] = error.strerror
with open("report.json", "w") as handle:
    json.dump(report, handle)
'''

CONNECT = r'''
import json, os, socket
try:
    socket.create_connection(("127.0.0.1", int(os.environ["LISTENER"])), timeout=5).close()
    result = "connected"
except OSError as error:
    result = error.strerror or type(error).__name__
with open("network.json", "w") as handle:
    json.dump(result, handle)
'''


def _script(env: dict[str, str], name: str, text: str) -> str:
    """A script under $HOME, which the sandbox shows read-only (the private /tmp hides the rest of tmp_path)."""
    path = Path(env["HOME"]) / name
    path.write_text(text)
    return str(path)


def _profile(repo: Path, name: str, script: str, **extra: str) -> None:
    lines = [f"[agents.{name}]", f"command = [{json.dumps(sys.executable)}, {json.dumps(script)}]",
             f'env = {{ REPO = {json.dumps(str(repo))} }}', *(f"{k} = {v}" for k, v in extra.items())]
    with open(repo / "cairn.toml", "a") as handle:
        handle.write("\n".join(lines) + "\n")


def _run(cairn, agent: str, *extra: str) -> int:
    queued = cairn("queue", "-a", agent, *extra, "go")
    assert queued.returncode == 0, queued.stderr
    task_id = int(queued.stdout)
    cairn("spawn", str(task_id), "--wait")
    return task_id


def _isolation(home: Path, task_id: int) -> dict:
    return json.loads((home / "tasks" / str(task_id) / "isolation.json").read_text())


def test_a_sandboxed_agent_writes_only_in_its_workspace_and_declared_paths(repo: Path, home: Path, cairn, env) -> None:
    _profile(repo, "escaper", _script(env, "escaper.py", ESCAPER), writable='["~/.escaper/"]', sandbox='"bwrap"')
    hooks_before = sorted(os.listdir(repo / ".git" / "hooks"))

    task_id = _run(cairn, "escaper")

    status = cairn("status", str(task_id), "--json").json()
    assert status["state"] == "review", (home / "tasks" / str(task_id) / "agent.log").read_text()
    report = json.loads(git(repo, "show", f"cairn/{task_id}:report.json"))  # Cairn committed it, outside the sandbox
    for refused in ("the checkout", "a hook", "home"):
        assert report[refused] == "Read-only file system", report
    assert report["declared"] == "wrote"
    # tmp_path is under /tmp: that write went to the sandbox's private /tmp, and is gone.
    assert not (repo.parent / "escaped.txt").exists()
    assert not (repo / "planted.txt").exists()
    assert sorted(os.listdir(repo / ".git" / "hooks")) == hooks_before
    assert not (Path(env["HOME"]) / "outside.txt").exists()
    assert (Path(env["HOME"]) / ".escaper" / "ok.txt").read_text() == "x\n"
    assert status["isolation"]["sandbox"] == "bwrap"
    assert "sandbox    bwrap, network on" in cairn("status", str(task_id)).stdout


def test_an_unsandboxed_agent_behaves_as_before(repo: Path, home: Path, cairn, env) -> None:
    _profile(repo, "escaper", _script(env, "escaper.py", ESCAPER), sandbox='"none"')

    task_id = _run(cairn, "escaper")

    report = json.loads(git(repo, "show", f"cairn/{task_id}:report.json"))
    assert report["home"] == "wrote"  # unconfined: nothing stops it (docs/security.md says so)
    assert _isolation(home, task_id)["sandbox"] == "none"
    assert 'none (sandbox = "none")' in cairn("status", str(task_id)).stdout


@pytest.fixture
def listener():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_network_off_cannot_reach_a_listener_on_loopback(repo: Path, home: Path, cairn, env, listener: int) -> None:
    script = _script(env, "connect.py", CONNECT)
    _profile(repo, "offline", script, sandbox='"bwrap"', sandbox_network="false")
    _profile(repo, "online", script, sandbox='"bwrap"')
    extra = {"LISTENER": str(listener)}

    offline = int(cairn("queue", "-a", "offline", "go").stdout)
    cairn("spawn", str(offline), "--wait", extra_env=extra)
    online = int(cairn("queue", "-a", "online", "go").stdout)
    cairn("spawn", str(online), "--wait", extra_env=extra)

    assert json.loads(git(repo, "show", f"cairn/{online}:network.json")) == "connected"
    assert json.loads(git(repo, "show", f"cairn/{offline}:network.json")) != "connected"
    assert _isolation(home, offline)["network"] is False
    assert "network off" in cairn("status", str(offline)).stdout


def test_setup_and_checks_run_in_the_same_sandbox_with_the_port_block(repo: Path, home: Path, cairn, env) -> None:
    (repo / "cairn.toml").write_text(
        'sandbox = "bwrap"\nsandbox_writable = ["~/out/"]\n'
        "[bootstrap]\n"
        'setup = [["sh", "-c", "echo $CAIRN_PORT > $HOME/out/setup; touch $HOME/setup-escaped || true"]]\n'
        "[checks]\n"
        'commands = [["sh", "-c", "echo $CAIRN_PORT > $HOME/out/check; touch $HOME/check-escaped || true"]]\n'
        "[ports]\nbase = 31000\nper_task = 5\n"
    )
    task_id = _run(cairn, "demo")

    port = _isolation(home, task_id)["port"]
    assert 31000 <= port < 31100
    out = Path(env["HOME"]) / "out"
    assert (out / "setup").read_text().strip() == str(port)
    assert (out / "check").read_text().strip() == str(port)
    assert not (Path(env["HOME"]) / "setup-escaped").exists()
    assert not (Path(env["HOME"]) / "check-escaped").exists()


@pytest.fixture
def path_without_bwrap(tmp_path: Path, env) -> str:
    """A PATH holding what a task needs (git, sh, Cairn) but no bwrap."""
    bin_dir = tmp_path / "no-bwrap-bin"
    bin_dir.mkdir()
    for tool in ("git", "sh", "cairn-demo-agent"):
        os.symlink(shutil.which(tool, path=env["PATH"]), bin_dir / tool)
    return os.pathsep.join([str(Path(sys.executable).parent), str(bin_dir)])


def test_bwrap_selected_and_missing_fails_and_never_runs_unconfined(repo: Path, home: Path, cairn, path_without_bwrap: str) -> None:
    queued = cairn("queue", "-a", "demo", "--sandbox", "bwrap", "write ran.txt: yes", extra_env={"PATH": path_without_bwrap})
    assert queued.returncode == 2
    assert "bubblewrap" in queued.stderr and "apt install bubblewrap" in queued.stderr
    assert "Traceback" not in queued.stderr

    task_id = int(cairn("queue", "-a", "demo", "write ran.txt: yes").stdout)
    spawned = cairn("spawn", str(task_id), "--wait", extra_env={"PATH": path_without_bwrap, "CAIRN_SANDBOX": "bwrap"})

    state = json.loads((home / "tasks" / str(task_id) / "state.json").read_text())
    assert spawned.returncode != 0 and state["state"] == "failed"
    assert "bubblewrap (bwrap) is not installed" in state["reason"]
    assert state["work"] is None  # nothing was made, nothing ran
    assert not list((home / "workspaces").glob("*/ran.txt"))


def test_auto_without_bwrap_runs_unconfined_and_says_so(repo: Path, home: Path, cairn, path_without_bwrap: str) -> None:
    task_id = int(cairn("queue", "-a", "demo", "write ran.txt: yes").stdout)
    spawned = cairn("spawn", str(task_id), "--wait", extra_env={"PATH": path_without_bwrap})

    assert spawned.returncode == 0, spawned.stdout + spawned.stderr
    assert _isolation(home, task_id)["reason"] == "sandbox = auto and bubblewrap (bwrap) is not installed"
    assert "sandbox    none (sandbox = auto and bubblewrap (bwrap) is not installed)" in cairn("status", str(task_id)).stdout


SANDBOX_USER = "cairn-sandbox-test"


@pytest.fixture(scope="session")
def ordinary_user() -> pwd.struct_passwd:
    """An unprivileged account: made once (as root), or the one running the tests."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        pytest.skip("running as root without useradd: no ordinary user to run the sandbox as")
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", SANDBOX_USER], capture_output=True, text=True)
    if made.returncode not in (0, 9):  # 9: made meanwhile by another worker
        pytest.skip(f"cannot create a user to run the sandbox as: {made.stderr.strip()}")
    return pwd.getpwnam(SANDBOX_USER)


@pytest.mark.parametrize("who", ["root-or-self", "ordinary"])
def test_the_sandbox_confines_root_and_ordinary_users_alike(tmp_path_factory, who: str, ordinary_user) -> None:
    """The argv the runner uses, run as each kind of user.  (A whole task as the
    ordinary user would need an interpreter it can read; this one lives under /root.)"""
    from cairn.core.sandbox import SandboxSpec, bwrap_argv

    account = ordinary_user if who == "ordinary" else pwd.getpwuid(os.geteuid())
    if who == "ordinary" and account.pw_uid == os.geteuid() and os.geteuid() == 0:
        pytest.skip("no ordinary user")
    base = Path("/var/tmp") / f"cairn-sandbox-{os.getpid()}-{who}"
    shutil.rmtree(base, ignore_errors=True)
    workspace = base / "checkout" / "workspace"
    workspace.mkdir(parents=True)
    for directory in (base, base / "checkout", workspace):
        os.chown(directory, account.pw_uid, account.pw_gid)
    try:
        argv = bwrap_argv(SandboxSpec(workspace=str(workspace)), [
            "sh", "-c", "echo in > inside.txt; echo out > ../outside.txt; echo tmp > /tmp/t && cat /tmp/t; id -u",
        ])
        done = subprocess.run(argv, capture_output=True, text=True, user=account.pw_uid, group=account.pw_gid,
                              extra_groups=[], cwd=workspace, env={"PATH": "/usr/bin:/bin"})
        assert (workspace / "inside.txt").read_text() == "in\n", done.stderr
        assert not (base / "checkout" / "outside.txt").exists()
        assert "Read-only file system" in done.stderr
        assert done.stdout.split() == ["tmp", str(account.pw_uid)]
    finally:
        shutil.rmtree(base, ignore_errors=True)


CRITIC = r'''
import os
try:
    open(os.path.join(os.environ["HOME"], "critic.txt"), "w").write("x")
    home = "wrote"
except OSError as error:
    home = error.strerror
with open(os.environ["CAIRN_REVIEW_FILE"], "w") as review:
    review.write(f"port={os.environ['CAIRN_PORT']} home={home}\nVERDICT: approve\n")
'''


def test_the_reviewer_runs_in_the_sandbox_with_the_tasks_port(repo: Path, home: Path, cairn, env) -> None:
    (repo / "cairn.toml").write_text('sandbox = "bwrap"\n[reviewer]\nagent = "critic"\n')
    _profile(repo, "critic", _script(env, "critic.py", CRITIC))

    task_id = int(cairn("queue", "-a", "demo", "write a.txt: a").stdout)
    assert cairn("spawn", str(task_id), "--wait").returncode == 0

    port = _isolation(home, task_id)["port"]
    review = (home / "tasks" / str(task_id) / "review.md").read_text()
    assert review.startswith(f"port={port} home=Read-only file system"), review
    assert not (Path(env["HOME"]) / "critic.txt").exists()
    assert json.loads((home / "tasks" / str(task_id) / "state.json").read_text())["verdict"] == "approve"


#: Commits inside its own clone, as an agent with a .git of its own may.
SELF_COMMITTER = r'''
import pathlib, subprocess
pathlib.Path("mine.txt").write_text("mine\n")
subprocess.run(["git", "add", "mine.txt"], check=True)
subprocess.run(["git", "commit", "-qm", "the agent's own commit"], check=True)
'''


def test_a_sandboxed_agent_in_a_clone_commits_for_itself(repo: Path, home: Path, cairn, env) -> None:
    with open(repo / "cairn.toml", "a") as handle:
        handle.write('vcs = "clone"\n')
    _profile(repo, "committer", _script(env, "committer.py", SELF_COMMITTER), sandbox='"bwrap"')
    branches_before = git(repo, "for-each-ref", "--format=%(refname)", "refs/heads")

    task_id = _run(cairn, "committer")

    status = cairn("status", str(task_id), "--json").json()
    assert status["state"] == "review", (home / "tasks" / str(task_id) / "agent.log").read_text()
    assert status["isolation"]["sandbox"] == "bwrap"
    assert "the agent's own commit" in git(repo, "log", "--format=%s", f"main..cairn/{task_id}").splitlines()
    assert git(repo, "show", f"cairn/{task_id}:mine.txt") == "mine"
    # Only Cairn's hand-back reached the user's repository: one new branch.
    new = set(git(repo, "for-each-ref", "--format=%(refname)", "refs/heads").split()) - set(branches_before.split())
    assert new == {f"refs/heads/cairn/{task_id}"}
    accepted = cairn("accept", str(task_id))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert (repo / "mine.txt").read_text() == "mine\n"


def test_an_agent_installed_under_tmp_still_runs_in_the_sandbox(repo: Path, home: Path, cairn, env, tmp_path: Path) -> None:
    # The private /tmp would hide an install made there (a venv, a CI
    # checkout's tools): its prefix is shown read-only, libraries included.
    prefix = tmp_path / "install"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib").mkdir()
    (prefix / "lib" / "words.txt").write_text("from the install\n")
    program = prefix / "bin" / "installed-agent"
    program.write_text(f"#!/bin/sh\ncat {prefix}/lib/words.txt > made.txt\n")
    program.chmod(0o755)
    with open(repo / "cairn.toml", "a") as handle:
        handle.write('[agents.installed]\ncommand = ["installed-agent"]\nsandbox = "bwrap"\n')
    path = {"PATH": f"{prefix / 'bin'}{os.pathsep}{env['PATH']}"}
    queued = cairn("queue", "-a", "installed", "go", extra_env=path)
    assert queued.returncode == 0, queued.stderr
    cairn("spawn", queued.stdout.strip(), "--wait", extra_env=path)
    task_id = int(queued.stdout)
    state = cairn("status", str(task_id), "--json").json()
    assert state["state"] == "review", (home / "tasks" / str(task_id) / "agent.log").read_text()
    assert state["isolation"]["sandbox"] == "bwrap"
    assert git(repo, "show", f"cairn/{task_id}:made.txt") == "from the install"
