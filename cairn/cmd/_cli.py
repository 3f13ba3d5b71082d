"""What every entrypoint shares: running a click command with Cairn's errors
and exit codes, loading settings, printing JSON.

Errors are caught here once: a ``CairnError`` becomes one line on stderr (and
a hint line) with its documented exit code; a bug becomes one line pointing
at a saved traceback (``CAIRN_DEBUG=1`` prints it instead).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cairn.errors import EXIT_USAGE, CairnError, describe_os_error

EXIT_INTERNAL = 70

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def run(command: click.Command, prog_name: str, args: list[str] | None = None) -> int:
    args = sys.argv[1:] if args is None else args
    try:
        result = command.main(args, prog_name=prog_name, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except CairnError as error:
        _say(prog_name, str(error), error.hint)
        return error.exit_code
    except click.exceptions.NoSuchOption as error:
        _say(prog_name, error.format_message(), f"`{prog_name} --help` lists the options")
        return EXIT_USAGE
    except click.UsageError as error:
        _say(prog_name, error.format_message(), f"`{prog_name} --help` shows the usage")
        return EXIT_USAGE
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:
        _say(prog_name, "interrupted", None)
        return 130
    except click.ClickException as error:
        _say(prog_name, error.format_message(), None)
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


def entrypoint(command: click.Command, verb: str) -> Callable[[], None]:
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
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def parse_task_id(text: str) -> int:
    from cairn.errors import UsageError

    value = text.strip().lstrip("#")
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"{text!r} is not a task id: ids are whole numbers from 1 (see `cairn status`)")
    return int(value)


class TaskId(click.ParamType):
    name = "ID"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_task_id(value)
        except CairnError as error:
            self.fail(str(error), param, ctx)
