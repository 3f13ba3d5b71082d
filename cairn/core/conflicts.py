"""The conflict radar's decisions: which proposals overlap, and how to say it.

Pure.  Two proposals *overlap* when they change the same file or files in the
same folder (the repository's root does not count: nearly everything shares
it); only overlapping pairs can really conflict, so only they are merged
(cairn/land/radar.py runs ``git merge-tree`` on them).  A running task's
touched paths overlap a proposal on the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any


@dataclass(frozen=True, slots=True)
class Proposal:
    task_id: int
    head: str
    paths: list[str]


@dataclass(frozen=True, slots=True)
class Pair:
    a: int
    b: int
    #: Files both change, then folders both change files in (ending in "/").
    overlap: list[str]
    #: A real three-way merge of the two conflicts; None: not merged (jj, or no overlap).
    conflict: bool | None = None
    conflict_paths: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"tasks": [self.a, self.b], "overlap": self.overlap, "conflict": self.conflict,
                "conflict_paths": self.conflict_paths}


@dataclass(frozen=True, slots=True)
class Touch:
    """A running task has touched paths a proposal in review changes."""

    running: int
    review: int
    overlap: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"running": self.running, "review": self.review, "overlap": self.overlap}


def _folders(paths: list[str]) -> set[str]:
    return {p.rsplit("/", 1)[0] + "/" for p in paths if "/" in p}


def overlap(mine: list[str], theirs: list[str]) -> list[str]:
    """What two sets of changed paths share: common files, then common folders."""
    files = sorted(set(mine) & set(theirs))
    # A folder holding a common file says nothing the file does not.
    folders = sorted((_folders(mine) & _folders(theirs)) - _folders(files))
    return files + folders


def overlapping_pairs(proposals: list[Proposal]) -> list[Pair]:
    """Every pair of proposals whose paths overlap, lower id first.

    Only pairs that share a file or a folder are compared: a crew's hundreds
    of proposals in review are not hundreds of thousands of comparisons on
    every ``cairn status``."""
    ordered = sorted(proposals, key=lambda p: p.task_id)
    changing: dict[str, list[int]] = {}  # a file or a folder -> the proposals (by index) that change it
    for index, proposal in enumerate(ordered):
        for key in set(proposal.paths) | _folders(proposal.paths):
            changing.setdefault(key, []).append(index)
    candidates = sorted({pair for members in changing.values() for pair in combinations(members, 2)})
    found = []
    for i, j in candidates:
        a, b = ordered[i], ordered[j]
        shared = overlap(a.paths, b.paths)
        if shared:
            found.append(Pair(a.task_id, b.task_id, shared))
    return found


def touches(running: dict[int, list[str]], proposals: list[Proposal]) -> list[Touch]:
    found = []
    for task_id, paths in sorted(running.items()):
        for proposal in sorted(proposals, key=lambda p: p.task_id):
            shared = overlap(paths, proposal.paths)
            if shared:
                found.append(Touch(task_id, proposal.task_id, shared))
    return found


def conflicting_with(pairs: list[Pair]) -> dict[int, list[int]]:
    """task id -> the tasks it really conflicts with (for status and the TUI)."""
    found: dict[int, list[int]] = {}
    for pair in pairs:
        if pair.conflict:
            found.setdefault(pair.a, []).append(pair.b)
            found.setdefault(pair.b, []).append(pair.a)
    return found


def matrix(ids: list[int], pairs: list[Pair]) -> str:
    """A terminal matrix: ``X`` conflict, ``~`` overlap only, ``.`` apart."""
    by_pair = {(p.a, p.b): p for p in pairs}
    width = max(len(str(i)) for i in ids) + 1
    lines = [" " * width + "".join(str(i).rjust(width) for i in ids)]
    for row in ids:
        cells = []
        for column in ids:
            if row == column:
                cells.append("-".rjust(width))
                continue
            pair = by_pair.get((min(row, column), max(row, column)))
            mark = "." if pair is None else ("X" if pair.conflict else "~")
            cells.append(mark.rjust(width))
        lines.append(str(row).rjust(width) + "".join(cells))
    return "\n".join(lines)


def describe(ids: list[int], pairs: list[Pair], found: list[Touch]) -> list[str]:
    """What ``cairn conflicts`` prints and the TUI's radar view shows: the matrix, then one line a finding."""
    lines = [matrix(ids, pairs), "  X conflict   ~ overlapping paths, merges cleanly   . apart"] if len(ids) >= 2 else []
    for pair in pairs:
        if pair.conflict:
            lines.append(f"task {pair.a} and task {pair.b} conflict in: {', '.join(pair.conflict_paths)}")
        else:
            lines.append(f"task {pair.a} and task {pair.b} overlap in {', '.join(pair.overlap)}, but merge cleanly")
    for touch in found:
        lines.append(f"running task {touch.running} has touched {', '.join(touch.overlap)}, which task {touch.review} in review changes")
    if not lines:
        lines.append("fewer than two git tasks in review: nothing to compare")
    return lines
