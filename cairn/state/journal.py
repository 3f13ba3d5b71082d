"""Reading ``events.jsonl``, the append-only journal (the writer is Store.journal).

Invariants a reader relies on (docs/state-directory.md):
- each record is one line, appended with a single write(2), so a line is
  either whole or, after a crash or while an append is in flight, the last
  line lacks its newline: such a torn tail is never returned, and a follower
  picks it up once its newline arrives;
- a line that is not a JSON object is reported by its line number and
  skipped, never fatal;
- the file only grows; if it shrinks (someone truncated or replaced it), a
  follower starts again from its beginning.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Entry:
    """One whole line of the journal: the raw text and, if it parsed, its record."""

    line: str
    number: int
    record: dict[str, Any] | None


@dataclass(slots=True)
class Reader:
    """Reads whole lines from where it left off; ``read()`` again for what is new."""

    path: Path
    position: int = 0
    number: int = 0
    identity: tuple[int, int] | None = field(default=None)

    def read(self) -> list[Entry]:
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return []
        with handle:
            st = os.fstat(handle.fileno())
            identity = (st.st_dev, st.st_ino)
            if self.identity is not None and (identity != self.identity or st.st_size < self.position):
                self.position = self.number = 0  # replaced or truncated: start over
            self.identity = identity
            handle.seek(self.position)
            data = handle.read()
        end = data.rfind(b"\n") + 1  # a torn last line waits for its newline
        entries = []
        for raw in data[:end].splitlines():
            self.number += 1
            line = raw.decode("utf-8", errors="replace")
            if line.strip():
                entries.append(Entry(line, self.number, parse(line)))
        self.position += end
        return entries


def parse(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every whole, readable record, oldest first."""
    return [entry.record for entry in Reader(path).read() if entry.record is not None]
