"""Writes that a reader never sees half of.

The new content goes to a dot-file in the same directory, is flushed and
fsynced, then renamed over the old name; the directory is fsynced so the
rename itself survives a crash.  Readers skip dot-files.  Needs one local
filesystem with POSIX rename (docs/state-directory.md, "Assumptions").
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # typing is not imported at run time on the hot path (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import IO, Any


def write_bytes(path: Path, data: bytes, mode: int = 0o600, *, durable: bool = True,
                before_publish: Callable[[Path], None] | None = None) -> None:
    """``durable=False`` (a cache, derived and rebuilt when unreadable): still
    never half-read, but no fsync, so it can be lost in a crash.
    ``before_publish``: called with the temporary file, written whole, just
    before it is renamed into place (a rename keeps its inode, size and mtime)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            if before_publish is not None:
                before_publish(temporary)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        if durable:
            fsync_dir(path.parent)
    except OSError as error:
        raise _named(error, path) from None


def _named(error: OSError, path: Path) -> OSError:
    """A write through a descriptor (a full disk) names no file: the same
    error naming the record, so whoever reports it can say which one."""
    if error.filename is None and error.errno is not None:
        return OSError(error.errno, error.strerror, str(path))
    return error


def write_text(path: Path, text: str) -> None:
    """``text`` as UTF-8; bytes that came in undecodable (surrogate-escaped) go out as they were."""
    write_bytes(path, text.encode("utf-8", "surrogateescape"))


def json_bytes(value: Any, indent: int | None = 2) -> bytes:
    """JSON as UTF-8, readable as it is; a path or message that holds
    undecodable bytes (surrogate-escaped) is \\u-escaped so the file stays valid."""
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(value, indent=indent).encode()


def write_json(path: Path, value: Any, *, before_publish: Callable[[Path], None] | None = None) -> None:
    write_bytes(path, json_bytes(value) + b"\n", before_publish=before_publish)


def write_fresh_json(path: Path, value: Any) -> None:
    """A new file in a private staging directory that is renamed into place
    as a whole (a new task's records): written and fsynced, without a
    temporary name of its own; the caller fsyncs the directory once, after
    all its files."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json_bytes(value) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise _named(error, path) from None


def create_json(path: Path, value: Any) -> bool:
    """Write ``path`` whole only if it does not exist yet; False if it did.

    Like ``write_bytes`` but published with link(2), which fails when the name
    is taken, so of several racing creators exactly one wins.
    """
    data = json_bytes(value) + b"\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        temporary.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_line(path: Path, line: str | bytes) -> None:
    """One line appended with a single write(2) on an O_APPEND descriptor.

    Concurrent appenders never interleave within a line on a local
    filesystem; a crash can leave a last line without its newline, which
    readers skip.
    """
    raw = line.encode() if isinstance(line, str) else line
    data = raw.rstrip(b"\n") + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    except OSError as error:
        raise _named(error, path) from None
    finally:
        os.close(fd)


def open_private(path: Path, *, append: bool = False) -> IO[bytes]:
    """``path`` opened for writing (truncated, or appended to), created 0600
    whatever the umask: logs and prompts may hold secrets."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, 0o600), "ab" if append else "wb", buffering=0 if append else -1)


def private_directory(path: Path) -> None:
    """Make ``path`` (and missing parents) if need be; one Cairn made is 0700 whatever the umask."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
