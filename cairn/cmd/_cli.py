"""What every entrypoint shares: running a command with Cairn's errors and
exit codes, printing, loading settings, printing JSON.

A command module is one page, written the same way for every verb::

    from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, option, verb

    @verb("One sentence of help.")
    @argument("task_id", type=TASK_ID)
    @option("--reason", help="Why, for the record.")
    @json_option
    def command(task_id: int, reason: str | None, as_json: bool) -> int: ...

    main = entrypoint(command, "reject")

The declarations are parsed by cairn/cmd/_args.py, which imports nothing
heavy; a module imports what its verb needs inside the function, so the hot
verbs (queue, status, accept, reject, diff) start with little beyond the
interpreter.  Print with ``echo``; raise ``CairnError``s, never exit.

Errors are caught here once: a ``CairnError`` becomes one line on stderr (and
a hint line) with its documented exit code; a bug becomes one line pointing
at a saved traceback (``CAIRN_DEBUG=1`` prints it instead).
"""

from __future__ import annotations

import os
import sys

from cairn.cmd._args import (  # noqa: F401 - the names a command module is written with
    TASK_ID,
    BadUsage,
    BadValue,
    Choice,
    Number,
    Parsed,
    Verb,
    argument,
    json_option,
    option,
    verb,
)
from cairn.cmd._args import _text as _free_text
from cairn.errors import EXIT_USAGE, CairnError, describe_os_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

EXIT_INTERNAL = 70


def run(command: Verb, prog_name: str, args: list[str] | None = None) -> int:
    args = sys.argv[1:] if args is None else args
    try:
        values = command.parse(args)
        if values is None:
            echo(command.help_text(prog_name), nl=False)
            return 0
        result = command(**values)
        return result if isinstance(result, int) else 0
    except BadUsage as error:
        hint = f"`{prog_name} --help` " + ("lists the options" if error.unknown_option else "shows the usage")
        if error.unknown_option and any(argument.many and argument.convert is _free_text for argument in command.arguments):
            # `cairn queue "-r is broken"`: text, not an option, once it follows `--`.
            hint += f"; text that begins with '-' goes after --: {prog_name} -- \"-r is broken\""
        _say(prog_name, str(error), hint)
        return EXIT_USAGE
    except CairnError as error:
        _say(prog_name, str(error), error.hint)
        return error.exit_code
    except BrokenPipeError:
        # `cairn status | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        _say(prog_name, "interrupted", None)
        return 130
    except OSError as error:
        if error.filename is None:
            return _internal(prog_name, error)
        # The machine, not Cairn: a full disk, a read-only or unreadable
        # state directory.  Records are written whole or not at all, so what
        # was on disk before is still there.
        _say(prog_name, describe_os_error(error), "free space or fix the permissions, then run it again; docs/troubleshooting.md, \"Disk full or unwritable state directory\"")
        return EXIT_USAGE
    except Exception as error:  # a bug: one line for the user, the traceback kept
        return _internal(prog_name, error)


def _internal(prog_name: str, error: Exception) -> int:
    """A bug: one line for the user, the traceback kept."""
    if os.environ.get("CAIRN_DEBUG"):
        raise error
    saved = _save_traceback(prog_name)
    _say(prog_name, f"internal error: {type(error).__name__}: {error}", f"traceback saved in {saved}" if saved else None)
    return EXIT_INTERNAL


def echo(message: object = "", *, nl: bool = True, err: bool = False) -> None:
    """One line (or ``nl=False``: exactly the text) to stdout, or stderr; flushed, as a script expects."""
    stream = sys.stderr if err else sys.stdout
    stream.write(f"{message}\n" if nl else str(message))
    stream.flush()


def _say(prog_name: str, message: str, hint: str | None) -> None:
    print(f"{prog_name}: {message}", file=sys.stderr)
    if hint:
        print(f"  {hint}", file=sys.stderr)


def _save_traceback(prog_name: str) -> str | None:
    import tempfile
    import traceback

    try:
        handle, path = tempfile.mkstemp(prefix="cairn-crash-", suffix=".txt")
        # backslashreplace: argv may hold bytes that are not UTF-8 (surrogate escapes).
        with os.fdopen(handle, "w", errors="backslashreplace") as out:
            out.write(f"{prog_name} {' '.join(sys.argv[1:])}\n\n")
            traceback.print_exc(file=out)
        return path
    except OSError:
        return None


def entrypoint(command: Verb, verb: str) -> Callable[[], None]:
    """The ``main`` of a ``cairn-<verb>`` console script."""

    def main() -> None:
        sys.exit(run(command, f"cairn-{verb}"))

    return main


def settings(cwd: Path | None = None) -> Any:
    from cairn.config.load import resolve

    return resolve(cwd)


def store_for(current: Any, *, create: bool = False) -> Any:
    from cairn.state.store import Store

    store = Store(current.layout)
    if create or store.exists():
        store.ensure(current.root)
    return store


def print_json(value: Any) -> None:
    import json

    echo(json.dumps(value, indent=2, ensure_ascii=False))



def parse_task_id(text: str) -> int:
    """A task id as people write it (``3``, ``#3``), or a UsageError."""
    try:
        return TASK_ID(text)
    except BadValue as error:
        from cairn.errors import UsageError

        raise UsageError(str(error)) from None
