"""The few errors a user can meet, each tied to a documented exit code.

Every entrypoint catches ``CairnError`` once at the top (cairn/cmd/_cli.py) and
prints one line; nothing below that layer prints or exits.  Exit codes are part
of the contract with scripts and Makefiles (docs/cli.md, "Exit status").
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the operation ran and failed: a conflict, a failing check
EXIT_USAGE = 2  # bad usage or input: nothing was changed
EXIT_NO_TASK = 3  # no such task
EXIT_WRONG_STATE = 4  # the task exists but is in the wrong state for this
#: A runner that cannot load the configuration (EX_CONFIG): the task was not
#: touched, and the scheduler holds starts back instead of counting a failure.
EXIT_CONFIG = 78


class CairnError(Exception):
    """A failure the user can act on: ``str(error)`` is the whole message."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class OperationFailed(CairnError):
    exit_code = EXIT_FAILED


class UsageError(CairnError):
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """An invalid configuration value: names the file, the key and what is allowed."""


class NoSuchTask(CairnError):
    exit_code = EXIT_NO_TASK

    def __init__(self, task_id: int | str, *, hint: str | None = None) -> None:
        super().__init__(
            f"no task {task_id}", hint=hint or "`cairn status` lists the tasks there are"
        )
        self.task_id = task_id


class WrongState(CairnError):
    exit_code = EXIT_WRONG_STATE


class NotARepository(UsageError):
    pass


def describe_os_error(error: OSError) -> str:
    """``cannot write PATH: No space left on device (ENOSPC)``: the path and the errno, for people."""
    import errno

    name = errno.errorcode.get(error.errno or 0, "")
    verb = "use"
    if error.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
        verb = "write"
    elif error.errno in (errno.EACCES, errno.EPERM):
        verb = "access"
    where = f" {error.filename}" if error.filename else ""
    return f"cannot {verb}{where}: {error.strerror or error}" + (f" ({name})" if name else "")
