"""Could two ``--lock`` globs ever match the same path?

Sound, not exact: when in doubt the answer is yes, because a false "yes" only
makes two tasks take turns, while a false "no" lets them edit the same file
at once.  Globs are ``/``-separated; ``*``, ``?`` and ``[...]`` stay within a
segment and ``**`` spans any number of segments, as in ``cairn queue --lock``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

_WILD = set("*?[")


def _has_wildcard(segment: str) -> bool:
    return any(c in _WILD for c in segment)


def _literal_prefix(segment: str) -> str:
    for index, char in enumerate(segment):
        if char in _WILD:
            return segment[:index]
    return segment


def _literal_suffix(segment: str) -> str:
    for index in range(len(segment) - 1, -1, -1):
        if segment[index] in _WILD or segment[index] == "]":
            return segment[index + 1 :]
    return segment


def _segments_overlap(a: str, b: str) -> bool:
    if not _has_wildcard(a):
        return fnmatchcase(a, b) if _has_wildcard(b) else a == b
    if not _has_wildcard(b):
        return fnmatchcase(b, a)
    pa, pb = _literal_prefix(a), _literal_prefix(b)
    sa, sb = _literal_suffix(a), _literal_suffix(b)
    return (pa.startswith(pb) or pb.startswith(pa)) and (sa.endswith(sb) or sb.endswith(sa))


def _split(pattern: str) -> list[str]:
    parts = [p for p in pattern.strip().strip("/").split("/") if p not in ("", ".")]
    return parts or ["**"]


def globs_overlap(a: str, b: str) -> bool:
    return _overlap(tuple(_split(a)), tuple(_split(b)))


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if not a or not b:
        # A lock on a directory covers what is under it: "src" overlaps "src/x.py".
        return True
    if a[0] == "**" or b[0] == "**":
        return True  # sound: ** could absorb any difference that follows
    if not _segments_overlap(a[0], b[0]):
        return False
    return _overlap(a[1:], b[1:])


def first_overlap(mine: list[str], theirs: list[str]) -> tuple[str, str] | None:
    for a in mine:
        for b in theirs:
            if globs_overlap(a, b):
                return a, b
    return None


def glob_problem(glob: str) -> str | None:
    """Why ``glob`` cannot be a ``--lock`` path glob, or None when it can."""
    text = glob.strip()
    if not text:
        return "it is empty"
    if "\x00" in text or "\n" in text:
        return "it holds a NUL or a newline"
    if text.startswith("/") or text.startswith("~"):
        return "give a path relative to the repository root"
    if ".." in text.split("/"):
        return "it climbs out with '..'"
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    if depth:
        return "a '[' is never closed"
    if any("**" in part and part != "**" for part in text.split("/")):
        return "'**' must be a whole path segment (src/**/x.py, not src/a**)"
    return None
