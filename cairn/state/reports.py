"""Reading the small JSON records the runner leaves beside a task: ``report.json``
(what its agent reported) and ``isolation.json`` (how it was confined).

Plain JSON, no record classes, so ``cairn status ID`` and the scheduler's
budget check read them cheaply; a missing or corrupt file is no record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cairn.state.layout import Layout


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_report(layout: Layout, task_id: int) -> dict[str, Any] | None:
    return read_record(layout.report_file(task_id))
