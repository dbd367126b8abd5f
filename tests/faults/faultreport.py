"""The fault matrix report: one row per injected fault, written as JSON and printed as Markdown.

The fault tests call :func:`record`; the session fixture in ``tests/faults/conftest.py`` calls
:func:`write` at the end, which saves ``.local/reports/faults.json`` (``DP_FAULT_REPORT`` moves
it) and prints the table. ``python tests/faults/faultreport.py`` prints the table of the last run
again (Markdown rows); ``task docs -- --faults <report>`` keeps a report in ``docs/results/`` and
regenerates the measured table of ``docs/reliability.md`` from it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from datapipeline.paths import LOCAL_DIR

COLUMNS = ("fault", "how injected", "recovered by", "recovery (s)", "rows lost", "rows duplicated", "notes")


@dataclass(frozen=True)
class FaultResult:
    fault: str
    injected: str  # how the fault was injected
    recovered_by: str  # what brought the pipeline back
    recovery_s: float  # see `measured` for what the time spans
    measured: str
    lost: int
    duplicated: int
    notes: str = ""


_results: list[FaultResult] = []


def record(result: FaultResult) -> FaultResult:
    print(f"[fault] {result.fault}: recovered by {result.recovered_by} in {result.recovery_s:.1f}s", flush=True)
    _results.append(result)
    return result


def rows() -> list[dict]:
    """This session's results as JSON-ready dicts."""
    return [asdict(r) for r in _results]


def report_path() -> Path:
    return Path(os.environ.get("DP_FAULT_REPORT", LOCAL_DIR / "reports" / "faults.json"))


def write(path: Path | None = None) -> Path | None:
    """Save this session's results (nothing when no fault ran) and return the path."""
    if not _results:
        return None
    path = path or report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "results": rows(),
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def markdown(results: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        cells = (
            r["fault"],
            r["injected"],
            r["recovered_by"],
            f"{r['recovery_s']:.1f} ({r['measured']})",
            str(r["lost"]),
            str(r["duplicated"]),
            r["notes"],
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Print the fault matrix of the last `task faults` run as Markdown.")
    p.add_argument(
        "--report",
        type=Path,
        action="append",
        help=f"JSON report; repeat to print several runs as one table (default {report_path()})",
    )
    args = p.parse_args(argv)
    results = []
    for path in args.report or [report_path()]:
        if not path.is_file():
            print(f"faultreport: error: no fault report at {path}; run `task faults` first", file=sys.stderr)
            return 2
        body = json.loads(path.read_text())
        print(f"{path}: finished {body['finished_at']} on {body['cpus']} CPUs")
        results += body["results"]
    print()
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
