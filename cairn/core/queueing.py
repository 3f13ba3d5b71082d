"""Turning what ``cairn queue`` was given into a task: pure checks and defaults."""

from __future__ import annotations

from cairn.core.durations import parse_duration
from cairn.errors import UsageError

TITLE_WIDTH = 72
#: The kernel's limit on one argument (MAX_ARG_STRLEN, 32 pages), its NUL included.
ARGUMENT_LIMIT = 128 * 1024


def check_text(text: str, what: str) -> str:
    """``text`` if it can be stored as UTF-8; argv bytes that are not UTF-8
    arrive as lone surrogates, which no JSON file can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise UsageError(
            f"{what} is not valid UTF-8 text (character {error.start + 1})",
            hint="check the terminal's or the script's encoding",
        ) from None
    return text


def make_title(prompt: str, title: str | None) -> str:
    """The given title, else the prompt's first non-empty line, shortened."""
    if title is not None:
        check_text(title, "the title")
        title = " ".join("".join(c if c.isprintable() else " " for c in title).split())
        if not title:
            raise UsageError("the title is empty: give a few words with --title, or leave it out")
        return title
    first = next(line.strip() for line in prompt.splitlines() if line.strip())
    # A title goes on one line and into commit messages (argv): no control characters, no NUL.
    first = " ".join("".join(c if c.isprintable() else " " for c in first).split()) or "(untitled)"
    return first if len(first) <= TITLE_WIDTH else first[: TITLE_WIDTH - 1].rstrip() + "…"


def check_prompt(prompt: str) -> str:
    check_text(prompt, "the prompt")
    if not prompt.strip():
        raise UsageError(
            "the prompt is empty: say what the agent should do",
            hint='e.g. cairn queue "Add type hints to cairn/store.py", or -f FILE (- for stdin)',
        )
    return prompt


def check_agent(agent: str, known: list[str]) -> str:
    if agent not in known:
        raise UsageError(
            f"unknown agent {agent!r}; known agents: {', '.join(sorted(known))}",
            hint="define it under [agents.NAME] in cairn.toml (docs/agents.md)",
        )
    return agent


def check_timeout(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise UsageError(f"--timeout: {error}") from None
    if seconds <= 0:
        raise UsageError("--timeout must be longer than zero")
    return seconds


def check_locks(globs: tuple[str, ...]) -> list[str]:
    cleaned = [g.strip() for g in globs]
    for glob in cleaned:
        check_text(glob, "--lock")
        if not glob:
            raise UsageError("--lock needs a path glob, e.g. --lock 'src/api/**'")
        if glob.startswith("/") or glob.startswith("../") or "/../" in glob:
            raise UsageError(f"--lock {glob!r}: give a path relative to the repository root")
    return cleaned


def fits_on_command_line(prompt: str) -> bool:
    """Whether ``prompt`` can be one argv element: no NUL, under the kernel's per-argument limit."""
    return "\0" not in prompt and len(prompt.encode("utf-8", "surrogateescape")) < ARGUMENT_LIMIT


def has_long_form(command: list[str], stdin: bool) -> bool:
    """Whether a profile can be given any prompt another way than on its
    command line: on standard input, or as a file (``{prompt_file}``)."""
    return stdin or any("{prompt_file}" in part for part in command)


def check_prompt_for(prompt: str, agent: str, command: list[str], stdin: bool) -> None:
    """Refuse at queue time a prompt the agent could never be given: one
    that cannot be an argument, for a profile that takes it only on the
    command line.  Profiles with a stdin or file form get it that way
    (cairn/agents/launch.py)."""
    if fits_on_command_line(prompt) or not any("{prompt}" in part for part in command) or has_long_form(command, stdin):
        return
    if "\0" in prompt:
        problem = f"the prompt holds a NUL byte (character {prompt.index(chr(0)) + 1}), which no command-line argument can carry"
    else:
        size = len(prompt.encode("utf-8", "surrogateescape"))
        problem = f"the prompt is {size:,} bytes; one command-line argument holds less than {ARGUMENT_LIMIT // 1024} KiB (the kernel's limit)"
    raise UsageError(
        f"{problem}, and agent {agent!r} takes the prompt only on its command line ({{prompt}}); nothing was queued",
        hint=f"remove the NUL bytes or shorten the prompt, or give [agents.{agent}] a form for long prompts: "
        "`stdin = true`, or {prompt_file} in its command (docs/agents.md)",
    )
