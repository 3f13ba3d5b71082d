"""The backlog directory (``backlog_dir``): ticket files other tools and people
drop for the crew; the scheduler queues each and moves it aside.

A ticket is a plan file (``.toml`` or ``.json``, docs/crew.md: one task or
several, queued all or none) or any other text file, which becomes one task:
its first line the title (a Markdown ``#`` dropped), the whole text the prompt.
Writers put a file in place whole (write ``.name``, then rename): dot-files
and folders are never read.

Each ticket moves exactly once, and nothing is lost:
1. ``NAME`` is claimed by renaming it to ``queued/.NAME`` (only this
   scheduler takes tickets: one scheduler per state directory);
2. its tasks are queued;
3. it is renamed ``queued/<first id>-NAME``: its task ids are in its name.
A ticket Cairn cannot queue goes to ``failed/NAME``, with ``failed/NAME.error``
saying why.  A claimed ticket still there when a scheduler starts was cut
short between 1 and 3 (a crash): it is named in the scheduler's output,
never queued twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cairn.core.plan import Entry, Plan, PlanError, load
from cairn.errors import CairnError

QUEUED, FAILED = "queued", "failed"


def backlog_path(settings: Any) -> Path | None:
    configured = settings.config.backlog_dir
    if not configured:
        return None
    path = Path(configured).expanduser()
    return path if path.is_absolute() or settings.root is None else settings.root / path


def tickets(directory: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [directory / n for n in names if not n.startswith(".") and (directory / n).is_file()]


def ticket_plan(path: Path, text: str, agents: list[str]) -> Plan:
    if path.suffix in (".toml", ".json"):
        return load(text, str(path), agents=agents)
    if not text.strip():
        raise PlanError(str(path), ["the ticket is empty: say what the agent should do"])
    first = next(line for line in text.splitlines() if line.strip())
    title = first.strip().lstrip("#").strip() or None
    return Plan(name=None, goal=None, entries=[Entry(name="1", prompt=text, title=title)])


def leftovers(settings: Any) -> list[Path]:
    """Tickets claimed by a scheduler that stopped before it finished with them."""
    directory = backlog_path(settings)
    if directory is None:
        return []
    try:
        return sorted(directory / QUEUED / n for n in os.listdir(directory / QUEUED) if n.startswith("."))
    except OSError:
        return []


def intake(store: Any, settings: Any, say: Callable[[str], None]) -> int:
    """Queue every ticket in the backlog directory; how many tasks were queued."""
    directory = backlog_path(settings)
    if directory is None:
        return 0
    found = tickets(directory)
    if not found:
        return 0
    from cairn.state.plans import queue_plan
    from cairn.vcs.revisions import current_branch

    (directory / QUEUED).mkdir(exist_ok=True)
    queued = 0
    target = current_branch(settings.root, settings.root) if settings.root is not None else None
    for path in found:
        claimed = directory / QUEUED / f".{path.name}"
        try:
            os.rename(path, claimed)
        except OSError:
            continue  # gone already, or not ours to take: looked at again next turn
        try:
            text = claimed.read_bytes().decode("utf-8")
            plan = ticket_plan(path, text, settings.agent_names)
            record = queue_plan(store, plan, default_agent=settings.default_agent, target=target,
                                source=str(path), name_hint=path.stem)
        except (CairnError, OSError, UnicodeDecodeError) as error:
            _set_aside(directory, claimed, path.name, error)
            say(f"backlog: {path.name} not queued: {error}; it is in {directory / FAILED}")
            continue
        ids = list(record.tasks.values())
        os.rename(claimed, directory / QUEUED / f"{ids[0]}-{path.name}")
        queued += len(ids)
        say(f"backlog: {path.name} queued as task{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}")
    return queued


def _set_aside(directory: Path, claimed: Path, name: str, error: Exception) -> None:
    failed = directory / FAILED
    failed.mkdir(exist_ok=True)
    os.rename(claimed, failed / name)
    hint = getattr(error, "hint", None)
    (failed / f"{name}.error").write_text(f"{error}\n" + (f"{hint}\n" if hint else ""))


def watch(observer: Any, settings: Any, wake: Any) -> None:
    """Wake the scheduler when a ticket is dropped (a rename into place or a close)."""
    directory = backlog_path(settings)
    if directory is None:
        return
    from watchdog.events import FileSystemEventHandler

    class Dropped(FileSystemEventHandler):
        def on_any_event(self, event: Any) -> None:
            path = getattr(event, "dest_path", "") or event.src_path
            if os.path.dirname(path) == str(directory) and not os.path.basename(path).startswith("."):
                wake.set()

    directory.mkdir(parents=True, exist_ok=True)
    observer.schedule(Dropped(), str(directory), recursive=False)
