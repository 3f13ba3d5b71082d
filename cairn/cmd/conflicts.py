"""``cairn conflicts [--json]``: which tasks collide, before anyone accepts."""

from __future__ import annotations

from cairn.cmd._cli import echo, entrypoint, json_option, print_json, settings, store_for, verb


@verb("For every pair of tasks in review: do their proposals overlap, do they really conflict "
      "(a three-way merge in memory); and what running tasks have touched that a proposal changes.")
@json_option
def command(as_json: bool) -> int:
    current = settings()
    store = store_for(current)
    from cairn.core.conflicts import describe
    from cairn.land.radar import radar

    report = radar(store, current, store.scan().summaries)
    if as_json:
        print_json(report.to_json())
        return 0
    proposals = [i for i in report.review if i not in report.skipped]
    for line in describe(proposals, report.pairs, report.touches):
        echo(line)
    for task_id, why in report.skipped.items():
        echo(f"task {task_id} not compared: {why}")
    return 0


main = entrypoint(command, "conflicts")
