"""The one JSON shape of a task, whatever command prints it.

``cairn queue --json``, ``status --json`` (a list of them), ``status ID
--json``, ``retry``, ``accept``, ``reject``, ``cancel``, ``restore`` and
``spawn --json`` all print this object, so ``jq .id`` or ``jq .state`` works
on any of them.  Flat fields first — the ones people filter on, ``state`` a
plain string — then ``detail``: the task's two records exactly as they are in
the state directory (docs/state-directory.md), for everything else.

``format`` numbers the shape.  A field may be added within a format; one
removed or changed in meaning bumps it.  The JSON Schema is
cairn/schemas/task.schema.json (docs/cli.md); tests validate real output
against it.
"""

from __future__ import annotations

from typing import Any

from cairn.core import codec
from cairn.core.summary import summarize

#: Version of the shape; ``format`` in every object, and ``const`` in the schema.
TASK_JSON_FORMAT = 1


def task_json(task: Any, state: Any, waiting: str | None = None) -> dict[str, Any]:
    """``waiting``: why a queued task waits (or why a running one looks dead), as `cairn status` says."""
    summary = summarize(task, state)
    flat = summary._asdict()
    flat["created"] = codec.instant_to_text(summary.created)
    flat["since"] = codec.instant_to_text(summary.since)
    flat["idle_since"] = codec.instant_to_text(summary.idle_since) if summary.idle_since else None
    return {
        "format": TASK_JSON_FORMAT,
        **flat,
        "waiting": waiting,
        "detail": {"task": codec.encode(task), "state": codec.encode(state)},
    }
