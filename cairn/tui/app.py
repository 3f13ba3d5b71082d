"""``cairn tui``: the crew at a glance, and single keys to act on it.

Disk is the truth: the table is a fresh ``Store.scan()`` (one stat a task,
cached summaries) whenever inotify says a record changed, and every second
regardless, so ages tick and a missed notice costs at most a second.  The
dashboard holds no state of its own that matters: quit it, run two, run it
beside ``cairn up``; the state directory decides.

Keys act on the highlighted task through the same functions and commands a
user would type (cairn/tui/actions.py), in worker threads, so a slow accept
never freezes the screen.  The terminal bell rings when a task becomes ready
for review, fails, goes idle or is accepted.

Layout for 80x24: a status line, the task table, the selected task's heading
and its log tail or diff, a message line, the keys.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, RichLog, Static

from cairn.core.summary import Summary
from cairn.errors import CairnError
from cairn.state.store import Store
from cairn.tui import actions
from cairn.tui.widgets import Ask, Confirm, NewTask, TaskTable, diff_text, grouped_by_plan, log_lines, read_tail, row_cells, state_label

#: Transitions worth the bell, as the STATE column names them.
RING_ON = frozenset({"review", "failed", "idle", "accepted"})


class CairnApp(App[None]):
    TITLE = "cairn"
    #: Its key and footer entry would crowd out Cairn's own at 80 columns.
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #top { height: 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    #tasks { height: 10; }
    #heading { height: 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    #detail { height: 1fr; }
    #message { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    .dialog { width: 76; height: auto; border: round $accent; padding: 0 1; background: $surface; }
    Ask, NewTask, Confirm { align: center middle; }
    .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("a", "accept", "Accept"),
        # Shown in docs/watching.md, not in the footer: an 80-column footer has no room left.
        Binding("A", "train", "Train", show=False),
        Binding("x", "reject", "Reject"),
        Binding("r", "retry", "Retry"),
        Binding("c", "cancel_task", "Cancel"),
        Binding("t", "attach", "Attach"),
        Binding("n", "new_task", "New"),
        Binding("l", "view('log')", "Log"),
        Binding("d", "view('diff')", "Diff"),
        Binding("k", "view('conflicts')", "Conflicts", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, settings: Any, *, interval: float = 1.0) -> None:
        super().__init__()
        self.settings = settings
        self.store = Store(settings.layout)
        self.interval = interval
        self.summaries: dict[int, Summary] = {}
        #: task id -> the plan it was queued with.
        self.plans: dict[int, str] = {}
        self.reasons: dict[int, str] = {}
        self.mode = "log"
        #: How many times the bell rang (the bell itself is silent without a terminal).
        self.bells = 0
        self.message = ""
        self._seen: dict[int, str] = {}
        self._primed = False
        self._busy: set[int] = set()
        self._shown: tuple[int | None, str] = (None, "")
        self._log_position = 0
        self._log_partial = b""
        self._log_empty = True
        self._last_scan = 0.0
        self._wakeup: Any = None
        self._watching = False
        self._table_width = -1

    def compose(self) -> ComposeResult:
        yield Static(id="top")
        yield TaskTable(id="tasks")
        yield Static(id="heading")
        yield RichLog(id="detail", wrap=False, markup=False, highlight=False, max_lines=5000)
        yield Static(id="message")
        yield Footer()

    def on_mount(self) -> None:
        from cairn.state.watch import Wakeup

        self._wakeup = Wakeup(self.settings.layout)
        self._watching = self._wakeup.start()
        self.refresh_tasks()
        self._initial_selection()
        self.query_one(TaskTable).focus()
        self.set_interval(min(0.2, self.interval), self._tick)

    def on_unmount(self) -> None:
        if self._wakeup is not None:
            self._wakeup.stop()

    # -- watching the state directory --------------------------------------

    def _tick(self) -> None:
        if not self.query(TaskTable):  # queries the main screen, whatever dialog is on top
            return  # closing down: the widgets are going
        if not self._watching:
            self._watching = self._wakeup.start()
        resized = self.query_one(TaskTable).size.width != self._table_width
        if self._wakeup.take() or resized or time.monotonic() - self._last_scan >= self.interval:
            self.refresh_tasks()
        else:
            self._update_detail()

    def refresh_tasks(self) -> None:
        """Rescan the state directory and redraw what changed."""
        from cairn.core.schedule import plan

        self._last_scan = time.monotonic()
        scan = self.store.scan()
        from cairn.state.scheduler_info import current_holds

        decided = plan(scan.summaries, self.settings.config.max_agents, held=current_holds(self.settings.layout), limits=self.settings.executor_limits)
        self.reasons = {**decided.waiting, **{i: f"cannot start: {why}" for i, why in decided.fail.items()}}
        from cairn.land.radar import conflict_marks
        from cairn.state.plans import plan_of_tasks

        # The radar's marks (cached by commit) and each task's plan, named in the heading.
        for task_id, others in conflict_marks(self.store, self.settings, scan.summaries).items():
            self.reasons[task_id] = f"conflicts with task{'s' if len(others) > 1 else ''} {', '.join(map(str, others))}"
        self.plans = plan_of_tasks(self.store)
        self.summaries = {s.id: s for s in scan.summaries}
        self._announce(scan.summaries)
        table = self.query_one(TaskTable)
        now = time.time()
        self._table_width = table.size.width
        width = table.title_width()
        table.show({str(s.id): row_cells(s, now, width) for s in grouped_by_plan(scan.summaries, self.plans)})
        self._update_top(scan.summaries)
        self._update_detail()

    def _announce(self, summaries: list[Summary]) -> None:
        for summary in summaries:
            label = state_label(summary)
            before = self._seen.get(summary.id)
            self._seen[summary.id] = label
            # A task first seen already in review (queued and finished between two
            # looks) is news too; what was there when the dashboard opened is not.
            if self._primed and before != label and label in RING_ON:
                from cairn.notify import headline

                self.bells += 1
                self.bell()
                self._say(f"{headline(summary.id, label).removeprefix('cairn: ')}: {summary.title}")
        self._primed = True

    def _update_top(self, summaries: list[Summary]) -> None:
        from cairn.state.scheduler_info import running_scheduler

        counts: dict[str, int] = {}
        for summary in summaries:
            label = state_label(summary)
            counts[label] = counts.get(label, 0) + 1
        order = ("running", "idle", "review", "queued", "failed")
        tally = ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s)) or "no active tasks"
        pid = running_scheduler(self.settings.layout)
        scheduler = "scheduler running" if pid is not None else "no scheduler (cairn up)"
        where = self.settings.root or self.settings.layout.home
        self.query_one("#top", Static).update(Text(f"cairn  {tally}  |  {scheduler}  |  {where}"))

    def _initial_selection(self) -> None:
        """Start where attention is due: the first task waiting for review, else the newest."""
        table = self.query_one(TaskTable)
        waiting = [s.id for s in self.summaries.values() if s.state == "review"]
        if waiting:
            table.select(min(waiting))
        elif self.summaries:
            table.select(max(self.summaries))

    # -- the detail pane ---------------------------------------------------

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._update_detail()

    def _update_detail(self) -> None:
        summary = self.selected()
        heading = self.query_one("#heading", Static)
        detail = self.query_one("#detail", RichLog)
        if summary is None:
            heading.update(Text("no tasks yet: press n to queue one"))
            if self._shown != (None, self.mode):
                detail.clear()
                self._shown = (None, self.mode)
            return
        from cairn.cmd.views import note_for, report_brief
        from cairn.state.reports import read_report

        note = note_for(summary, self.reasons.get(summary.id), time.time())
        spent = report_brief(read_report(self.settings.layout, summary.id))
        # Text, not markup: a title may hold brackets.
        plan = f" [plan {self.plans[summary.id]}]" if summary.id in self.plans else ""
        heading.update(Text(f"task {summary.id} {state_label(summary)}: {summary.title}{plan}" + (f" ({note})" if note else "")
                            + (f" — {spent}" if spent else "") + f"  [{self.mode}]"))
        fresh = self._shown != (summary.id, self.mode)
        if fresh:
            self._shown = (summary.id, self.mode)
            detail.clear()
            if self.mode == "diff":
                self._show_diff(summary, detail)
            elif self.mode == "conflicts":
                detail.write(Text(actions.conflicts_text(self.store, self.settings)))
        if self.mode == "log":
            self._follow_log(summary, detail, fresh)

    def _show_diff(self, summary: Summary, detail: RichLog) -> None:
        path = self.settings.layout.preview_diff(summary.id)
        try:
            diff = path.read_text(errors="replace")
        except OSError:
            diff = None
        if diff:
            detail.write(diff_text(diff), scroll_end=False)
            detail.scroll_home(animate=False)
        elif diff is not None:
            detail.write(Text("(the proposal changes nothing)", style="italic"))
        elif summary.state in ("queued", "running"):
            detail.write(Text("(no proposal until the agent finishes: l shows its log)", style="italic"))
        else:
            detail.write(Text("(no proposal was recorded)", style="italic"))

    def _follow_log(self, summary: Summary, detail: RichLog, fresh: bool) -> None:
        """The log's tail when the task is first shown, then whatever it grows by."""
        path = self.settings.layout.agent_log(summary.id)
        if fresh:
            data, self._log_position = read_tail(path)
            self._log_partial = b""
            self._log_empty = not data
            if not data:
                detail.write(Text("(no output yet)" if summary.state in ("queued", "running") else "(no log)", style="italic"))
                return
        else:
            try:
                size = os.stat(path).st_size
            except OSError:
                return
            if size == self._log_position:
                return
            if size < self._log_position:  # truncated or replaced: show it afresh
                self._shown = (None, self.mode)
                self._update_detail()
                return
            with open(path, "rb") as handle:
                handle.seek(self._log_position)
                data = handle.read(size - self._log_position)
            self._log_position += len(data)
            if self._log_empty:
                detail.clear()
                self._log_empty = False
        data = self._log_partial + data
        end = data.rfind(b"\n") + 1
        whole, self._log_partial = data[:end], data[end:]
        if whole:
            for line in log_lines(whole[:-1]):
                detail.write(line)

    def action_view(self, mode: str) -> None:
        self.mode = mode
        self._update_detail()

    # -- keys ----------------------------------------------------------------

    def selected(self) -> Summary | None:
        task_id = self.query_one(TaskTable).selected_id()
        return self.summaries.get(task_id) if task_id is not None else None

    def _selected_in(self, verb: str, states: tuple[str, ...]) -> Summary | None:
        """The selected task if ``verb`` applies to it; else say why not and None."""
        summary = self.selected()
        if summary is None:
            self._say("no task selected", error=True)
            return None
        if summary.state not in states:
            from cairn.core.lifecycle import wrong_state_message

            self._say(wrong_state_message(summary.id, summary.state, verb), error=True)
            return None
        return summary

    def action_accept(self) -> None:
        summary = self._selected_in("accept", ("review",))
        if summary is None:
            return
        task_id = summary.id

        def say(line: str) -> None:
            self._from_worker(self._say, f"task {task_id}: {line}")

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(f"accepting task {task_id}", task_id, lambda: actions.accept_task(self.store, self.settings, task_id, say))

        if not self.settings.config.tui.confirm:
            answered(True)
            return
        preview = actions.landing_preview(self.store, self.settings, summary)
        self.push_screen(Confirm(f"Accept task {task_id}, {summary.title!r}? It lands", preview), answered)

    def action_train(self) -> None:
        """Every task in review lands as a merge train (cairn accept --all)."""

        def say(line: str) -> None:
            self._from_worker(self._say, f"train: {line}")

        self._run("landing the tasks in review as a train", None, lambda: actions.accept_train(self.store, self.settings, say))

    def action_reject(self) -> None:
        summary = self._selected_in("reject", ("review",))
        if summary is None:
            return
        task_id = summary.id

        def answered(reason: str | None) -> None:
            if reason is not None:
                self._run(f"rejecting task {task_id}", task_id, lambda: actions.reject_task(self.store, self.settings, task_id, reason.strip() or None))

        if not self.settings.config.tui.confirm:
            answered("")
            return
        preview = actions.landing_preview(self.store, self.settings, summary).split("\n", 1)[-1]
        self.push_screen(Ask(f"Reject task {task_id}, {summary.title!r}? Its work is kept until gc (`cairn restore`). "
                             "Why (optional; kept for the record and for a retry):", detail=preview), answered)

    def action_retry(self) -> None:
        from cairn.land.retry import RETRYABLE

        summary = self._selected_in("retry", RETRYABLE)
        if summary is None:
            return
        task_id = summary.id

        def answered(feedback: str | None) -> None:
            if feedback is not None:
                self._run(f"retrying task {task_id}", task_id, lambda: actions.retry_task(self.store, self.settings, task_id, feedback.strip() or None))

        self.push_screen(Ask(f"Retry task {task_id}: what should the agent do differently?", placeholder="feedback (optional)"), answered)

    def action_cancel_task(self) -> None:
        summary = self._selected_in("cancel", ("queued", "running"))
        if summary is None:
            return
        task_id = summary.id
        what = "its agent is stopped, its work kept" if summary.state == "running" else "it never starts"

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(f"cancelling task {task_id}", task_id, lambda: actions.cancel_task(task_id))

        self.push_screen(Confirm(f"Cancel task {task_id} ({summary.state})? {what.capitalize()}."), answered)

    def action_new_task(self) -> None:
        def answered(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                prompt, agent = answer
                self._run("queueing a task", None, lambda: actions.queue_task(prompt, agent))

        self.push_screen(NewTask(self.settings.config.default_agent), answered)

    def action_attach(self) -> None:
        summary = self._selected_in("attach to", ("running",))
        if summary is None:
            return
        from cairn.agents import tmux

        session = summary.tmux_session
        if not session or not tmux.available() or not tmux.has_session(session):
            self._say(f"task {summary.id} runs headless (no tmux session): l shows its log", error=True)
            return
        argv = tmux.attach_argv(session)
        if os.environ.get("TMUX"):
            # Inside tmux this client switches session and we keep running.
            subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True)
            self._say(f"switched to task {summary.id}'s session; C-b L comes back")
            return
        try:
            with self.suspend():
                subprocess.run(argv)
        except Exception as error:  # e.g. no terminal to hand over
            self._say(f"cannot attach here: {error}; run `cairn attach {summary.id}`", error=True)
        self.refresh()

    # -- running actions -----------------------------------------------------

    def _run(self, doing: str, task_id: int | None, work: Callable[[], str]) -> None:
        if task_id is not None and task_id in self._busy:
            self._say(f"task {task_id} is busy already", error=True)
            return
        if task_id is not None:
            self._busy.add(task_id)
        self._say(f"{doing}…")

        def job() -> None:
            try:
                text, error = work(), False
            except CairnError as failure:
                text, error = str(failure) + (f" ({failure.hint})" if failure.hint else ""), True
            except Exception as failure:  # a bug: one line, the dashboard goes on
                text, error = f"internal error: {type(failure).__name__}: {failure}", True
            self._from_worker(self._finished, task_id, text, error)

        self.run_worker(job, thread=True, group="actions", exit_on_error=False)

    def _finished(self, task_id: int | None, text: str, error: bool) -> None:
        self._busy.discard(task_id)
        if not self.query(TaskTable):
            return  # the dashboard closed while the action ran; the action itself is done
        self.refresh_tasks()  # first, so the bell's line does not hide the action's own
        self._say(text, error=error)

    def _from_worker(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:
            pass  # the app has closed meanwhile

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message = f"error: {text}" if error else text
        self.query_one("#message", Static).update(Text(self.message, style="bold red" if error else ""))
