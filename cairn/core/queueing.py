"""Turning what ``cairn queue`` was given into a task: pure checks and defaults."""

from __future__ import annotations

from cairn.core.durations import parse_duration
from cairn.errors import UsageError

TITLE_WIDTH = 72


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
        title = " ".join(title.split())
        if not title:
            raise UsageError("the title is empty: give a few words with --title, or leave it out")
        return title
    first = next(line.strip() for line in prompt.splitlines() if line.strip())
    first = " ".join(first.split())
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
