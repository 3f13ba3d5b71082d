"""Older state records read as the current format: pure functions from the
JSON an older Cairn wrote to the JSON this one reads.

Format 1 -> 2 (docs/state-directory.md, "Format history"): ``work`` became one
record per backend (``git``, ``clone``, ``jj``): a jj work's ``branch``, which
held its workspace's name, is ``name``; the jj-only ``change_id`` and
``operation`` left the git record.  A rejected task's ``trash_ref`` (git) and
``operation`` (jj) became ``kept``, one record per backend.  Records are
migrated as they are read; the next write of a task's state stores format 2.
"""

from __future__ import annotations

TYPE_CHECKING = False  # read by every store, `cairn status` included: no typing at run time
if TYPE_CHECKING:
    from typing import Any

#: The formats whose records ``upgrade`` turns into the current one.
READABLE = (1, 2)


def upgrade(state: Any) -> Any:
    """A ``state.json`` of any readable format as format 2 (anything else unchanged)."""
    if not isinstance(state, dict) or state.get("format") != 1:
        return state
    new = dict(state, format=2)
    if isinstance(new.get("work"), dict):
        new["work"] = _work(new["work"])
    if new.get("state") == "rejected":
        ref, operation = new.pop("trash_ref", None), new.pop("operation", None)
        previous = new.get("previous")
        work = previous.get("work") if isinstance(previous, dict) else None
        backend = work.get("backend", "git") if isinstance(work, dict) else "git"
        if backend == "jj":
            new["kept"] = {"backend": "jj", "operation": operation}
        elif ref:
            new["kept"] = {"backend": "git", "ref": ref}
        else:
            new["kept"] = None
        if isinstance(previous, dict):
            new["previous"] = upgrade(previous)
    return new


def _work(work: dict[str, Any]) -> dict[str, Any]:
    new = dict(work)
    # "copy" was accepted by format 1's configuration and always made git worktrees.
    backend = "git" if new.get("backend", "git") in ("git", "copy") else new["backend"]
    new["backend"] = backend
    if backend == "jj":
        new["name"] = new.pop("branch", None)
    else:
        new.pop("change_id", None)
        new.pop("operation", None)
    return new
