"""``cairn plan``: a planner agent turns a goal into a plan file.

The planner is an agent profile (``planner.agent``, else ``default_agent``)
run once, in a read-only copy of the repository at the target's tip (``git
archive``: files and folders without write permission, no ``.git``, so
nothing it does can reach the repository or its refs), with the prompt of
``planner-prompt.md`` beside this file — a template versioned by its first
line and ``PROMPT_VERSION``.  It writes the plan to ``CAIRN_PLAN_FILE``
(also named in the prompt); Cairn checks it (cairn/core/plan.py) and keeps
it under ``plans/drafts/`` so a human can edit it and queue it with
``cairn queue --from``.  The copy is removed afterwards, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from cairn.core.plan import Plan, PlanError, load
from cairn.errors import OperationFailed, UsageError
from cairn.vcs.git import git

PROMPT_VERSION = 1
TEMPLATE = Path(__file__).with_name("planner-prompt.md")
DEFAULT_MAX_TASKS = 8


@dataclass(frozen=True, slots=True)
class Drafted:
    plan: Plan
    #: The plan file as the planner wrote it, kept for editing.
    draft: Path
    agent: str
    log: Path


def planner_prompt(*, goal: str, target: str, tip: str, plan_file: str, max_tasks: int) -> str:
    return Template(TEMPLATE.read_text()).safe_substitute(
        goal=goal.strip(), target=target, tip=tip[:12], plan_file=plan_file, max_tasks=max_tasks,
    )


def draft(settings: Any, store: Any, goal: str, *, agent: str | None, max_tasks: int, target: str, say: Any) -> Drafted:
    from cairn.agents import children
    from cairn.agents.launch import render_argv

    config = settings.config
    name = agent or config.planner.agent or config.default_agent
    if name not in config.agents:
        raise UsageError(f"unknown agent {name!r} for the planner; known agents: {', '.join(sorted(config.agents))}",
                         hint="set planner.agent in cairn.toml, or give --agent NAME (docs/crew.md)")
    profile = config.agents[name]
    root: Path = settings.root
    tip = git(root, "rev-parse", "--verify", f"{target}^{{commit}}")
    layout = store.layout
    run_dir = layout.tmp / f"plan-{os.getpid()}-{time.time_ns()}"
    snapshot = run_dir / "repo"
    snapshot.mkdir(parents=True)
    plan_file = run_dir / "plan"
    prompt_file = run_dir / "prompt.md"
    log_path = run_dir / "planner.log"
    try:
        _read_only_copy(root, tip, snapshot)
        prompt = planner_prompt(goal=goal, target=target, tip=tip, plan_file=str(plan_file), max_tasks=max_tasks)
        prompt_file.write_text(prompt)
        argv = render_argv(profile, prompt=prompt, prompt_file=str(prompt_file), workspace=str(snapshot), task_id=0)
        argv, env = _confined(settings, profile, argv, snapshot=snapshot, run_dir=run_dir, prompt_file=prompt_file,
                              extra={"CAIRN_PLAN_FILE": str(plan_file), "CAIRN_PLAN_GOAL": goal}, say=say)
        say(f"planner {name} reads the repository at {target} ({tip[:12]})")
        try:
            with open(log_path, "wb") as log:
                finished = children.run(argv, cwd=snapshot, env=env, timeout=config.planner.timeout,
                                        stdout=log, input=prompt if profile.stdin else None)
        except FileNotFoundError:
            raise UsageError(f"the planner's command {profile.command[0]!r} is not installed",
                             hint=f"install it, or choose another profile with --agent (agents.{name})") from None
        kept_log = _keep(layout, log_path, f"planner-{time.strftime('%Y%m%d-%H%M%S')}.log")
        if finished.returncode != 0:
            how = "timed out" if finished.timed_out else f"exited with status {finished.returncode}"
            raise OperationFailed(f"the planner {name} {how}; nothing was queued", hint=f"its output is in {kept_log}")
        if not plan_file.is_file():
            raise OperationFailed(f"the planner {name} wrote no plan to CAIRN_PLAN_FILE; nothing was queued",
                                  hint=f"its output is in {kept_log}")
        text = plan_file.read_bytes().decode("utf-8", errors="replace")
        suffix = ".json" if text.lstrip().startswith("{") else ".toml"
        kept = _keep(layout, plan_file, _draft_name(goal, suffix))
        try:
            plan = load(text, str(kept), agents=list(config.agents))
        except PlanError as error:
            raise PlanError(str(kept), [*error.problems]) from None
        if len(plan.entries) > max_tasks:
            raise PlanError(str(kept), [f"{len(plan.entries)} tasks, more than --max-tasks {max_tasks}"])
        return Drafted(plan=plan, draft=kept, agent=name, log=kept_log)
    finally:
        _remove(run_dir)


def _confined(settings: Any, profile: Any, argv: list[str], *, snapshot: Path, run_dir: Path, prompt_file: Path,
              extra: dict[str, str], say: Any) -> tuple[list[str], dict[str, str]]:
    """The planner's argv and environment under the configured sandbox (cairn/agents/sandbox.py):
    with bwrap, the whole machine is read-only but the copy, ``run_dir`` (where the plan goes)
    and the profile's own writable paths, and root's power to write read-only files is dropped."""
    from cairn.agents.launch import task_variables
    from cairn.agents.sandbox import confine, declared_paths, requested

    config = settings.config
    network = profile.sandbox_network if profile.sandbox_network is not None else config.sandbox_network
    confinement = confine(
        settings, task_id=0, workspace=str(snapshot), mode=requested(config, profile, None), network=network,
        base_env=dict(os.environ), own_profile=profile,
        cairn_env=task_variables(0, str(snapshot), str(settings.layout.home), str(prompt_file), None),
    )
    env = confinement.environment(needs=tuple(profile.env_pass), profile_set=profile.env,
                                  extra={"CAIRN_PROMPT_FILE": str(prompt_file), **extra})
    if confinement.mode != "bwrap":
        say(f"planner not sandboxed: {confinement.why}")
        return argv, env
    home_dir = os.environ.get("HOME") or os.path.expanduser("~")
    writable = (*declared_paths(profile.writable, home_dir, []), str(run_dir.resolve()))
    return confinement.wrap(argv, writable=writable), env


def _read_only_copy(root: Path, tip: str, into: Path) -> None:
    """The tree at ``tip``, unpacked from ``git archive``, then made read-only."""
    archive = subprocess.Popen(["git", "archive", "--format=tar", tip], cwd=root, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert archive.stdout is not None
    with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
        tar.extractall(into, filter="data")
    _, errors = archive.communicate()
    if archive.returncode != 0:
        raise OperationFailed(f"git archive {tip[:12]} failed: {errors.decode(errors='replace').strip()}")
    for directory, folders, files in os.walk(into):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~0o222)
        os.chmod(directory, 0o555)


def _remove(path: Path) -> None:
    if not path.exists():
        return
    for directory, _, _ in os.walk(path):
        os.chmod(directory, 0o755)  # read-only folders cannot be emptied
    shutil.rmtree(path, ignore_errors=True)


def _keep(layout: Any, path: Path, name: str) -> Path:
    drafts = layout.plans / "drafts"
    drafts.mkdir(parents=True, exist_ok=True)
    kept = drafts / name
    number = 1
    while kept.exists():
        number += 1
        kept = drafts / f"{Path(name).stem}-{number}{Path(name).suffix}"
    if path.exists():
        shutil.copyfile(path, kept)
    else:
        kept.write_text("")
    return kept


def _draft_name(goal: str, suffix: str) -> str:
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", goal.lower()).strip("-")[:40].strip("-") or "plan"
    return f"{slug}{suffix}"
