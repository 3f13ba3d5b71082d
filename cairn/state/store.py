"""The state directory as a store of tasks: create, read, move, scan, journal.

Invariants (docs/state-directory.md):
- a task directory appears whole: it is built under ``tmp/`` and renamed into
  ``tasks/<id>`` while ``locks/ids.lock`` is held, so ids are unique and dense;
- ``task.json`` is never rewritten; ``state.json`` is only replaced atomically,
  by a holder of ``tasks/<id>/lock`` that read the current state under it;
- every move is journalled in ``events.jsonl`` after it is on disk;
- a file that cannot be read as its record is reported as a ``Problem`` and
  skipped, never fatal;
- a directory is made a state directory only if it is new, empty or Cairn's
  own half-made one (never a user's directory full of other things), and
  only while no other live state directory serves the same repository
  (``cairn-home`` in the repository's git directory names the one that does).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from cairn.core.instants import as_stored, instant_to_text
from cairn.core.lifecycle import can_move, wrong_state_message
from cairn.core.vocabulary import FORMAT
from cairn.core.migrate import READABLE
from cairn.core.summary import Summary, summarize
from cairn.errors import CairnError, NoSuchTask, OperationFailed, UsageError, WrongState
from cairn.state import atomic, lock
from cairn.state.layout import FORMAT_NAME, Layout, home_record

TYPE_CHECKING = False  # the record classes and the codec load on first use: `cairn status` mostly never needs them
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from cairn.core.model import State, Task

#: In ``cache/``: summaries noted by writers since a scan last folded them into summaries.json.
SUMMARY_LOG = "summaries.log"
#: A scan folds the log once it holds more lines than this (a few kB to parse).
_LOG_FOLD = 200

#: Subdirectories created with the state directory, private to its owner.
_MODE = 0o700


class CorruptRecord(CairnError):
    """A record file exists but cannot be read as what it should be."""


class DamagedStateDirectory(UsageError):
    """The state directory's own files are not what Cairn keeps there (a
    ``next-id`` that is a directory, ``locks`` that is a file, a truncated
    ``meta.json``): refused before anything is written, exit 2."""


class Problem:
    """A file in the state directory that could not be read as what it should be."""

    __slots__ = ("path", "message")

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message

    def __eq__(self, other: object) -> bool:
        return (self.path, self.message) == (other.path, other.message) if isinstance(other, Problem) else NotImplemented

    def __repr__(self) -> str:
        return f"Problem(path={self.path!r}, message={self.message!r})"


class Scan:
    """Every task's summary, and the problems met on the way.  Plain classes, not
    dataclasses: ``dataclasses`` imports ``inspect``, a cost on every ``cairn status``."""

    __slots__ = ("summaries", "problems")

    def __init__(self, summaries: list[Summary], problems: list[Problem]) -> None:
        self.summaries = summaries
        self.problems = problems


class Store:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    # -- the directory itself -------------------------------------------------

    def exists(self) -> bool:
        return self.layout.meta.exists()

    def init(self, repo: Path | None) -> bool:
        """Create the state directory; True if it was new.  Idempotent."""
        layout = self.layout
        if layout.meta.exists():
            # Before touching anything: a directory of another format is not ours to change.
            self.check_format()
        else:
            self._refuse_foreign_directory()
            if repo is not None:
                self._refuse_if_served_elsewhere(repo)
        layout.home.mkdir(parents=True, exist_ok=True, mode=_MODE)
        os.chmod(layout.home, _MODE)
        for directory in layout.directories():
            directory.mkdir(exist_ok=True, mode=_MODE)
        if not layout.gitignore.exists():
            # The state directory lives in the repository by default; git must never see it.
            atomic.write_text(layout.gitignore, "# Cairn's state directory: never committed.\n*\n")
        if layout.meta.exists():
            self._upgrade_header()
            self._record_home(repo)
            return False
        header = {
            "format": FORMAT,
            "kind": FORMAT_NAME,
            "repo": str(repo) if repo else None,
            "created": instant_to_text(time.time()),
        }
        if not atomic.create_json(layout.meta, header):
            # Another command created it first (the first `cairn queue`s race here):
            # only the winner journals ``init``.
            self.check_format()
            return False
        self._record_home(repo)
        self.journal("init", repo=str(repo) if repo else None)
        return True

    def ensure(self, repo: Path | None) -> None:
        """Create the state directory on first use, check its format after."""
        if not self.exists():
            self.init(repo)
        else:
            self._upgrade_header()
            self.check_infrastructure()
            # A subdirectory someone removed (or a copy that dropped empty
            # ones) is made again rather than failing every command.
            for directory in self.layout.directories():
                if not directory.is_dir():
                    directory.mkdir(mode=_MODE, exist_ok=True)
            # A directory made before Cairn kept the record, or after the
            # recorded one was deleted, takes the repository over.
            self._record_home(repo)

    def _refuse_foreign_directory(self) -> None:
        """Raise if the home holds anything Cairn never puts there: making it
        a state directory would chmod it 0700 and hide it from git with ``*``."""
        home = self.layout.home
        try:
            names = os.listdir(home)
        except FileNotFoundError:
            return
        except NotADirectoryError:
            raise UsageError(f"{home} is a file, not a state directory", hint="point CAIRN_HOME at a new or empty directory") from None
        own = self.layout.own_names()
        # Dot-files ending .tmp/.new are atomic writes of a racing first command.
        foreign = sorted(n for n in names if n not in own and not (n.startswith(".") and n.endswith((".tmp", ".new"))))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            raise UsageError(
                f"{home} is not empty ({shown}) and is not a Cairn state directory (no meta.json); nothing was written",
                hint="point CAIRN_HOME (or `home` in cairn.toml) at a new or empty directory",
            )

    def _served_elsewhere(self, repo: Path) -> tuple[Path | None, Path | None, bool]:
        """(the record file, the live state directory it names if that is
        not this one, whether it names this one)."""
        record = home_record(repo)
        if record is None:
            return None, None, False
        try:
            named = record.read_text(errors="surrogateescape").strip()
        except OSError:
            return record, None, False
        home = self.layout.home
        if named and (named == str(home) or os.path.realpath(named) == os.path.realpath(home)):
            return record, None, True
        if named and os.path.exists(os.path.join(named, "meta.json")):
            return record, Path(named), False
        return record, None, False  # none, or one that is gone: free to take over

    def _refuse_if_served_elsewhere(self, repo: Path) -> None:
        _, other, _ = self._served_elsewhere(repo)
        if other is not None:
            raise UsageError(
                f"{repo} already has a Cairn state directory, {other}; a second one at {self.layout.home} "
                "would reuse its task ids for branches cairn/<id> and refs/cairn/*; nothing was written",
                hint=f"set CAIRN_HOME={other} to use it (or delete it, if it is no longer wanted)",
            )

    def _record_home(self, repo: Path | None) -> None:
        """Name this directory in the repository's ``cairn-home`` unless it
        is named there already or another live one is."""
        if repo is None:
            return
        record, other, ours = self._served_elsewhere(repo)
        if record is None or other is not None or ours:
            return
        try:
            atomic.write_text(record, f"{os.path.realpath(self.layout.home)}\n")
        except OSError:
            pass  # a repository we cannot write to only loses the guard

    def check_infrastructure(self) -> None:
        """Raise, before anything is written, if one of the directory's own
        files or subdirectories is something else: a command that went ahead
        would fail half-way (a task created, its id never recorded)."""
        layout = self.layout
        for directory in layout.directories():
            if (directory.exists() or directory.is_symlink()) and not directory.is_dir():
                raise DamagedStateDirectory(
                    f"{directory} is not a directory: Cairn keeps its {directory.name} there; nothing was changed",
                    hint=f"move it aside (`mv {directory} {directory}.damaged`); Cairn makes the directory again",
                )
        for record in (layout.next_id, layout.events):
            if record.exists() and not record.is_file():
                raise DamagedStateDirectory(
                    f"{record} is not a regular file: Cairn keeps its {'journal' if record == layout.events else 'next task id'} there; nothing was changed",
                    hint=f"move it aside (`mv {record} {record}.damaged`); docs/troubleshooting.md says what is rebuilt",
                )

    def check_format(self) -> int:
        """The directory's format, or an error when this Cairn cannot read it."""
        try:
            meta = json.loads(self.layout.meta.read_text())
            found = meta["format"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DamagedStateDirectory(
                f"{self.layout.meta} is not a Cairn state-directory header ({error})",
                hint="if this directory is not Cairn's, point CAIRN_HOME elsewhere",
            ) from None
        if found not in READABLE:
            raise OperationFailed(
                f"{self.layout.home} has state format {found}; this Cairn reads formats {', '.join(map(str, READABLE))}",
                hint="use the Cairn version that wrote it (newer formats are not read by older Cairns)",
            )
        return int(found)

    def _upgrade_header(self) -> None:
        """A directory of an older format takes this Cairn's records from now
        on: its header says so first, so an older Cairn refuses it rather than
        misreading them.  Its old records are migrated as they are read."""
        if self.check_format() == FORMAT:
            return
        meta = json.loads(self.layout.meta.read_text())
        meta["format"] = FORMAT
        atomic.write_json(self.layout.meta, meta)
        self.journal("format-upgraded", format=FORMAT)

    # -- tasks ------------------------------------------------------------------

    def create_task(self, build: Callable[[int], Task], initial: Callable[[Task], State]) -> Task:
        """Allocate the next id and write the task whole: id and directory appear together."""
        layout = self.layout
        with lock.held(layout.ids_lock):
            task_id = self._next_id()
            while layout.task_dir(task_id).exists():  # a crash after the rename, before next-id
                task_id += 1
            task = build(task_id)
            staging = layout.tmp / f".task-{task_id}-{os.getpid()}"
            if staging.exists():
                import shutil  # rare: a staging directory left by a crash

                shutil.rmtree(staging)
            staging.mkdir(mode=_MODE)
            try:
                from cairn.core import codec

                atomic.write_fresh_json(staging / "task.json", codec.encode(task))
                first = initial(task)
                atomic.write_fresh_json(staging / "state.json", codec.encode(first))
                atomic.fsync_dir(staging)
                # next-id before the task appears: a failure anywhere here
                # leaves no task behind (an id skipped at worst).  A hint, not
                # a record: after a crash the loop above skips ids taken, so no fsync.
                atomic.write_bytes(layout.next_id, f"{task_id + 1}\n".encode(), durable=False)
                # Noted before the task appears (the rename keeps the files'
                # identities): a scheduler woken by it finds its summary noted.
                self._note_summary(task, first, state_path=staging / "state.json", task_path=staging / "task.json")
                os.rename(staging, layout.task_dir(task_id))
            except BaseException:
                import shutil

                shutil.rmtree(staging, ignore_errors=True)
                raise
            atomic.fsync_dir(layout.tasks)
        return task

    def _next_id(self) -> int:
        try:
            return max(1, int(self.layout.next_id.read_text().strip()))
        except (OSError, ValueError):
            numbers = [int(n) for n in os.listdir(self.layout.tasks) if n.isdigit()]
            return max(numbers, default=0) + 1

    def has_task(self, task_id: int) -> bool:
        return self.layout.task_file(task_id).exists()

    def read_task(self, task_id: int) -> Task:
        from cairn.core.model import Task

        task: Task = self._read(self.layout.task_file(task_id), Task, task_id)
        return task

    def read_state(self, task_id: int) -> State:
        from cairn.core.migrate import upgrade
        from cairn.core.model import State

        state: State = self._read(self.layout.state_file(task_id), State, task_id, upgrade)
        return state

    def _read(self, path: Path, kind: Any, task_id: int, upgrade: Callable[[Any], Any] | None = None) -> Any:
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            if not self.layout.task_dir(task_id).is_dir():
                raise NoSuchTask(task_id) from None
            raise CorruptRecord(f"task {task_id}: {path.name} is missing") from None
        except ValueError as error:
            raise CorruptRecord(f"task {task_id}: {path} is not valid JSON ({error})") from None
        except OSError as error:  # e.g. tasks/<id> is a file, or unreadable
            raise CorruptRecord(f"task {task_id}: cannot read {path}: {error.strerror}") from None
        from cairn.core import codec

        try:
            return codec.decode(kind, upgrade(data) if upgrade is not None else data)
        except codec.DecodeError as error:
            raise CorruptRecord(f"task {task_id}: {path}: {error}") from None

    @contextmanager
    def locked(self, task_id: int, timeout: float | None = 30.0) -> Iterator[State]:
        """Hold the task's lock; yield its current state, read under the lock."""
        if not self.layout.task_dir(task_id).is_dir():
            raise NoSuchTask(task_id)
        with lock.held(self.layout.task_lock(task_id), timeout=timeout):
            yield self.read_state(task_id)

    def write_state(self, task_id: int, state: State) -> None:
        """Replace ``state.json``.  The caller holds the task's lock (see ``locked``)."""
        from cairn.core import codec

        try:
            task = self.read_task(task_id)
        except CairnError:
            atomic.write_json(self.layout.state_file(task_id), codec.encode(state))
            return  # the next scan reports it

        def note(written: Path) -> None:
            self._note_summary(task, state, state_path=written)

        # The summary is noted before the record is published, so whoever the
        # rename wakes (the scheduler, at once) finds it noted and decodes nothing.
        atomic.write_json(self.layout.state_file(task_id), codec.encode(state), before_publish=note)

    def _note_summary(self, task: Task, state: State, *, state_path: Path, task_path: Path | None = None) -> None:
        """Append the task's new summary to ``cache/summaries.log``, keyed by the
        identity of ``state_path``, the record written whole and about to be
        renamed into place as ``state.json`` (a rename keeps the identity), so
        the next scan need not decode the records again.  The caller holds the
        task's lock (or is its creator), so that identity is of this very
        state; a line whose rename then fails matches no file and only costs
        a decode.  A new task's line also carries its ``task.json``'s identity
        (``task_path``): the first scan checks that file is still the one
        written, as decoding it would have."""
        try:
            summary = summarize(task, state)
            # Times as the records hold them on disk (milliseconds), so the noted
            # summary equals the one a scan decoding the records would make.
            idle = summary.idle_since
            summary = summary._replace(created=as_stored(summary.created), since=as_stored(summary.since),
                                       idle_since=as_stored(idle) if idle is not None else None)
            line: list[Any] = [str(task.id), _identity(state_path), list(summary)]
            if task_path is not None:
                line.append(_identity(task_path))
            data = json.dumps(line)
            # One write of one line with O_APPEND: appenders never interleave; a torn line is skipped.
            fd = os.open(self.layout.cache / SUMMARY_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, (data + "\n").encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
        except (OSError, ValueError):
            pass  # a cache we cannot write only costs speed

    def move(
        self,
        task_id: int,
        wanted: str,
        change: Callable[[State], State],
        *,
        verb: str | None = None,
        **event: Any,
    ) -> State:
        """Move a task to the state ``change`` returns, if its lifecycle allows."""
        with self.locked(task_id) as current:
            if not can_move(current.state, wanted):
                raise WrongState(wrong_state_message(task_id, current.state, verb or wanted))
            new = change(current)
            self.write_state(task_id, new)
        self.journal(new.state, task=task_id, previous=current.state, **event)
        return new

    def update(self, task_id: int, change: Callable[[State], State | None]) -> State:
        """Rewrite the current state in place (same state name), e.g. flag it idle."""
        with self.locked(task_id) as current:
            new = change(current)
            if new is None or new == current:
                return current
            if new.state != current.state:
                raise ValueError("update() keeps the state; use move() to change it")
            self.write_state(task_id, new)
            return new

    def task_ids(self) -> list[int]:
        try:
            names = os.listdir(self.layout.tasks)
        except FileNotFoundError:
            return []
        return sorted(int(n) for n in names if n.isdigit())

    # -- scanning -----------------------------------------------------------

    def scan(self, memo: dict[str, Any] | None = None) -> Scan:
        """Every task's summary and every unreadable file, cheaply.

        Summaries are cached in ``cache/summaries.json`` keyed by the identity
        of each ``state.json`` (size, mtime, inode: a rename always makes a new
        inode), so a scan of thousands of unchanged tasks costs one stat each.
        Whoever writes a state through the store appends the new summary to
        ``cache/summaries.log``; a scan reads both, so a crew's changes do not
        make it decode records (and import their classes), and it folds the
        log into ``summaries.json`` only when it had to decode or the log has
        grown.  An entry counts only while its key matches the file on disk.

        ``memo``: a long-lived reader's copy of the cache (the scheduler's,
        which scans on every turn), kept up to date here, so that only its
        first scan reads ``summaries.json``; a ``Memo`` also remembers how far
        it read the log, so that each scan reads only the lines since.
        """
        layout = self.layout
        try:
            names = os.listdir(layout.tasks)
        except FileNotFoundError:
            return Scan([], [])
        cache_path = layout.cache / "summaries.json"
        cached = dict(memo) if memo else _read_summary_cache(cache_path)
        if not isinstance(cached, dict):
            cached = {}
        log = layout.cache / SUMMARY_LOG
        since = memo if isinstance(memo, Memo) and memo else None
        noted, log_read, log_lines = _read_summary_log(log, since)
        stored = len(cached)
        cached.update(noted)
        fresh: dict[str, list[Any]] = {}
        summaries: list[Summary] = []
        problems: list[Problem] = []
        changed = False
        tasks_dir = str(layout.tasks)
        # Plain strings joined by hand, not Path objects nor os.path.join: this
        # loop runs once per task on every status and every scheduler turn.
        prefix = tasks_dir + os.sep
        fields = len(Summary._fields)
        for name in names:
            if not name.isdigit():
                if not name.startswith("."):
                    problems.append(Problem(os.path.join(tasks_dir, name), "not a task directory (ignored)"))
                continue
            state_path = prefix + name + os.sep + "state.json"
            try:
                st = os.stat(state_path)
            except FileNotFoundError:
                problems.append(Problem(str(state_path), "missing"))
                continue
            except NotADirectoryError:
                problems.append(Problem(os.path.join(tasks_dir, name), "not a task directory (ignored)"))
                continue
            except OSError as error:
                problems.append(Problem(str(state_path), f"cannot read it: {error.strerror}"))
                continue
            key = [st.st_size, st.st_mtime_ns, st.st_ino]
            entry = cached.get(name)
            if (
                entry is not None and entry[0] == key and len(entry[1]) == fields
                and (len(entry) == 2 or entry[2] == _identity(os.path.join(tasks_dir, name, "task.json")))
            ):
                summaries.append(Summary(*entry[1]))
                fresh[name] = entry if len(entry) == 2 else entry[:2]
                continue
            changed = True
            try:
                summary = summarize(self.read_task(int(name)), self.read_state(int(name)))
            except CairnError as error:
                problems.append(Problem(os.path.join(tasks_dir, name), str(error)))
                continue
            summaries.append(summary)
            fresh[name] = [key, list(summary)]
        # Fold only when it pays: a summary was decoded, the log has grown, tasks
        # went away, or there is no cache yet.  Tasks the log alone knows (a
        # `cairn queue` since) stay there: rewriting every summary after each
        # queue was a third of the next `cairn status`.
        emptied = False
        # Lines a fold has taken in already but could not empty from the log
        # (it grew meanwhile) do not call for another at once; a log emptied
        # by another reader since (fewer lines than last time) starts afresh.
        kept = isinstance(memo, Memo) and log_lines >= memo.log_lines
        unfolded = log_lines - (memo.folded_at if isinstance(memo, Memo) and kept else 0)
        attempted = False
        if changed or unfolded > _LOG_FOLD or len(fresh) < stored or (not stored and fresh):
            attempted = True
            try:
                atomic.write_bytes(cache_path, json.dumps({"format": FORMAT, "tasks": fresh}).encode(), durable=False)
                # Emptied only if no line came since it was read: those would be
                # lost, each a decode, and each decode another fold (under a busy
                # crew, one after the other).  They wait for the next fold instead.
                if log_read and os.stat(log).st_size == log_read:
                    os.truncate(log, 0)
                    emptied = True
            except OSError:
                pass  # a cache we cannot write only costs speed
        if memo is not None:
            memo.clear()
            memo.update(fresh)
            if isinstance(memo, Memo):
                before = memo.folded_at if kept else 0
                memo.log_read, memo.log_lines = (0, 0) if emptied else (log_read, log_lines)
                memo.folded_at = 0 if emptied else log_lines if attempted else before
        summaries.sort(key=lambda s: s.id)
        return Scan(summaries, problems)

    # -- the journal ---------------------------------------------------------

    def journal(self, event: str, **fields: Any) -> None:
        record = {"ts": instant_to_text(time.time()), "event": event}
        record.update({k: v for k, v in fields.items() if v is not None})
        atomic.append_line(self.layout.events, atomic.json_bytes(record, indent=None))


def elapsed_ms(started: float) -> int:
    """Whole milliseconds since ``started`` (a ``time.monotonic()``): the journal's ``duration_ms``."""
    return round((time.monotonic() - started) * 1000)


class Memo(dict[str, "list[Any]"]):  # name -> [key, summary], as the cache holds them
    """The scheduler's copy of the summaries cache between its scans (see
    ``Store.scan``), and how far it has read ``cache/summaries.log``: the log
    grows by a line at each state a crew writes, and reading all of it again
    on every turn cost more than the rest of the scan."""

    def __init__(self) -> None:
        super().__init__()
        self.log_read = 0  # bytes of the log taken in (whole lines)
        self.log_lines = 0  # lines in those bytes
        self.folded_at = 0  # lines in the log when a fold last took it in and could not empty it


def _read_summary_log(path: Path, since: Memo | None = None) -> tuple[dict[str, list[Any]], int, int]:
    """name -> [key, summary] from the log of summaries written since the last
    fold, later lines winning; how many bytes of it were taken in (whole
    lines: one being written waits) and how many lines those are.
    ``since``: read only what came after what it took in, unless the log has
    been emptied since.  Lines missed (it was emptied and grew past that
    point meanwhile) only cost decodes: an entry counts only while its key
    matches the record on disk."""
    start = lines_before = 0
    try:
        with open(path, "rb") as handle:
            if since is not None and 0 < since.log_read <= os.fstat(handle.fileno()).st_size:
                start, lines_before = since.log_read, since.log_lines
                handle.seek(start)
            data = handle.read()
    except OSError:
        return {}, 0, 0
    data = data[: data.rfind(b"\n") + 1]
    lines = data.splitlines()
    noted: dict[str, list[Any]] = {}
    for line in lines:
        try:
            name, *entry = json.loads(line)
        except (ValueError, TypeError):
            continue  # torn by a crash mid-write: that task is decoded instead
        if len(entry) in (2, 3):
            noted[name] = entry  # [state.json's key, summary] (+ task.json's key, for a new task)
    return noted, start + len(data), lines_before + len(lines)


def _identity(path: str | Path) -> list[int] | None:
    """What a cache entry is keyed by: size, mtime, inode (a rename always makes a new inode)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _read_summary_cache(path: Path) -> dict[str, list[Any]]:
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") == FORMAT and isinstance(data.get("tasks"), dict):
            tasks: dict[str, list[Any]] = data["tasks"]
            return tasks
    except (OSError, ValueError, AttributeError):
        pass
    return {}

