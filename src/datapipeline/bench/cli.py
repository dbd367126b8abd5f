"""``python -m datapipeline.bench`` (``task bench``): one run, one topic, every figure.

Phases (:class:`datapipeline.bench.runner.Bench`): produce the bulk records -> raw consume
ceiling (Kafka's ConsumerPerformance) -> bronze-only availableNow (untimed warm-up runs, the first
reported as "cold", then the timed steady-state run) -> full job availableNow -> refine alone,
availableNow, warm -> Spark's Kafka source alone -> parse_events alone -> continuous mode at a
fixed produce rate (freshness) -> silver MERGE on a realistic batch -> OPTIMIZE file counts ->
driver peak memory. Writes ``.local/bench/result-<ts>.json`` (with its flat ``summary`` and
``targets``), ``latest.json`` and ``result-<ts>.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from datapipeline import paths
from datapipeline.bench import runner, stats
from datapipeline.bench.runner import BenchResult

RESULTS_DIR = paths.LOCAL_DIR / "bench"


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value:g} must be >= 0")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark on the local platform: raw Kafka consume ceiling, bronze ingest and full-job "
        "throughput (availableNow), continuous-mode freshness at a fixed produce rate, silver MERGE speed, "
        "driver peak memory, Delta file counts before/after OPTIMIZE. Default size: a few minutes.",
    )
    p.add_argument("--scale", type=float, default=1.0, help="multiply the default sizes (records, duration)")
    p.add_argument("--records", type=int, default=None, help=f"bulk records (default {stats.DEFAULT_RECORDS:,})")
    p.add_argument(
        "--rate", type=float, default=None, help=f"continuous produce rate, ev/s (default {stats.DEFAULT_RATE:,.0f})"
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help=f"continuous produce duration, s (default {stats.DEFAULT_DURATION_S:g})",
    )
    p.add_argument(
        "--merge-records",
        type=int,
        default=50_000,
        help="bulk records the MERGE phase parses (seed + timed batch; default 50,000)",
    )
    p.add_argument("--merge-share", type=float, default=0.2, help="share of valid events in the timed MERGE batch")
    p.add_argument("--trigger-interval", default="1 second", help="processingTime of the continuous phase")
    p.add_argument("--max-offsets-per-trigger", type=int, default=None, help="cap per micro-batch (default none)")
    p.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark conf (repeatable), for tuning"
    )
    p.add_argument("--master", default=None, help="Spark master (default local[*]), e.g. local[3]")
    p.add_argument(
        "--warmup-runs",
        type=non_negative_int,
        default=2,
        help="untimed bronze-only runs before the timed one (default 2; 0: the timed run is the JVM's first query)",
    )
    p.add_argument("--use-running", action="store_true", help="use the running `task local:up` platform")
    p.add_argument("--keep-platform", action="store_true", help="keep the private platform's folder")
    p.add_argument("--skip", action="append", default=[], choices=runner.SKIPPABLE)
    p.add_argument(
        "--soak",
        type=non_negative_float,
        default=0.0,
        metavar="MINUTES",
        help="end with a soak: the pipeline as deployed at --rate for MINUTES, sampling driver RSS, refine lag "
        "and file counts (e.g. --soak 30; default none)",
    )
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help=f"results folder (default {RESULTS_DIR})")
    p.add_argument(
        "--markdown",
        nargs="?",
        const=RESULTS_DIR / "latest.json",
        type=Path,
        metavar="RESULT_JSON",
        help="only print the README table of a result (default latest.json) and exit",
    )
    return p


def parse_conf(items: Sequence[str]) -> dict[str, str]:
    conf = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--conf {item!r}: use KEY=VALUE, e.g. spark.sql.shuffle.partitions=2")
        conf[key.strip()] = value.strip()
    return conf


def save(run: BenchResult, out: Path) -> tuple[Path, Path]:
    """The result JSON (``result-<run id>.json`` and ``latest.json``) and its chart."""
    from datapipeline.bench import chart

    result = run.to_json()
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"result-{result['run_id']}.png"
    result["chart"] = str(png)
    chart.render(result, run.latencies, png)
    path = out / f"result-{result['run_id']}.json"
    text = json.dumps(result, indent=2, default=str)
    path.write_text(text)
    (out / "latest.json").write_text(text)
    (out / "latest.png").write_bytes(png.read_bytes())
    return path, png


def _exit_on_sigterm(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.markdown is not None:
        if not args.markdown.is_file():
            print(f"bench: error: {args.markdown} not found: run `task bench` first", file=sys.stderr)
            return 2
        print(stats.markdown(json.loads(args.markdown.read_text())))
        return 0
    # A plain `kill` (SIGTERM) unwinds like Ctrl-C: the private platform is stopped, not orphaned.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=logging.WARNING)
    # kafka-python logs every refused connection while the broker starts: the probe retries anyway.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        opts = runner.Options.from_args(args, parse_conf(args.conf))
        path, png = save(runner.run(opts), args.out)
    except RecursionError:
        raise
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    result = json.loads(path.read_text())
    print()
    print(stats.markdown(result))
    print()
    r = result.get("ratios", {}).get("bronze_only_vs_raw")
    print(f"ratio bronze ingest / raw consume: {r:.2f}" if r else "ratio bronze ingest / raw consume: n/a")
    for name, t in result["targets"].items():
        print("target " + stats.target_line(name, t))
    print("summary: " + json.dumps(result["summary"]))
    print(f"result: {path}\nchart:  {png}")
    stopped = (result.get("soak") or {}).get("stopped")
    if stopped:
        print(f"bench: error: the soak ended early: {stopped}", file=sys.stderr)
        return 1
    return 0
