"""Directory trees gc measures and removes, and the processes working inside them.

Sizes are disk usage (allocated blocks, as ``du`` counts them), each inode
once.  Removal never crosses into another filesystem: a directory mounted
inside a workspace (a bind mount, a tmpfs) is reported by ``mounts_inside``
before anything is removed, and ``remove_tree`` stops rather than descend.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from cairn.core.gc import Process


class MountInside(OSError):
    pass


def tree_bytes(path: str) -> int:
    """Disk usage of everything under ``path``; 0 if it cannot be read."""
    seen: set[tuple[int, int]] = set()
    try:
        top = os.lstat(path)
    except OSError:
        return 0
    total = top.st_blocks * 512
    pending = [path]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += info.st_blocks * 512
            if stat.S_ISDIR(info.st_mode) and info.st_dev == top.st_dev:
                pending.append(entry.path)
    return total


def remove_tree(path: str) -> int:
    """Remove ``path`` and everything under it; the bytes it took.

    Unlike ``shutil.rmtree`` it counts as it goes (one walk, not two), makes
    read-only directories writable first (Go's module cache has them), and
    refuses to descend into another filesystem.
    """
    top = os.lstat(path)
    total = _remove_children(path, top.st_dev)
    os.rmdir(path)
    return total + top.st_blocks * 512


def _remove_children(directory: str, device: int) -> int:
    total = 0
    if not os.access(directory, os.W_OK | os.X_OK):
        os.chmod(directory, stat.S_IMODE(os.lstat(directory).st_mode) | stat.S_IRWXU)
    with os.scandir(directory) as entries:
        listed = list(entries)
    for entry in listed:
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            if info.st_dev != device:
                raise MountInside(f"{entry.path} is another filesystem")
            total += _remove_children(entry.path, device)
            os.rmdir(entry.path)
        else:
            os.unlink(entry.path)
        total += info.st_blocks * 512
    return total


def mount_points() -> list[str]:
    """Every mount point on this machine (Linux: /proc/self/mountinfo), or none if unknown."""
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return []
    points = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            # Spaces and the like are octal escapes in mountinfo.
            points.append(fields[4].encode().decode("unicode_escape"))
    return points


def mounts_inside(path: str, points: Iterable[str]) -> str | None:
    prefix = path.rstrip("/") + "/"
    return next((p for p in points if p.startswith(prefix)), None)


def processes_inside(paths: Iterable[str]) -> dict[str, tuple[Process, ...]]:
    """For each path, the processes (but this one) whose working directory is in it.

    One pass over the process table, whatever the number of paths: each
    process's cwd is looked up with its parents in a set.
    """
    import psutil

    wanted = {os.path.realpath(p): p for p in paths}
    found: dict[str, list[Process]] = {p: [] for p in wanted.values()}
    if not wanted:
        return {}
    me = os.getpid()
    for process in psutil.process_iter(["name", "cwd"]):
        cwd = process.info.get("cwd")
        if not cwd or process.pid == me or cwd.endswith(" (deleted)"):
            continue
        current = cwd
        while True:
            if current in wanted:
                found[wanted[current]].append(Process(process.pid, process.info.get("name") or "?"))
                break
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
    return {path: tuple(processes) for path, processes in found.items()}


def end_processes(processes: Iterable[Process], inside: str, grace: float = 3.0) -> list[Process]:
    """SIGTERM each process still working inside ``inside``, SIGKILL those left after ``grace``;
    the ones that were ended.  A pid now naming another process is left alone."""
    import psutil

    root = os.path.realpath(inside).rstrip("/")
    targets = []
    for process in processes:
        try:
            handle = psutil.Process(process.pid)
            cwd = handle.cwd()
        except psutil.Error:
            continue
        if cwd == root or cwd.startswith(root + "/"):
            try:
                handle.terminate()
                targets.append((process, handle))
            except psutil.Error:
                continue
    if not targets:
        return []
    _, alive = psutil.wait_procs([h for _, h in targets], timeout=grace)
    for handle in alive:
        try:
            handle.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(alive, timeout=grace)
    return [p for p, _ in targets]
