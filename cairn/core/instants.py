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
    whole, micros = _split(value)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros // 1000:03d}Z"


def as_stored(value: float) -> float:
    """The instant a record written with ``value`` holds once read back:
    ``text_to_instant(instant_to_text(value))``, to the bit, without datetime
    (its timestamp is whole microseconds divided by a million, as here)."""
    whole, micros = _split(value)
    return (int(whole) * 1_000_000 + micros // 1000 * 1000) / 1_000_000


def _split(value: float) -> tuple[float, int]:
    # As datetime.fromtimestamp does: the fraction rounded half-even to
    # microseconds (a carry moves the second); the text then cuts it to milliseconds.
    whole = value // 1
    micros = round((value - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole += 1
        micros -= 1_000_000
    return whole, micros


def text_to_instant(text: str) -> float:
    from datetime import datetime  # only where a record is read back

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
