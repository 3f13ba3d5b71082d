"""Timing, figures and the result table: what every row of the bench shares.

Every figure is a ratio taken in one run against a baseline doing the same
work, because the machines are shared and noisy.  Commands that are compared
are timed interleaved (A B A B ..., the order rotating each round) so that a
burst of load elsewhere hits both sides alike; a command is started with
``posix_spawn`` and waited for with ``waitpid``, stdio on /dev/null, so the
harness adds the same small cost to both sides.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class BenchError(RuntimeError):
    """A step of the bench itself failed (a command exited non-zero, a wait timed out)."""


# -- figures -----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Figures:
    """Samples of one side of a row, in the row's unit."""

    samples: list[float]

    @property
    def median(self) -> float:
        return percentile(self.samples, 0.5)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)

    def json(self) -> dict[str, Any]:
        return {"median": self.median, "p95": self.p95, "n": len(self.samples), "samples": self.samples}


@dataclass
class Row:
    key: str
    what: str
    baseline_name: str
    unit: str = "ms"  # ms, s, MB, %
    cairn: Figures | None = None
    baseline: Figures | None = None
    goal: str = ""
    #: How the goal is judged from the figures; None: no goal.
    judge: Callable[[Figures, Figures | None], bool] | None = None
    note: str = ""
    #: Why the row has no figures ("tsp is not installed"); empty when measured.
    missing: str = ""

    @property
    def ratio(self) -> float | None:
        if self.cairn is None or self.baseline is None or self.baseline.median <= 0:
            return None
        return self.cairn.median / self.baseline.median

    @property
    def met(self) -> bool | None:
        if self.judge is None or self.cairn is None:
            return None
        return self.judge(self.cairn, self.baseline)

    def json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "what": self.what,
            "unit": self.unit,
            "cairn": self.cairn.json() if self.cairn else None,
            "baseline": {"name": self.baseline_name, **(self.baseline.json() if self.baseline else {})},
            "ratio": self.ratio,
            "goal": self.goal or None,
            "met": self.met,
            "note": self.note or None,
            "missing": self.missing or None,
        }


# -- running and timing commands ---------------------------------------------------

_QUIET = [
    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
    (os.POSIX_SPAWN_DUP2, 1, 2),
]


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def resolve_argv(argv: list[str], env: dict[str, str]) -> list[str]:
    found = shutil.which(argv[0], path=env.get("PATH"))
    if found is None:
        raise BenchError(f"command not found: {argv[0]}")
    return [found, *argv[1:]]


def run(argv: list[str], env: dict[str, str], cwd: Path, *, check: bool = True, timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command for its output (setup, checks): not for timing."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, input=input)
    if check and done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]}")
    return done


def spawn_time(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` (a resolved path first) to its exit; it must exit 0."""
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=_QUIET)
    _, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise BenchError(f"{' '.join(argv)} exited {code} while being timed")
    return seconds


def interleave(commands: dict[str, list[str]], env: dict[str, str], cwd: Path, runs: int, warmup: int = 2) -> dict[str, list[float]]:
    """Time each command ``runs`` times, round by round in rotating order; milliseconds."""
    names = list(commands)
    resolved = {name: resolve_argv(argv, env) for name, argv in commands.items()}
    for name in names:  # the first run also proves the command works, with its message if not
        run(resolved[name], env, cwd)
    samples: dict[str, list[float]] = {name: [] for name in names}
    with working_directory(cwd):
        for _ in range(max(0, warmup - 1)):
            for name in names:
                spawn_time(resolved[name], env)
        for round_ in range(runs):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(spawn_time(resolved[name], env) * 1000)
    return samples


def wait_until(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(poll)


# -- the table ---------------------------------------------------------------------


def _number(value: float, unit: str) -> str:
    if unit == "ms":
        text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
    elif unit == "%":
        text = f"{value:.2f}"
    elif unit == "s" and value < 10:
        text = f"{value:.2f}"
    else:
        text = f"{value:.1f}"
    return f"{text} {unit}"


def markdown(rows: list[Row]) -> str:
    head = "| What is measured | Cairn median | Cairn p95 | Baseline | Baseline median | Baseline p95 | Ratio | Goal | Met |"
    lines = [head, "|---|--:|--:|---|--:|--:|--:|---|---|"]
    for row in rows:
        if row.cairn is None:
            lines.append(f"| {row.what} | — | — | {row.baseline_name} | — | — | — | {row.goal or '—'} | {row.missing or 'not measured'} |")
            continue
        base_median = _number(row.baseline.median, row.unit) if row.baseline else "—"
        base_p95 = _number(row.baseline.p95, row.unit) if row.baseline else "—"
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}×" if row.ratio >= 0.1 else f"{row.ratio:.2g}×"
        met = {True: "yes", False: "**no**", None: "—"}[row.met]
        baseline = row.baseline_name if row.baseline or not row.missing else f"{row.baseline_name} ({row.missing})"
        lines.append(
            f"| {row.what} | {_number(row.cairn.median, row.unit)} | {_number(row.cairn.p95, row.unit)} | "
            f"{baseline} | {base_median} | {base_p95} | {ratio} | {row.goal or '—'} | {met} |"
        )
    return "\n".join(lines) + "\n"


def notes(rows: list[Row]) -> str:
    return "".join(f"- **{row.what}**: {row.note}\n" for row in rows if row.note)


@dataclass
class Report:
    scale: str
    machine: dict[str, Any]
    install: str
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def markdown(self) -> str:
        m = self.machine
        parts = [
            f"# Cairn benchmarks ({self.scale})\n",
            f"Run {m['date']} on {m['nproc']} × {m['cpu']}, {m['memory']}, {m['os']}; "
            f"Python {m['python']}, git {m['git']}, task-spooler {m['tsp']}; load average {m['load_before']} before, "
            f"{m['load_after']} after; {self.seconds:.0f} s in all.\n",
            f"Cairn under test: {self.install}.\n",
            markdown(self.rows),
        ]
        if any(row.note for row in self.rows):
            parts.append("\nNotes:\n\n" + notes(self.rows))
        if self.errors:
            parts.append("\nErrors:\n\n" + "".join(f"- {e}\n" for e in self.errors))
        return "\n".join(parts)

    def json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "scale": self.scale,
            "machine": self.machine,
            "install": self.install,
            "seconds": self.seconds,
            "rows": [row.json() for row in self.rows],
            "errors": self.errors,
        }

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "latest.md").write_text(self.markdown())
        (directory / "latest.json").write_text(json.dumps(self.json(), indent=2) + "\n")
