"""When an agent counts as idle: its output not growing for ``idle_after``
seconds.  One rule for a local agent (its log, which it writes itself) and a
remote one (its log as copied here while the job prints it), so ``cairn
status``, the TUI and notifications say "idle" of both alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Silence:
    """Told at each look whether the output grew; calls ``set_idle(since)``
    once when the agent turns idle (``since``: the wall-clock time of its last
    output) and ``set_idle(None)`` once when it speaks again.  ``idle_after``
    0 or None: never idle."""

    def __init__(self, idle_after: float | None, set_idle: Callable[[float | None], None]) -> None:
        self.idle_after = idle_after
        self.set_idle = set_idle
        self.last_output: float | None = None
        self.idle = False

    def saw(self, *, grew: bool) -> None:
        now = time.monotonic()
        if grew or self.last_output is None:
            self.last_output = now
            if self.idle:
                self.idle = False
                self.set_idle(None)
        elif not self.idle and self.idle_after and now - self.last_output >= self.idle_after:
            self.idle = True
            self.set_idle(time.time() - (now - self.last_output))

    def left(self) -> float | None:
        """Seconds until the agent would turn idle if it stays quiet; None when
        that cannot happen (idle already, or no idleness configured)."""
        if self.idle or not self.idle_after or self.last_output is None:
            return None
        return max(0.0, self.idle_after - (time.monotonic() - self.last_output))
