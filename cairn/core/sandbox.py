"""The bubblewrap command line that confines one program to its workspace.  Pure.

What must always hold for the argv built here:

- the whole filesystem is mounted read-only (``--ro-bind / /``), so the user's
  checkout, its ``.git`` (hooks included) and ``$HOME`` cannot be written;
- ``/tmp`` is a fresh tmpfs of the sandbox's own; paths the program must still
  *read* there (a repository under ``/tmp``) are bound back read-only;
- ``hidden`` directories (the state directory: other tasks' prompts and logs)
  become empty tmpfs, with the task's own paths bound back inside them;
- only ``writable`` paths (the workspace, what the agent's profile declares)
  are bound read-write; a deeper mount always comes after the one it sits in,
  so a writable workspace inside a read-only checkout stays writable;
- no capabilities (``--cap-drop ALL``: root inside could remount ``/``
  writable), its own pid namespace (it cannot signal or ptrace the runner or
  other agents; what it leaves behind dies with it), and with ``network`` off
  its own network namespace, where only an unconnected loopback exists.
"""

from __future__ import annotations

from cairn.core.records import record

#: Tools and sessions an agent still needs under a read-only tree.
PRIVATE_TMPFS = ("/tmp", "/dev/shm")


@record
class SandboxSpec:
    """Absolute, resolved, existing paths (the imperative shell checks that)."""

    workspace: str
    writable: tuple[str, ...] = ()
    #: Bound back read-only where a tmpfs hid them (a repository under /tmp).
    readable: tuple[str, ...] = ()
    #: Directories replaced by an empty tmpfs before the binds above.
    hidden: tuple[str, ...] = ()
    #: Files that read as empty (``/dev/null`` bound over them): credentials under ``$HOME``.
    blanked: tuple[str, ...] = ()
    network: bool = True


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


#: What each kind of mount becomes on bwrap's command line.
_OPTIONS = {
    "tmpfs": lambda path: ["--tmpfs", path],
    "blank": lambda path: ["--ro-bind", "/dev/null", path],
    "read": lambda path: ["--ro-bind-try", path, path],
    "write": lambda path: ["--bind", path, path],
}


def mounts(spec: SandboxSpec) -> list[tuple[str, str]]:
    """``(kind, path)`` in the order bwrap must apply them: each tmpfs before
    what is bound into it, every path after its ancestors, and a path both
    readable and writable bound writable."""
    writable = {spec.workspace, *spec.writable}
    readable = set(spec.readable) - writable
    layered: list[tuple[int, int, str, str]] = []
    for path in (*PRIVATE_TMPFS, *spec.hidden):
        layered.append((_depth(path), 0, "tmpfs", path))
    for path in spec.blanked:
        layered.append((_depth(path), 0, "blank", path))
    for path in readable:
        layered.append((_depth(path), 1, "read", path))
    for path in writable:
        layered.append((_depth(path), 2, "write", path))
    return [(kind, path) for _, _, kind, path in sorted(layered)]


def bwrap_argv(spec: SandboxSpec, command: list[str], bwrap: str = "bwrap") -> list[str]:
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for kind, path in mounts(spec):
        argv += _OPTIONS[kind](path)
    argv += ["--cap-drop", "ALL", "--unshare-pid", "--unshare-ipc", "--die-with-parent"]
    if not spec.network:
        argv.append("--unshare-net")
    argv += ["--chdir", spec.workspace, "--", *command]
    return argv
