"""The command line of every entrypoint: declared once, parsed here, without click.

A command module declares its verb with three decorators (``verb``,
``argument``, ``option``) over one function; this module turns ``argv`` into
that function's keyword arguments, or raises ``BadUsage`` with the line to
show.  The declaration is plain data (``Verb.params``), so help, the command
reference test and shell completion read the same list the parser uses.

Why not click: importing it (with ``inspect``, ``typing``, ``datetime``,
``uuid``) costs more than the interpreter's own start, and ``cairn status`` and
``cairn queue`` run in loops and under ``watch``.  This file imports nothing
beyond the interpreter's start; keep it that way (tests/test_cli.py checks).

What is understood, as click and POSIX tools do it: long options
(``--name value``, ``--name=value``), short ones (``-p high``, ``-phigh``,
flags bundled as ``-fq``), options anywhere among the arguments, ``--`` ends
the options, ``--help`` prints the help.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported at run time: it costs a few ms
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    Convert = Callable[[str], Any]


class BadUsage(Exception):
    """The command line cannot be parsed: ``str(error)`` says why; ``hint`` the next step."""

    def __init__(self, message: str, *, unknown_option: bool = False) -> None:
        super().__init__(message)
        self.unknown_option = unknown_option


class BadValue(ValueError):
    """Raised by a converter: the message says what was wrong with the value."""


# --- value types: a callable str -> value; ``metavar`` and ``choices`` for help and completion


class Choice:
    def __init__(self, choices: Sequence[str], *, case_sensitive: bool = True) -> None:
        self.choices = tuple(choices)
        self.case_sensitive = case_sensitive
        self.metavar = "[" + "|".join(self.choices) + "]"

    def __call__(self, text: str) -> str:
        for choice in self.choices:
            if choice == text or (not self.case_sensitive and choice.lower() == text.lower()):
                return choice
        listed = ", ".join(repr(c) for c in self.choices)
        raise BadValue(f"{text!r} is not one of {listed}.")


class Number:
    """A whole (``kind=int``) or decimal (``kind=float``) number, at least ``min``."""

    def __init__(self, kind: type = int, *, min: float | None = None) -> None:  # noqa: A002 - as people say it
        self.kind = kind
        self.min = min
        self.metavar = "INTEGER" if kind is int else "FLOAT"

    def __call__(self, text: str) -> Any:
        try:
            value = self.kind(text)
        except ValueError:
            raise BadValue(f"{text!r} is not a valid {'integer' if self.kind is int else 'float'}.") from None
        if self.min is not None and value < self.min:
            raise BadValue(f"{text} is not in the range x>={self.min}.")
        return value


class Parsed:
    """A value people write in their own notation (a duration, a size), parsed by ``parse``."""

    def __init__(self, metavar: str, parse: Callable[[str], Any], *, positive: bool = False) -> None:
        self.metavar = metavar
        self.parse = parse
        self.positive = positive

    def __call__(self, text: str) -> Any:
        try:
            value = self.parse(text)
        except ValueError as error:
            raise BadValue(str(error)) from None
        if self.positive and value <= 0:
            raise BadValue(f"{text!r} must be longer than zero")
        return value


def _task_id(text: str) -> int:
    value = text.strip().lstrip("#")
    if not value.isdigit() or int(value) < 1:
        raise BadValue(f"{text!r} is not a task id: ids are whole numbers from 1 (see `cairn status`)")
    return int(value)


class _TaskId:
    metavar = "ID"
    completes = "task"  # what a shell completion offers here: task ids

    def __call__(self, text: str) -> int:
        return _task_id(text)


TASK_ID = _TaskId()


def _text(text: str) -> str:
    return text


# --- the declaration


class Argument:
    def __init__(self, name: str, *, many: bool = False, required: bool = True, type: Any = None) -> None:  # noqa: A002
        self.name = name
        self.many = many  # takes every remaining argument
        self.required = required
        self.convert: Convert = type or _text
        self.metavar = name.upper()

    def shown(self) -> str:
        text = self.metavar + ("..." if self.many else "")
        return text if self.required else f"[{text}]"


class Option:
    def __init__(
        self,
        names: Sequence[str],
        *,
        dest: str | None = None,
        help: str | None = None,  # noqa: A002
        type: Any = None,  # noqa: A002
        default: Any = None,
        multiple: bool = False,
        is_flag: bool = False,
        flag_value: Any = None,
        metavar: str | None = None,
        show_default: bool = False,
    ) -> None:
        self.opts = tuple(names)
        longest = max(self.opts, key=len)
        self.dest = dest or longest.lstrip("-").replace("-", "_")
        self.help = help or ""
        self.convert: Convert = type or _text
        self.is_flag = is_flag or flag_value is not None
        self.flag_value = True if is_flag and flag_value is None else flag_value
        self.multiple = multiple
        self.default = () if multiple else (False if is_flag and flag_value is None else default)
        self.metavar = metavar or getattr(type, "metavar", "TEXT")
        self.show_default = show_default

    @property
    def takes_value(self) -> bool:
        return not self.is_flag

    def label(self) -> str:
        """How an error names it, as click did: ``'-p' / '--priority'``."""
        return " / ".join(f"'{name}'" for name in self.opts)


class Verb:
    """A command: its help, its parameters in order, and the function they are passed to."""

    def __init__(self, function: Callable[..., Any], help: str, params: list[Argument | Option]) -> None:  # noqa: A002
        self.function = function
        self.help = help
        self.params = params
        self.options = [p for p in params if isinstance(p, Option)]
        self.arguments = [p for p in params if isinstance(p, Argument)]
        self._by_name = {name: option for option in self.options for name in option.opts}

    def __call__(self, **values: Any) -> Any:
        return self.function(**values)

    def parse(self, args: Sequence[str]) -> dict[str, Any] | None:
        """The function's keyword arguments, or None when ``--help`` was asked for."""
        values: dict[str, Any] = {o.dest: o.default for o in self.options}
        given: dict[str, list[Any]] = {}
        positional: list[str] = []
        items = list(args)
        index = 0
        while index < len(items):
            token = items[index]
            index += 1
            if token == "--":
                positional.extend(items[index:])
                break
            if token == "--help":
                return None
            if token.startswith("--"):
                name, has_value, inline = token.partition("=")
                option = self._option(name)
                if option.takes_value:
                    if not has_value:
                        if index >= len(items):
                            raise BadUsage(f"Option '{name}' requires an argument.")
                        inline = items[index]
                        index += 1
                    self._take(option, inline, given)
                elif has_value:
                    raise BadUsage(f"Option '{name}' does not take a value.")
                else:
                    self._take(option, None, given)
            elif token.startswith("-") and len(token) > 1:
                letters = token[1:]
                while letters:
                    option = self._option("-" + letters[0])
                    letters = letters[1:]
                    if option.takes_value:
                        if not letters:
                            if index >= len(items):
                                raise BadUsage(f"Option '{option.opts[0]}' requires an argument.")
                            letters = items[index]
                            index += 1
                        self._take(option, letters, given)
                        break
                    self._take(option, None, given)
            else:
                positional.append(token)
        for dest, taken in given.items():
            option = next(o for o in self.options if o.dest == dest)
            values[dest] = tuple(taken) if option.multiple else taken[-1]
        values.update(self._arguments(positional))
        return values

    def _option(self, name: str) -> Option:
        option = self._by_name.get(name)
        if option is None:
            raise BadUsage(f"No such option '{name}'{_did_you_mean(name, self._by_name)}", unknown_option=True)
        return option

    def _take(self, option: Option, text: str | None, given: dict[str, list[Any]]) -> None:
        if text is None:
            value = option.flag_value
        else:
            try:
                value = option.convert(text)
            except ValueError as error:
                raise BadUsage(f"Invalid value for {option.label()}: {error}") from None
        if not option.multiple:
            given[option.dest] = []
        given.setdefault(option.dest, []).append(value)

    def _arguments(self, positional: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        rest = list(positional)
        for position, argument in enumerate(self.arguments):
            after = sum(1 for a in self.arguments[position + 1:] if a.required)
            if argument.many:
                taken, rest = rest[: len(rest) - after], rest[len(rest) - after:]
            else:
                taken, rest = rest[:1], rest[1:]
            if not taken and argument.required:
                raise BadUsage(f"Missing argument '{argument.metavar}{'...' if argument.many else ''}'.")
            try:
                converted = [argument.convert(text) for text in taken]
            except ValueError as error:
                raise BadUsage(f"Invalid value for '{argument.metavar}': {error}") from None
            values[argument.name] = tuple(converted) if argument.many else (converted[0] if converted else None)
        if rest:
            raise BadUsage(f"Got unexpected extra argument{'s' if len(rest) > 1 else ''} ({' '.join(rest)})")
        return values

    def usage(self, prog_name: str) -> str:
        shown = " ".join(a.shown() for a in self.arguments)
        return f"Usage: {prog_name} [OPTIONS]{' ' + shown if shown else ''}"

    def help_text(self, prog_name: str) -> str:
        rows = []
        for option in self.options:
            names = ", ".join(option.opts) + ("" if option.is_flag else f" {option.metavar}")
            text = option.help
            if option.show_default and option.default is not None:
                text = f"{text}  [default: {option.default}]".strip()
            rows.append((names, text))
        rows.append(("--help", "Show this message and exit."))
        width = min(30, max(len(names) for names, _ in rows))
        lines = [self.usage(prog_name), "", *_wrap(self.help, "  "), "", "Options:"]
        for names, text in rows:
            if len(names) > width:
                lines.append(f"  {names}")
                lines.extend(_wrap(text, " " * (width + 4)))
            else:
                wrapped = _wrap(text, " " * (width + 4)) or [""]
                lines.append(f"  {names.ljust(width)}  {wrapped[0].lstrip()}")
                lines.extend(wrapped[1:])
        return "\n".join(lines) + "\n"


def _wrap(text: str, indent: str, width: int = 79) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(indent) + len(line) + 1 + len(word) > width:
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(indent + line)
    return lines


def _did_you_mean(name: str, known: dict[str, Option]) -> str:
    import difflib  # only on this error path

    close = difflib.get_close_matches(name, [n for n in known if n.startswith("--")], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- the decorators a command module is written with


def verb(help: str) -> Callable[[Callable[..., Any]], Verb]:  # noqa: A002
    """The outermost decorator: the function becomes a ``Verb``."""

    def make(function: Callable[..., Any]) -> Verb:
        declared: list[Argument | Option] = getattr(function, "_cairn_params", [])
        return Verb(function, help, list(reversed(declared)))

    return make


def _declare(param: Argument | Option) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(function: Callable[..., Any]) -> Callable[..., Any]:
        if not hasattr(function, "_cairn_params"):
            function._cairn_params = []  # type: ignore[attr-defined]
        function._cairn_params.append(param)  # type: ignore[attr-defined]
        return function

    return add


def argument(name: str, *, many: bool = False, required: bool | None = None, type: Any = None) -> Callable[..., Any]:  # noqa: A002
    """A positional parameter; ``many``: all that remain, as a tuple (required: at least one; by default not)."""
    return _declare(Argument(name, many=many, required=(not many) if required is None else required, type=type))


def option(*names: str, **settings: Any) -> Callable[..., Any]:
    """``--name VALUE`` (or a flag: ``is_flag=True``, or ``flag_value=`` shared by several options with one ``dest``)."""
    return _declare(Option(names, **settings))


json_option = option("--json", dest="as_json", is_flag=True, help="Print machine-readable JSON.")
