"""Instants: seconds since the epoch in memory, ISO 8601 UTC text on disk
(``2026-12-01T23:10:00.123Z``, milliseconds).

Apart from the codec so that what only stamps a time (the journal's ``ts``,
``cairn queue``) imports neither ``datetime`` nor the codec's ``typing``
machinery; the text is exactly what ``datetime.isoformat(timespec=
"milliseconds")`` writes (tests/test_core.py compares the two).
"""

from __future__ import annotations

import time


def instant_to_text(value: float) -> str:
    # As datetime.fromtimestamp does: the fraction rounded half-even to
    # microseconds (a carry moves the second), then cut to milliseconds.
    whole = value // 1
    micros = round((value - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole += 1
        micros -= 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros // 1000:03d}Z"


def text_to_instant(text: str) -> float:
    from datetime import datetime  # only where a record is read back

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
