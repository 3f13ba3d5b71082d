"""The agent's machine-readable output, kept whole and shown readable.

For a profile with a ``report`` format, the runner passes what the agent
prints through a ``Transcript``: each JSON event line goes, as printed, to
``tasks/<id>/agent.jsonl`` (parsed into ``report.json`` when the agent ends)
and, rendered as a line a person reads, to ``agent.log``; any other line
(warnings, stderr) goes to ``agent.log`` as it is.  So ``cairn logs`` and
``attach`` stay readable while nothing the agent reported is lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from cairn.core.reports import AgentReport, render, summarize


class Transcript:
    def __init__(self, fmt: str, log: IO[bytes], events: Path) -> None:
        self.fmt = fmt
        self.log = log
        self.events_path = events
        self.events = open(events, "ab", buffering=0)
        self.partial = b""
        #: Every event so far, for a running report (budgets).
        self.seen: list[dict[str, Any]] = []

    def feed(self, data: bytes) -> bytes:
        """Take a chunk of output; what it wrote to the log (for a terminal to show too)."""
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > 1 << 20:  # a "line" that never ends is no event
            lines.append(self.partial)
            self.partial = b""
        shown = b"".join(self._line(line) for line in lines)
        if shown:
            self.log.write(shown)
        return shown

    def report(self) -> AgentReport:
        """What the agent has reported so far."""
        return summarize(self.fmt, self.seen)

    def close(self) -> None:
        if self.partial:
            self.log.write(self._line(self.partial))
            self.partial = b""
        self.events.close()

    def _line(self, raw: bytes) -> bytes:
        line = raw.rstrip(b"\r")
        event = _event(line)
        if event is None:
            return line + b"\n"
        self.events.write(line + b"\n")
        self.seen.append(event)
        text = render(self.fmt, event)
        return (text.rstrip("\n") + "\n").encode() if text else b""


def read_report(fmt: str, events: Path) -> AgentReport:
    """The report folded from a transcript's events (none recorded: an empty report)."""
    parsed: list[dict[str, Any]] = []
    try:
        with open(events, "rb") as handle:
            for line in handle:
                event = _event(line.strip())
                if event is not None:
                    parsed.append(event)
    except OSError:
        pass
    return summarize(fmt, parsed)


def _event(line: bytes) -> dict[str, Any] | None:
    if not line.startswith(b"{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
