"""Reading ``tasks/<id>/report.json``: what a task's agent reported (docs/state-directory.md).

Plain JSON, no record classes, so ``cairn status ID`` and the scheduler's
budget check read it cheaply; a missing or corrupt file is no report.
"""

from __future__ import annotations

import json
from typing import Any

from cairn.state.layout import Layout


def read_report(layout: Layout, task_id: int) -> dict[str, Any] | None:
    try:
        data = json.loads(layout.report_file(task_id).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
