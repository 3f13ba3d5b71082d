"""Instants: seconds since the epoch in memory, ISO 8601 UTC text on disk
(``2026-12-01T23:10:00.123Z``, milliseconds).

Apart from the codec so that what only stamps a time (the journal's ``ts``,
``cairn queue``) imports neither ``datetime`` nor the codec's ``typing``
machinery; the text is exactly what ``datetime.isoformat(timespec=
"milliseconds")`` writes, and reading Cairn's own text back gives exactly
what ``datetime.fromisoformat(...).timestamp()`` gives, without importing it
(tests/test_core.py compares them).
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
    # The shape Cairn writes (``2026-12-01T23:10:00.123Z``) is read here, to the
    # bit what datetime reads; any other ISO 8601 text is left to datetime.
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19] + text[20:23]
    if len(text) == 24 and text[4] + text[7] + text[10] + text[13] + text[16] + text[19] + text[23] == "--T::.Z" \
            and digits.isascii() and digits.isdigit():
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
        hour, minute, second, millis = int(text[11:13]), int(text[14:16]), int(text[17:19]), int(text[20:23])
        if year >= 1 and 1 <= month <= 12 and 1 <= day <= _days_in(year, month) and hour < 24 and minute < 60 and second < 60:
            seconds = ((_days_since_epoch(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
            return (seconds * 1_000_000 + millis * 1000) / 1_000_000
    from datetime import datetime  # only for text another program wrote

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_since_epoch(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to the date (proleptic Gregorian), by whole-number arithmetic."""
    year -= month <= 2
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    of_era_days = of_era * 365 + of_era // 4 - of_era // 100 + of_year
    return era * 146097 + of_era_days - 719468
