"""``tasks/<id>/gc.json``: what gc did to a task (docs/gc.md, docs/state-directory.md).

Written by gc under the task's lock; read by gc itself and by restore, which
refuses work whose trash gc expired.
"""

from __future__ import annotations

import json
from pathlib import Path

from cairn.core import codec
from cairn.core.gc import GcRecord


def read_record(path: Path) -> GcRecord:
    """The record at ``path``; an empty one when there is none or it cannot be read."""
    try:
        return codec.decode(GcRecord, json.loads(path.read_bytes()))
    except (OSError, ValueError, codec.DecodeError):
        return GcRecord()
