"""The benchmark harness runs, on a tiny configuration, so it cannot rot.

Figures from this run mean nothing (a few samples, a busy machine); what is
checked is that every row group runs, measures or says why it could not,
and that the table and the JSON are written.  Rows whose baseline tool is
missing (task-spooler) say so instead of failing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

GROUPS = ("startup", "latency", "sandbox", "workspaces", "accept", "conflicts", "throughput", "crew", "gc", "resident", "executors")


def test_the_bench_runs_on_a_tiny_configuration(env, tmp_path: Path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    out = tmp_path / "results"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=REPO, env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "latest.json").read_text())
    assert report["scale"] == "quick" and report["errors"] == []
    assert {"nproc", "cpu", "python"} <= report["machine"].keys()
    rows = {row["key"]: row for row in report["rows"]}
    expected = {"queue-vs-python", "status-vs-python", "latency-pool", "latency", "sandbox-start", "workspace", "workspace-pool",
                "accept-ff", "accept-rebase", "reject", "diff-first-byte", "throughput", "crew-wall", "crew-scheduler-cpu",
                "crew-status", "runner-rss", "gc", "scheduler-rss", "scheduler-idle-cpu"}
    assert expected <= rows.keys()
    for row in rows.values():
        # Measured, or a plain reason why not (a missing tool, a command that does not exist yet).
        assert row["cairn"] is not None or row["missing"], row
        if row["cairn"] is not None:
            assert row["cairn"]["n"] >= 1 and row["cairn"]["median"] >= 0
        if row["cairn"] is not None and row["baseline"].get("median", 0) > 0:
            # A ratio for every row measured against a baseline: finite, and
            # positive unless Cairn's own figure is zero (idle CPU).
            ratio = row["ratio"]
            assert ratio is not None and math.isfinite(ratio), row
            assert ratio > 0 or row["cairn"]["median"] == 0, row
    if shutil.which("tsp") is None:
        assert "tsp is not installed" in rows["latency"]["missing"]
    table = (out / "latest.md").read_text()
    assert "| What is measured | Cairn median | Cairn p95 | Baseline | Baseline median | Baseline p95 | Ratio | Goal | Met |" in table
    assert all(f"bench: {group} done" in done.stderr for group in GROUPS)
    assert list(scratch.iterdir()) == []  # the bench's temporary directory is gone
