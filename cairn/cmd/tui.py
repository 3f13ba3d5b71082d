"""``cairn tui [--interval SECONDS]``: a live dashboard of the crew, with keys to act.

Textual is imported only here, when the dashboard is asked for, so the
commands people type in loops never pay for it.
"""

from __future__ import annotations

from cairn.cmd._cli import Number, entrypoint, option, settings, store_for, verb


@verb("A full-screen dashboard: tasks updating live, the selected task's log or diff, "
     "and keys to accept (a), reject (x), retry (r), cancel (c), attach (t) and queue (n).")
@option("--interval", type=Number(float, min=0.1), default=1.0, show_default=True,
        help="Seconds between rescans when nothing signals a change.")
def command(interval: float) -> int:
    current = settings()
    store_for(current)  # a foreign or newer state directory is refused before the screen changes
    from cairn.tui.app import CairnApp

    CairnApp(current, interval=interval).run()
    return 0


main = entrypoint(command, "tui")
