"""``python -m bench [--quick] [--only GROUP,...] [--out DIR] [--install auto|venv|current] [--keep]``.

Runs the row groups in order, each in the same world (bench/world.py), and
writes the table.  A group that fails is reported and the others still run;
the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import accept, conflicts, crew, executors, latency, resident, sandbox, startup, throughput, workspaces
from bench.gc_row import rows as gc_rows
from bench.harness import BenchError, Report, Row
from bench.world import CHECKOUT, FULL, QUICK, World, load_average, machine

GROUPS: list[tuple[str, Callable[[World], list[Row]]]] = [
    ("startup", startup.rows),
    ("latency", latency.rows),
    ("sandbox", sandbox.rows),
    ("workspaces", workspaces.rows),
    ("accept", accept.rows),
    ("conflicts", conflicts.rows),
    ("throughput", throughput.rows),
    ("crew", crew.rows),
    ("gc", gc_rows),
    ("resident", resident.rows),
    ("executors", executors.rows),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Measure Cairn against raw git and task-spooler.")
    parser.add_argument("--quick", action="store_true", help="a tiny configuration, seconds not minutes (for the tests)")
    parser.add_argument("--only", help=f"comma-separated groups: {', '.join(name for name, _ in GROUPS)}")
    parser.add_argument("--out", type=Path, help="where latest.md and latest.json go (default bench/results, or bench/results/quick)")
    parser.add_argument("--install", choices=("auto", "venv", "current"), default="auto",
                        help="venv: pip install this checkout into a temporary venv (the full run's default); "
                             "current: the Cairn of the interpreter running the bench (--quick's default)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory, to look inside")
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {name for name, _ in GROUPS}
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    install = args.install if args.install != "auto" else ("current" if args.quick else "venv")
    out = args.out or CHECKOUT / "bench" / "results" / ("quick" if args.quick else "")

    began = time.monotonic()
    directory = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    load = load_average()
    _say(f"{scale.name} run in {directory}; installing Cairn ({install})")
    try:
        world = World(scale, directory, install)
    except BenchError as error:
        _say(f"cannot start: {error}")
        return 1
    report = Report(scale.name, machine(load), world.install)
    try:
        for name, group in GROUPS:
            if only is not None and name not in only:
                continue
            _say(f"{name} ...")
            started = time.monotonic()
            try:
                report.rows += group(world)
            except Exception as error:  # one group failing must not lose the others' figures
                report.errors.append(f"{name}: {type(error).__name__}: {error}")
                traceback.print_exc()
            _say(f"{name} done in {time.monotonic() - started:.0f} s")
    finally:
        world.close(args.keep)
    report.machine["load_after"] = load_average()
    report.seconds = time.monotonic() - began
    report.write(out)
    print(report.markdown())
    _say(f"wrote {out / 'latest.md'} and latest.json in {report.seconds:.0f} s" + (f"; kept {directory}" if args.keep else ""))
    return 1 if report.errors else 0


def _say(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
