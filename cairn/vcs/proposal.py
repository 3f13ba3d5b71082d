"""A task's work as a proposal people can read: the diff, its stat, its counts.

Binary files and files over ``INLINE_LIMIT`` are never inlined: they are
listed at the end of the diff with their size ("binary, 200.0 MB"), and their
contents are never diffed at all (git diffing a 200 MB file took 35 s and
wrote a 270 MB preview).  Sizes come from the object database (``diff
--raw`` and ``cat-file --batch-check``: no content read).  The whole of
``preview.diff`` is capped at ``PREVIEW_CAP``; past it the diff stops at a
file boundary with a line saying how to see the rest.  docs/state-directory.md
documents both limits.
"""

from __future__ import annotations

from pathlib import Path

from cairn.core.model import DiffStat
from cairn.core.records import record
from cairn.vcs.git import git

#: A file whose old or new content is larger than this is summarised, not diffed.
INLINE_LIMIT = 1024 * 1024
#: preview.diff never grows past this.
PREVIEW_CAP = 8 * 1024 * 1024

_NO_OBJECT = "0" * 40


@record(kw_only=False)
class Described:
    diff: str
    stat: str
    changed: DiffStat


def describe(root: Path, base: str, head: str) -> Described:
    span = f"{base}..{head}"
    sizes = _changed_sizes(root, span)
    large = {path: size for path, size in sizes.items() if size > INLINE_LIMIT}
    keep_out = [f":(exclude,literal){path}" for path in large]
    numstat = git(root, "diff", "--numstat", "-z", "--no-renames", span, "--", ".", *keep_out, strip=False)
    counted, binary = _numstat(numstat)
    left_out = [*keep_out, *(f":(exclude,literal){path}" for path in binary)]
    diff = git(root, "diff", "--no-color", "--no-renames", span, "--", ".", *left_out, strip=False)
    stat = git(root, "diff", "--stat", "--no-color", "--no-renames", span, "--", ".", *keep_out, strip=False) if sizes else ""
    summary = [(path, f"binary, {_size(sizes.get(path, 0))}") for path in binary]
    summary += [(path, f"{_size(size)}, too large to show") for path, size in large.items()]
    diff = _capped(diff, PREVIEW_CAP, f"git diff {base[:12]} {head[:12]}")
    if summary:
        lines = [f"# not shown inline (binary, or larger than {_size(INLINE_LIMIT)}); `git diff {base[:12]} {head[:12]} -- PATH` shows one:"]
        lines += [f"#   {path}  ({what})" for path, what in sorted(summary)]
        diff += "\n".join(lines) + "\n"
        stat += "".join(f" {path} | {_size(size)}, too large to show\n" for path, size in sorted(large.items()))
    insertions = sum(added for added, _ in counted.values())
    deletions = sum(removed for _, removed in counted.values())
    return Described(diff=diff, stat=stat, changed=DiffStat(files=len(sizes), insertions=insertions, deletions=deletions))


def _changed_sizes(root: Path, span: str) -> dict[str, int]:
    """Every changed path and the larger of its old and new sizes, in bytes."""
    raw = git(root, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", span, strip=False)
    fields = raw.split("\0")
    changes: list[tuple[str, list[str]]] = []
    for index in range(0, len(fields) - 1, 2):
        meta, path = fields[index], fields[index + 1]
        if not meta.startswith(":"):
            break
        parts = meta[1:].split()
        changes.append((path, [sha for sha in parts[2:4] if sha != _NO_OBJECT]))
    objects = sorted({sha for _, shas in changes for sha in shas})
    sizes: dict[str, int] = {}
    if objects:
        out = git(root, "cat-file", "--batch-check=%(objectname) %(objectsize)", input="\n".join(objects) + "\n")
        for line in out.splitlines():
            sha, _, size = line.partition(" ")
            if size.isdigit():
                sizes[sha] = int(size)
    return {path: max((sizes.get(sha, 0) for sha in shas), default=0) for path, shas in changes}


def _numstat(out: str) -> tuple[dict[str, tuple[int, int]], list[str]]:
    counted: dict[str, tuple[int, int]] = {}
    binary: list[str] = []
    for entry in out.split("\0"):
        if not entry:
            continue
        added, removed, path = entry.split("\t", 2)
        if added == "-" and removed == "-":
            binary.append(path)
        else:
            counted[path] = (int(added), int(removed))
    return counted, binary


def _capped(diff: str, cap: int, command: str) -> str:
    data = diff.encode("utf-8", "surrogateescape")
    if len(data) <= cap:
        return diff
    cut = data.rfind(b"\ndiff --git ", 0, cap)
    kept = data[: cut + 1] if cut > 0 else data[:cap]
    rest = data[len(kept):].count(b"\ndiff --git ") + (1 if data[len(kept):].startswith(b"diff --git ") else 0)
    note = f"# preview.diff stops here ({_size(cap)} at most): {max(rest, 1)} more files; `{command}` shows all\n"
    return kept.decode("utf-8", "surrogateescape") + note


def _size(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
