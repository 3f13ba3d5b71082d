"""Tasks marked ``running`` whose runner is gone.

The runner's flock is the truth: if ``tasks/<id>/runner.lock`` is free, no
runner lives for that task, whatever pids say.  Then:
- it recorded an outcome (``exit.json``): finish the task as it would have;
- it did not: stop the agent if it still lives (checked by pid *and* start
  time), commit what it left, and fail the task saying the runner died.
Either way every process still marked as working for the task (a check's
children) is stopped first, and what a check, setup or reviewer left in the
workspace is dropped, never committed as the agent's work (finish.py).
Safe to run from several processes at once: ``finish`` works under the task's
lock and only on a task still ``running``.
"""

from __future__ import annotations

import time
from typing import Any

from cairn.core.model import Running
from cairn.engine.finish import finish, read_outcome, record_outcome
from cairn.engine.outcome import Outcome
from cairn.state.lock import is_held
from cairn.state.store import Store


def runner_alive(store: Store, task_id: int) -> bool:
    return is_held(store.layout.runner_lock(task_id))


def recover(store: Store, settings: Any, task_id: int) -> str | None:
    """Finish a running task whose runner died; its new state, or None if it needed nothing."""
    if runner_alive(store, task_id):
        return None
    state = store.read_state(task_id)
    if not isinstance(state, Running):
        return None
    outcome = read_outcome(store, task_id)
    if outcome is None and state.executor is not None:
        return _adopt(store, settings, task_id, state)
    cancel = store.layout.signals / f"cancel-{task_id}"
    if outcome is None and cancel.exists():
        from cairn.agents.processes import is_same_process, stop_tree

        if state.agent_pid and is_same_process(state.agent_pid, state.agent_started):
            stop_tree(state.agent_pid, state.agent_started)
        outcome = Outcome(ending="cancelled", finished=time.time(), reason="cancelled by the user")
        record_outcome(store, task_id, outcome)
    if outcome is None:
        from cairn.agents.processes import is_same_process, stop_tree

        if state.agent_pid is None and state.agent_launched is None:
            reason = "its runner died before the agent started"
        elif state.agent_pid is None:
            reason = "its runner died after starting the agent, before it could record its pid; the agent no longer runs (its exit status is unknown)"
        elif is_same_process(state.agent_pid, state.agent_started):
            stop_tree(state.agent_pid, state.agent_started)
            reason = "its runner died while the agent ran; the agent was stopped now"
        else:
            # The agent is tied to its runner's death (runner.py): it ended
            # with it, and no one was left to see how.
            reason = "its runner died before it could record how the agent ended; the agent no longer runs (its exit status is unknown)"
        outcome = Outcome(ending="runner-died", finished=time.time(), reason=reason)
        record_outcome(store, task_id, outcome)
    from cairn.agents.processes import stop_working_for

    # Whatever still works for the task (a check's children, a setup's
    # daemon) must not write on in the workspace while its work is saved.
    stop_working_for(store.layout.task_dir(task_id))
    store.journal("recovered", task=task_id, reason=outcome.reason)
    return finish(store, settings, task_id, outcome, recovering=True)


def _adopt(store: Store, settings: Any, task_id: int, state: Running) -> str | None:
    """A remote task whose local watcher is gone: its job may well go on.
    With a job id, a new watcher takes it over (a cancel waiting for it
    included); without one, the submission never completed, and the task
    fails rather than risk a second job."""
    if state.job_id is None:
        reason = f"Cairn stopped while submitting it to {state.executor}; nothing is submitted again (check the cluster for a job named {job_name_of(settings, task_id)})"
        outcome = Outcome(ending="runner-died", finished=time.time(), reason=reason)
        record_outcome(store, task_id, outcome)
        store.journal("recovered", task=task_id, reason=reason)
        return finish(store, settings, task_id, outcome, recovering=True)
    from cairn.engine.launch import launch

    launch(settings, task_id, adopt=True)
    store.journal("adopted", task=task_id, executor=state.executor, job=state.job_id)
    return None


def job_name_of(settings: Any, task_id: int) -> str:
    from cairn.executors.shipping import job_name

    return job_name(settings.root, task_id)
