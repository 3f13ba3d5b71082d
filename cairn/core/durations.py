"""Durations and sizes as people write them: ``90s``, ``10m``, ``1h30m``, ``2d``; ``500M``, ``2G``."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", re.IGNORECASE)

DURATION_HELP = "a duration such as 90s, 10m, 2h, 1d or 1h30m"
SIZE_HELP = "a size such as 500M, 2G or 1T"


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError naming the accepted forms."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        raise ValueError(f"empty duration: expected {DURATION_HELP}")
    position, total = 0, 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(cleaned):
        raise ValueError(f"cannot read {text!r} as a duration: expected {DURATION_HELP}")
    return total


def format_duration(seconds: float) -> str:
    """The shortest readable form, two units at most: ``45s``, ``3m``, ``2h05m``, ``3d4h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours}h{rest // 60:02d}m" if rest >= 60 else f"{hours}h"
    days, rest = divmod(seconds, 86400)
    return f"{days}d{rest // 3600}h" if rest >= 3600 else f"{days}d"


def parse_size(text: str) -> int:
    """Bytes in ``text`` (binary units); raises ValueError naming the accepted forms."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"cannot read {text!r} as a size: expected {SIZE_HELP}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
