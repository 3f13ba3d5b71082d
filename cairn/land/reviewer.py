"""The reviewer agent: a second agent reads the proposal and gives a verdict.

It runs in the task's workspace after the checks pass, gets the task and the
diff in its prompt (and ``CAIRN_DIFF_FILE``), and writes its review to
``CAIRN_REVIEW_FILE`` (``tasks/<id>/review.md``) or to its output.  The verdict
is its last ``VERDICT: approve`` or ``VERDICT: request-changes`` line.
Whatever it edits in the workspace is thrown away afterwards.  With
``reviewer.auto_retry = N``, "request changes" queues a retry carrying the
review, up to N rounds; a human still accepts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from cairn.agents import children
from cairn.core.model import Task, Work
from cairn.state import atomic
from cairn.state.store import Store

_VERDICT = re.compile(r"VERDICT:\s*(approve|request[- ]changes)", re.IGNORECASE)


def reviewer_prompt(task: Task, diff: str, review_file: str) -> str:
    return (
        f"You are reviewing a change another coding agent made for this task (Cairn task {task.id}).\n\n"
        f"## The task\n\n{task.prompt.rstrip()}\n\n"
        f"## The change\n\n```diff\n{diff.rstrip()}\n```\n\n"
        f"Write your review to {review_file}. Do not edit the code.\n"
        "End with one line: `VERDICT: approve` or `VERDICT: request-changes`.\n"
    )


def parse_verdict(text: str) -> str | None:
    found = _VERDICT.findall(text)
    if not found:
        return None
    return "approve" if found[-1].lower() == "approve" else "request-changes"


def review(store: Store, settings: Any, task: Task, work: Work, log: Any, confinement: Any = None) -> str | None:
    """``confinement``: the task's sandbox, environment and ports (the runner's); None: unconfined."""
    from cairn.agents.launch import agent_environment, render_argv

    layout = store.layout
    profile = settings.config.agents[settings.config.reviewer.agent]
    review_file = layout.review_file(task.id)
    review_file.unlink(missing_ok=True)
    diff = _read(layout.preview_diff(task.id))
    prompt = reviewer_prompt(task, diff, str(review_file))
    prompt_file = layout.task_dir(task.id) / "review-prompt.md"
    atomic.write_text(prompt_file, prompt)
    files = {"CAIRN_REVIEW_FILE": str(review_file), "CAIRN_DIFF_FILE": str(layout.preview_diff(task.id))}
    argv = render_argv(profile, prompt=prompt, prompt_file=str(prompt_file), workspace=work.workspace, task_id=task.id)
    if confinement is None:
        env = agent_environment(dict(os.environ), profile, task_id=task.id, workspace=work.workspace, home=str(layout.home), prompt_file=str(prompt_file))
        env.update(files)
    else:
        from cairn.agents.sandbox import declared_paths

        env = confinement.environment(needs=tuple(profile.env_pass), profile_set=profile.env,
                                      extra={"CAIRN_PROMPT_FILE": str(prompt_file), **files})
        if confinement.mode == "bwrap":
            review_file.touch(mode=0o600)  # the one file of the state directory it may write
            home_dir = os.environ.get("HOME") or os.path.expanduser("~")
            argv = confinement.wrap(argv, writable=(*declared_paths(profile.writable, home_dir, []), str(review_file.resolve())))
    _say(log, f"reviewer {settings.config.reviewer.agent} reads the proposal")
    try:
        finished = children.run(argv, cwd=work.workspace, env=env, timeout=settings.config.timeout or None,
                                input=prompt if profile.stdin else None)
    except OSError as error:
        _say(log, f"the reviewer could not run: {error}")
        return None
    if finished.returncode is None:
        _say(log, "the reviewer timed out" if finished.timed_out else "the reviewer was stopped")
        return None
    output = finished.output
    if log is not None:
        log.write(output.encode())
    if not review_file.exists() or not review_file.read_text().strip():
        atomic.write_text(review_file, output)
    verdict = parse_verdict(review_file.read_text()) or parse_verdict(output)
    _say(log, f"reviewer verdict: {verdict or 'none given'}")
    return verdict


def auto_retry(store: Store, settings: Any, task: Task, work: Work, log: Any) -> int | None:
    """Queue the next round when the rounds allow: the retry starts from this
    attempt's work, kept under its trash ref.  The new task's id, or None."""
    from cairn.land.reject import trash_ref
    from cairn.land.retry import attempts, queue_retry
    from cairn.vcs.git import git

    rounds = settings.config.reviewer.auto_retry
    if attempts(store, task.id) > rounds:
        if rounds:
            _say(log, f"the reviewer asked for changes; {rounds} automatic retries used, a human decides now")
        return None
    if work.backend == "jj":
        ref = work.head_commit  # jj keeps the commit findable by id once the change is abandoned
    else:
        ref = trash_ref(task.id)
        git(settings.root, "update-ref", "-m", f"cairn review {task.id}", ref, work.head_commit or work.branch)
    layout = store.layout
    feedback = "A reviewer requested changes:\n\n" + _read(layout.review_file(task.id))
    new = queue_retry(store, task, feedback=feedback, start_from=ref, stat=_read(layout.preview_stat(task.id)), diff=_read(layout.preview_diff(task.id)))
    store.journal("auto-retry", task=task.id, retry=new.id)
    _say(log, f"the reviewer asked for changes: retry queued as task {new.id}")
    return new.id


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _say(log: Any, line: str) -> None:
    if log is not None:
        log.write(f"[cairn] {line}\n".encode())
        log.flush()
