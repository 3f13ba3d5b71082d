"""What an agent's printed output says about how it is doing.  Pure.

The runner feeds what the agent prints, as it arrives, to a ``StuckWatch``
built from the profile's ``stuck`` rules: a login prompt no one will answer,
a reconnect loop that never ends.  When the agent has exited, ``failure_in``
looks for the lines a profile says mean failure (Aider exits 0 when every
call to its model failed), and ``last_words`` gives the line that explains a
failed exit, so a task's reason is the agent's own, not just a status number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")
#: A reason is one line in ``cairn status``: long agent lines are cut.
MAX_WORDS = 300


def plain(line: str) -> str:
    """A line without terminal colours and carriage returns."""
    return _ANSI.sub("", line).strip()


class StuckWatch:
    """Counts, line by line, how often each rule's pattern was seen."""

    def __init__(self, rules: Sequence[Any]) -> None:
        self.rules = [(re.compile(rule.output), rule) for rule in rules]
        self.counts = [0] * len(self.rules)
        self.partial = ""

    def feed(self, text: str) -> str | None:
        """The reason of the first rule that reached its count, else None."""
        if not self.rules:
            return None
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()[-4096:]
        for line in lines:
            found = self._match(line)
            if found:
                return found
        # A prompt waiting for an answer ends without a newline.
        return self._match(self.partial, count=False)

    def _match(self, line: str, count: bool = True) -> str | None:
        for index, (pattern, rule) in enumerate(self.rules):
            if pattern.search(line):
                seen = self.counts[index] + 1
                if count:
                    self.counts[index] = seen
                if seen >= rule.times:
                    return str(rule.reason)
        return None


def failure_in(patterns: Iterable[str], text: str, recovered: Iterable[str] = ()) -> str | None:
    """The first agent line matching one of ``patterns`` after the last line
    matching one of ``recovered``, as a reason; None if there is none."""
    failures = [re.compile(p) for p in patterns]
    successes = [re.compile(p) for p in recovered]
    if not failures:
        return None
    found = None
    for line in text.splitlines():
        line = plain(line)
        if line.startswith("[cairn]"):
            continue
        if any(p.search(line) for p in successes):
            found = None
        elif found is None and any(p.search(line) for p in failures):
            found = _cut(line)
    return found


def last_words(text: str) -> str | None:
    """The agent's last non-empty line (Cairn's own lines skipped)."""
    for line in reversed(text.splitlines()):
        line = plain(line)
        if line and not line.startswith("[cairn]"):
            return _cut(line)
    return None


def _cut(line: str) -> str:
    return line if len(line) <= MAX_WORDS else line[: MAX_WORDS - 1] + "…"
