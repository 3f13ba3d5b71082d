"""The runner on a cluster node: one job, one task (docs/executors.md).

    cairn-remote-run SPEC.json        (python -m cairn.engine.remote_runner SPEC.json)

It clones the repository at the task's base (from the git remote, or from a
bundle shipped with the job), runs the bootstrap's setup commands, starts the
agent in its own process group and supervises it as the local runner does:
the task's timeout, a stop from the engine (SIGTERM: Ray's stop, scancel),
processes the agent leaves behind (it is a child subreaper).  Then it commits
everything to ``cairn/<id>`` and sends the branch back: pushed to the remote,
or written as a bundle on the shared filesystem.

What must always hold:
- a stopped job sends nothing back: cancel means no work arrives, ever;
- nothing here reads or writes the state directory: the local Cairn is the
  only writer of its records, and learns the outcome from the engine (the
  exit status) and from the branch;
- no credential travels in the spec: the agent's come from the node's own
  environment and files.

Everything it and the agent print goes to standard output, which the
engine keeps as the job's log; the local runner copies that to agent.log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Exit codes the local side reads (engine/remote.py): the agent's own status
#: passes through; these mean Cairn itself could not get as far as the agent.
EXIT_SETUP_FAILED = 90
EXIT_STOPPED = 143

SPEC_FORMAT = 1


def say(line: str) -> None:
    sys.stdout.write(f"[cairn] {line}\n")
    sys.stdout.flush()


class Stopped(Exception):
    pass


class RemoteRunner:
    def __init__(self, spec: dict[str, Any], spec_dir: Path) -> None:
        self.spec = spec
        self.spec_dir = spec_dir
        self.task_id = int(spec["task_id"])
        self.branch = spec["branch"]
        self.stopping = False
        self.agent: subprocess.Popen[bytes] | None = None

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        from cairn.agents.processes import become_subreaper

        become_subreaper()
        scratch = Path(tempfile.mkdtemp(prefix=f"cairn-{self.task_id}-"))
        workspace = scratch / "work"
        try:
            self._clone(workspace)
            env = self._environment(workspace, scratch)
            self._setup(workspace, env)
            code = self._agent(workspace, env)
            if self.stopping:
                raise Stopped
            self._send_back(workspace)
            say(f"the agent exited with status {code}")
            return code if 0 <= code < 256 else 1
        except Stopped:
            say("stopped: nothing is sent back")
            return EXIT_STOPPED
        except RemoteFailure as error:
            say(f"error: {error}")
            return EXIT_SETUP_FAILED
        finally:
            from cairn.agents.processes import stop_descendants

            if stop_descendants():
                say("stopped processes the agent left behind")
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)

    def _on_stop(self, number: int, _frame: Any) -> None:
        self.stopping = True
        from cairn.agents import children

        children.stop_all()
        if self.agent is not None and self.agent.poll() is None:
            try:
                os.killpg(self.agent.pid, signal.SIGTERM)
            except OSError:
                pass

    # -- the steps ------------------------------------------------------------

    def _clone(self, workspace: Path) -> None:
        base = self.spec["base"]
        if base.get("url"):
            source = base["url"]
        else:  # shipped with the job: beside the spec (Ray's working_dir) or on the shared filesystem
            bundle = Path(base["bundle"])
            source = str(bundle if bundle.is_absolute() else self.spec_dir / bundle)
        say(f"task {self.task_id}: {self.spec['title']}")
        say(f"cloning {base['ref']} from {source}")
        _git(None, "init", "--quiet", str(workspace))
        _git(workspace, "fetch", "--quiet", "--no-tags", source, f"{base['ref']}:refs/cairn/base")
        _git(workspace, "checkout", "--quiet", "-b", self.branch, base["commit"])
        if self.stopping:
            raise Stopped

    def _environment(self, workspace: Path, scratch: Path) -> dict[str, str]:
        from cairn.agents.launch import agent_environment
        from cairn.config.schema import AgentProfile

        self.profile = AgentProfile(**self.spec["agent"])
        self.prompt_file = scratch / "prompt.md"
        self.prompt_file.write_text(self.spec["prompt"])
        env = dict(os.environ)
        env.update(self.spec.get("env") or {})
        return agent_environment(env, self.profile, task_id=self.task_id, workspace=str(workspace),
                                 home=str(scratch), prompt_file=str(self.prompt_file))

    def _setup(self, workspace: Path, env: dict[str, str]) -> None:
        from cairn.config.schema import Bootstrap
        from cairn.errors import CairnError
        from cairn.workspaces.bootstrap import bootstrap

        setup = self.spec.get("setup") or []
        if not setup:
            return
        config = Bootstrap(setup=setup, setup_timeout=float(self.spec.get("setup_timeout") or 600))
        try:
            bootstrap(config, workspace, workspace, sys.stdout.buffer, env)
        except CairnError as error:
            if self.stopping:
                raise Stopped from None
            raise RemoteFailure(str(error)) from None

    def _agent(self, workspace: Path, env: dict[str, str]) -> int:
        from cairn.agents.launch import render_argv

        argv = render_argv(self.profile, prompt=self.spec["prompt"], prompt_file=str(self.prompt_file),
                           workspace=str(workspace), task_id=self.task_id)
        say(f"starting: {argv[0]} …")
        sys.stdout.flush()
        try:
            self.agent = subprocess.Popen(
                argv, cwd=workspace, env=env, start_new_session=True,
                stdin=subprocess.PIPE if self.profile.stdin else subprocess.DEVNULL,
                stdout=sys.stdout.fileno(), stderr=subprocess.STDOUT,
            )
        except OSError as error:
            raise RemoteFailure(f"cannot start the agent {argv[0]!r} on this node: {error.strerror or error}") from None
        say(f"agent started (pid {self.agent.pid})")
        if self.profile.stdin and self.agent.stdin is not None:
            import threading

            from cairn.engine.runner import _feed

            threading.Thread(target=_feed, args=(self.agent.stdin, self.spec["prompt"].encode()), daemon=True).start()
        timeout = self.spec.get("timeout")
        deadline = time.monotonic() + float(timeout) if timeout else None
        while True:
            try:
                return self.agent.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            if self.stopping:
                self._stop_agent()
                raise Stopped
            if deadline is not None and time.monotonic() >= deadline:
                say(f"timed out after {timeout:g}s: stopping the agent")
                self._stop_agent()
                # The work so far still goes back, as a local timeout keeps it.
                return 124

    def _stop_agent(self) -> None:
        from cairn.agents.processes import stop_tree

        assert self.agent is not None
        stop_tree(self.agent.pid)
        try:
            self.agent.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.agent.kill()
            self.agent.wait()

    def _send_back(self, workspace: Path) -> None:
        from cairn.vcs.git import identity_env

        _git(workspace, "add", "-A")
        if subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=workspace).returncode != 0:
            message = f"{self.spec['title']}\n\nCairn task {self.task_id}\n"
            _git(workspace, "commit", "--quiet", "--no-verify", "-m", message, env=identity_env(workspace))
        if self.stopping:
            raise Stopped
        head = _git(workspace, "rev-parse", "HEAD")
        result = self.spec["result"]
        if result.get("url"):
            _git(workspace, "push", "--quiet", result["url"], f"HEAD:refs/heads/{self.branch}")
            say(f"pushed {self.branch} at {head[:12]}")
        else:
            path = Path(result["bundle"])
            staging = path.with_name(f".{path.name}.{os.getpid()}")
            _git(workspace, "bundle", "create", "--quiet", str(staging), f"refs/heads/{self.branch}")
            os.replace(staging, path)
            say(f"wrote {self.branch} at {head[:12]} to {path}")


class RemoteFailure(Exception):
    pass


def _git(cwd: Path | None, *args: str, env: dict[str, str] | None = None) -> str:
    full = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    if env:
        full.update(env)
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=full)
    if done.returncode != 0:
        raise RemoteFailure(f"git {args[0]} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: cairn-remote-run SPEC.json  (run by a cluster job; docs/executors.md)\n")
        return 2
    path = Path(args[0]).resolve()
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        say(f"error: cannot read the job spec {path}: {error}")
        return EXIT_SETUP_FAILED
    if spec.get("format") != SPEC_FORMAT:
        say(f"error: job spec format {spec.get('format')!r}; this Cairn reads format {SPEC_FORMAT}: install the same Cairn on the nodes")
        return EXIT_SETUP_FAILED
    return RemoteRunner(spec, path.parent).run()


if __name__ == "__main__":
    sys.exit(main())
