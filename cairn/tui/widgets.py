"""The pieces of the dashboard: the task table, the detail pane's content,
and the small dialogs the keys open.

Colour is an aid, never the only signal: every state is spelled out, a diff
keeps its ``+``/``-``, an error says "error:".  Widths fit a plain 80-column
terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from cairn.core.durations import format_duration
from cairn.core.summary import Summary

STATE_STYLES = {
    "queued": "",
    "running": "yellow",
    "idle": "bold magenta",
    "review": "bold green",
    "accepted": "cyan",
    "failed": "bold red",
    "rejected": "dim",
    "cancelled": "dim",
}

#: (label, key, width); the title takes what is left.
COLUMNS = (("ID", "id", 4), ("STATE", "state", 9), ("AGENT", "agent", 8), ("AGE", "age", 5), ("CHECKS", "checks", 7), ("DIFF", "diff", 12))
_PADDING = 2  # DataTable pads each cell by one on either side


def state_label(summary: Summary) -> str:
    """What the STATE column says: the state, except a silent running agent is ``idle``."""
    return "idle" if summary.state == "running" and summary.idle_since else summary.state


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def row_cells(summary: Summary, now: float, title_width: int) -> tuple[str, ...]:
    """The plain text of a row; styles are added on top, never instead."""
    if summary.state in ("review", "failed", "rejected", "accepted") and summary.files:
        diff = f"{summary.files}f +{summary.insertions} -{summary.deletions}"
    elif summary.state == "review":
        diff = "none"
    else:
        diff = "-"
    return (
        str(summary.id),
        state_label(summary),
        _fit(summary.agent, 8),
        format_duration(now - summary.created),
        summary.checks or "-",
        _fit(diff, 12),
        _fit(summary.title, title_width),
    )


def grouped_by_plan(summaries: list[Summary], plans: dict[int, str]) -> list[Summary]:
    """The rows in the order the table shows them: oldest first, except that a
    plan's tasks stand together where its oldest task stands, each title
    prefixed with the plan's id (``oauth: Add the table``), the first with
    ``▸`` and the rest indented under it, so a plan reads as one group."""
    members: dict[str, list[Summary]] = {}
    for summary in summaries:
        if summary.id in plans:
            members.setdefault(plans[summary.id], []).append(summary)
    shown: list[Summary] = []
    for summary in summaries:
        plan = plans.get(summary.id)
        if plan is None:
            shown.append(summary)
        elif members[plan][0] is summary:
            first, *rest = members[plan]
            shown.append(first._replace(title=f"▸ {plan}: {first.title}"))
            shown.extend(s._replace(title=f"  {plan}: {s.title}") for s in rest)
    return shown


def _styled(cells: tuple[str, ...]) -> list[Text]:
    """Text, never markup: a title may hold brackets."""
    styled = [Text(cell) for cell in cells]
    styled[1].stylize(STATE_STYLES.get(cells[1], ""))
    if cells[4] == "failed":
        styled[4].stylize("bold red")
    return styled


class TaskTable(DataTable[Any]):
    """One row per task, keyed by its id; the highlighted row is the selected task."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        self.add_column("TITLE", key="title")
        self._cells: dict[str, tuple[str, ...]] = {}

    def title_width(self) -> int:
        fixed = sum(width + _PADDING for _, _, width in COLUMNS) + _PADDING + 2  # and a scrollbar
        return max(self.size.width - fixed, 12)

    def selected_id(self) -> int | None:
        if self.row_count == 0:
            return None
        row = min(max(self.cursor_row, 0), self.row_count - 1)
        key = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
        return int(key) if key is not None else None

    def select(self, task_id: int) -> None:
        try:
            self.move_cursor(row=self.get_row_index(str(task_id)))
        except Exception:  # a row that is not there (any more): leave the cursor
            pass

    def show(self, rows: dict[str, tuple[str, ...]]) -> bool:
        """Make the table show ``rows`` (id -> cells), keeping the selection; True if anything changed."""
        if list(rows) == list(self._cells):
            changed = False
            keys = [key for _, key, _ in COLUMNS] + ["title"]
            for row_key, cells in rows.items():
                old = self._cells[row_key]
                if old == cells:
                    continue
                changed = True
                for key, new, before, value in zip(keys, cells, old, _styled(cells)):
                    if new != before:
                        self.update_cell(row_key, key, value, update_width=key == "title")
            self._cells = dict(rows)
            return changed
        selected = self.selected_id()
        self.clear()
        for row_key, cells in rows.items():
            self.add_row(*_styled(cells), key=row_key)
        self._cells = dict(rows)
        if selected is not None and str(selected) in rows:
            self.select(selected)
        return True


# -- the detail pane's content ----------------------------------------------

#: How much of a log or diff the pane reads: enough to read, never a stall.
LOG_TAIL_BYTES = 64 * 1024
DIFF_MAX_LINES = 3000


def log_lines(data: bytes) -> list[Text]:
    """Agent output as lines a terminal would show: ANSI colours kept, carriage-return redraws collapsed."""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            line = line.rsplit("\r", 1)[-1] or line.rstrip("\r").rsplit("\r", 1)[-1]
        lines.append(Text.from_ansi(line))
    return lines


def read_tail(path: Path, limit: int = LOG_TAIL_BYTES) -> tuple[bytes, int]:
    """The last ``limit`` bytes from a line start, and the file's size; empty if it is missing."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            start = max(0, size - limit)
            handle.seek(start)
            data = handle.read(size - start)
    except OSError:
        return b"", 0
    if start:
        data = data[data.find(b"\n") + 1:]
    return data, size


def diff_text(diff: str) -> Text:
    """A unified diff with its signs kept and coloured on top."""
    text = Text()
    lines = diff.splitlines()
    for number, line in enumerate(lines[:DIFF_MAX_LINES]):
        if number:
            text.append("\n")
        if line.startswith(("+++", "---", "diff ", "index ")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append(line, style=style)
    if len(lines) > DIFF_MAX_LINES:
        text.append(f"\n… {len(lines) - DIFF_MAX_LINES} more lines: `cairn diff` shows them all", style="italic")
    return text


# -- dialogs ------------------------------------------------------------------


class Ask(ModalScreen[str | None]):
    """One line of text, or None when the user backs out with Esc."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, question: str, placeholder: str = "", value: str = "", detail: str = "") -> None:
        super().__init__()
        self.question, self.placeholder, self.value, self.detail = question, placeholder, value, detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.question))
            if self.detail:
                yield Static(Text(self.detail), id="detail-preview")
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")
            yield Label("Enter: go   Esc: back", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_back(self) -> None:
        self.dismiss(None)


class NewTask(ModalScreen[tuple[str, str] | None]):
    """A prompt and an agent for a new task; Tab moves between them."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, agent: str) -> None:
        super().__init__()
        self.agent = agent

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("New task: what should the agent do?")
            yield Input(placeholder="the prompt", id="prompt")
            yield Input(value=self.agent, placeholder="agent profile", id="agent")
            yield Label("Enter: queue   Tab: agent   Esc: back", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        prompt = self.query_one("#prompt", Input).value
        agent = self.query_one("#agent", Input).value.strip()
        if prompt.strip() and agent:
            self.dismiss((prompt, agent))
        elif not prompt.strip():
            self.query_one("#prompt", Input).focus()

    def action_back(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """A yes/no question, with what it is about shown under it (a diffstat)."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n", "answer(False)", "No"), Binding("escape", "answer(False)", "No")]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question, self.detail = question, detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.question))
            if self.detail:
                yield Static(Text(self.detail), id="detail-preview")
            yield Label("y: yes   n or Esc: no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
