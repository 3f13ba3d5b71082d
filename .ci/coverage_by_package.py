"""Coverage per package of cairn/, from coverage.py's JSON report (``make coverage``).

    python .ci/coverage_by_package.py coverage.json [--fail-under 85] [--package-under 70]

Prints one line per package (cairn/core, cairn/state, …) and the total, and
exits 1 when the total or any package is under its bar.  Statements are
summed per package, so a package's figure is its share of lines run, not an
average of its files' percentages.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--fail-under", type=float, default=85.0)
    parser.add_argument("--package-under", type=float, default=70.0)
    args = parser.parse_args()
    files = json.load(open(args.report))["files"]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, data in files.items():
        parts = name.split("/")
        package = "/".join(parts[:2]) if len(parts) > 2 else parts[0]
        summary = data["summary"]
        totals[package][0] += summary["covered_lines"]
        totals[package][1] += summary["num_statements"]
    covered = sum(c for c, _ in totals.values())
    statements = sum(s for _, s in totals.values())
    low = []
    for package, (hit, count) in sorted(totals.items()):
        share = 100.0 * hit / count if count else 100.0
        print(f"{package:24} {share:5.1f}%  ({hit}/{count} statements)")
        if share < args.package_under:
            low.append(package)
    total = 100.0 * covered / statements if statements else 100.0
    print(f"{'total':24} {total:5.1f}%  ({covered}/{statements} statements)")
    if low:
        print(f"under {args.package_under:g}%: {', '.join(low)}", file=sys.stderr)
    if total < args.fail_under:
        print(f"total under {args.fail_under:g}%", file=sys.stderr)
    return 1 if low or total < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
