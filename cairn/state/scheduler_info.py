"""Is a scheduler running for this state directory, and which?

The scheduler holds ``locks/scheduler.lock`` for its whole life; that lock is
the truth.  ``scheduler.json`` only adds its pid for messages.
"""

from __future__ import annotations

import json

from cairn.state.layout import Layout
from cairn.state.lock import is_held


def running_scheduler(layout: Layout) -> int | None:
    """The running scheduler's pid (0 if it cannot be read), or None if none runs."""
    if not is_held(layout.scheduler_lock):
        return None
    try:
        return int(json.loads(layout.scheduler_info.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def current_holds(layout: Layout) -> dict[str, str]:
    """Agent -> why the running scheduler holds its tasks (``holds.json``); none when no scheduler runs."""
    if not is_held(layout.scheduler_lock):
        return {}
    try:
        data = json.loads(layout.holds.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
