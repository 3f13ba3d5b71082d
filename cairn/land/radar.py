"""The conflict radar: which tasks collide, before anyone accepts.

For the tasks in review: the paths each proposal changes (``git diff
--name-only`` from where it forked), and for every pair that overlaps
(cairn/core/conflicts.py) a real three-way merge of the two branches,
``git merge-tree --write-tree``: in memory, no checkout, nothing written but
objects git may garbage-collect.  For running tasks: what they have touched
so far (committed or not) against the proposals.

Two views of a proposal:
- ``live`` (``cairn conflicts``, the merge train): branches as they are now,
  commits made during review included, forked from their merge base with
  the target;
- ``recorded`` (``cairn status``, the TUI, the scheduler): the commits the
  review record holds, so that, once cached, looking costs no git at all.
Results are cached in ``cache/radar.json`` keyed by commits, which never
change meaning: a diff between two commits and a merge of two commits are
the same forever.  The cache is derived and may be deleted at any time.

Git tasks only: a jj task's change has no branch for git to merge (docs/crew.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cairn.core.conflicts import Pair, Proposal, Touch, conflicting_with, overlapping_pairs, touches
from cairn.state import atomic
from cairn.vcs.git import git

#: Entries kept in the cache: enough for hundreds of tasks in review.
CACHE_LIMIT = 20000


@dataclass
class Report:
    review: list[int] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)
    #: task id -> why it was left out (a jj task, a branch that is gone).
    skipped: dict[int, str] = field(default_factory=dict)
    #: The raw ``git merge-tree`` calls made (not answered from the cache): for the bench.
    merges: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "review": self.review,
            "pairs": [p.to_json() for p in self.pairs],
            "touches": [t.to_json() for t in self.touches],
            "skipped": {str(k): v for k, v in self.skipped.items()},
        }


class _Cache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.changed = False
        try:
            data = json.loads(path.read_bytes())
            self.data: dict[str, dict[str, Any]] = data if data.get("format") == 1 else {}
        except (OSError, ValueError, AttributeError):
            self.data = {}
        for section in ("paths", "merges", "bases"):
            if not isinstance(self.data.get(section), dict):
                self.data[section] = {}

    def get(self, section: str, key: str) -> Any:
        return self.data[section].get(key)

    def put(self, section: str, key: str, value: Any) -> None:
        table = self.data[section]
        table[key] = value
        if len(table) > CACHE_LIMIT:
            for old in list(table)[: len(table) - CACHE_LIMIT]:
                del table[old]
        self.changed = True

    def save(self) -> None:
        if self.changed:
            try:
                atomic.write_bytes(self.path, json.dumps({"format": 1, **self.data}).encode())
            except OSError:
                pass  # a cache we cannot write only costs speed


def _cache(store: Any) -> _Cache:
    return _Cache(store.layout.cache / "radar.json")


def changed_paths(root: Path, base: str, head: str, cache: _Cache) -> list[str]:
    key = f"{base}:{head}"
    found = cache.get("paths", key)
    if found is None:
        out = git(root, "diff", "--name-only", "--no-renames", "-z", base, head, strip=False)
        found = sorted(p for p in out.split("\0") if p)
        cache.put("paths", key, found)
    return list(found)


def merge(root: Path, a: str, b: str, cache: _Cache, made: list[tuple[str, str]]) -> tuple[bool, list[str]]:
    """(conflicts?, the conflicting paths) of a three-way merge of commits a and b."""
    key = f"{a}:{b}"
    found = cache.get("merges", key)
    if found is None:
        made.append((a, b))
        out = git(root, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", a, b, check=False, strip=False)
        # Clean: the tree id alone.  Conflicted: the tree id, then each path, NUL-separated.
        fields = [f for f in out.split("\0") if f]
        if not fields:
            from cairn.errors import OperationFailed

            raise OperationFailed(f"git merge-tree could not merge {a[:12]} and {b[:12]}",
                                  hint="`git merge-tree --write-tree A B` tells why (git 2.38 or newer is needed)")
        paths = sorted(set(fields[1:]))
        found = [bool(paths), paths]
        cache.put("merges", key, found)
    return bool(found[0]), list(found[1])


def _merge_base(root: Path, target_tip: str, head: str, cache: _Cache) -> str | None:
    key = f"{target_tip}:{head}"
    found = cache.get("bases", key)
    if found is None:
        found = git(root, "merge-base", target_tip, head, check=False) or ""
        cache.put("bases", key, found)
    return found or None


def _branch_tips(root: Path) -> dict[str, str]:
    out = git(root, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def proposals(store: Any, root: Path, ids: list[int], *, live: bool, cache: _Cache, skipped: dict[int, str]) -> list[Proposal]:
    found = []
    tips = _branch_tips(root) if live else {}
    for task_id in ids:
        try:
            state = store.read_state(task_id)
            task = store.read_task(task_id) if live else None
        except Exception as error:  # noqa: BLE001 — an unreadable task is reported, never fatal
            skipped[task_id] = f"unreadable: {error}"
            continue
        work = getattr(state, "work", None)
        if work is None or getattr(work, "backend", "git") == "jj":
            skipped[task_id] = "a jj change: the radar compares git branches only"
            continue
        if live:
            head = tips.get(work.branch) or work.head_commit
            target_tip = tips.get(task.target or "") if task is not None else None
            base = _merge_base(root, target_tip, head, cache) if head and target_tip else work.base_commit
        else:
            head, base = work.head_commit, work.base_commit
        if not head or not base:
            skipped[task_id] = f"no commit of its work is known (branch {work.branch} gone?)"
            continue
        found.append(Proposal(task_id, head, changed_paths(root, base, head, cache)))
    return found


def _touched(workspace: Path, base: str) -> list[str] | None:
    """What a running agent has changed so far: committed since base, or not yet."""
    if not workspace.is_dir():
        return None
    committed = git(workspace, "diff", "--name-only", "--no-renames", "-z", base, "HEAD", check=False, strip=False)
    status = git(workspace, "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", check=False, strip=False)
    paths = {p for p in committed.split("\0") if p}
    paths.update(entry[3:] for entry in status.split("\0") if len(entry) > 3)
    return sorted(paths)


def radar(store: Any, settings: Any, summaries: list[Any], *, live: bool = True, with_running: bool = True) -> Report:
    root: Path = settings.root
    cache = _cache(store)
    report = Report(review=[s.id for s in summaries if s.state == "review"])
    found = proposals(store, root, report.review, live=live, cache=cache, skipped=report.skipped)
    by_id = {p.task_id: p for p in found}
    for pair in overlapping_pairs(found):
        conflict, paths = merge(root, by_id[pair.a].head, by_id[pair.b].head, cache, report.merges)
        report.pairs.append(Pair(pair.a, pair.b, pair.overlap, conflict, paths))
    if with_running:
        running: dict[int, list[str]] = {}
        for summary in summaries:
            if summary.state != "running":
                continue
            work = getattr(store.read_state(summary.id), "work", None)
            if work is None or getattr(work, "branch", None) is None:  # no work yet, or not a git workspace (jj): nothing git can diff
                continue
            touched = _touched(Path(work.workspace), work.base_commit)
            if touched:
                running[summary.id] = touched
        report.touches = touches(running, found)
    cache.save()
    return report


def conflict_marks(store: Any, settings: Any, summaries: list[Any]) -> dict[int, list[int]]:
    """task id -> the tasks in review it conflicts with, from the recorded commits
    (no git once cached); {} when fewer than two tasks in review change anything.
    A proposal that changes nothing conflicts with none: its record is not even read."""
    changing = [s for s in summaries if s.state == "review" and s.files]
    if len(changing) < 2 or settings.root is None:
        return {}
    try:
        return conflicting_with(radar(store, settings, changing, live=False, with_running=False).pairs)
    except Exception:  # noqa: BLE001 — a mark is a courtesy: status must show the tasks regardless
        return {}


def review_paths(store: Any, settings: Any, summaries: list[Any]) -> dict[int, list[str]]:
    """task id -> the paths its proposal changes, for every git task in review."""
    review = [s.id for s in summaries if s.state == "review"]
    if not review or settings.root is None:
        return {}
    cache = _cache(store)
    found = proposals(store, settings.root, review, live=False, cache=cache, skipped={})
    cache.save()
    return {p.task_id: p.paths for p in found}


def paths_to_avoid(store: Any, settings: Any, summaries: list[Any]) -> dict[int, list[str]] | None:
    """``schedule.avoid_conflicts``: what the proposals in review change, for
    ``core.schedule.plan``; None when the setting is off or nothing could wait."""
    if not any(s.state == "queued" and s.locks for s in summaries) or not any(s.state == "review" for s in summaries):
        return None
    if not settings.config.schedule.avoid_conflicts:
        return None
    try:
        return review_paths(store, settings, summaries)
    except Exception:  # noqa: BLE001 — without the paths, tasks start as they would without the setting
        return None
