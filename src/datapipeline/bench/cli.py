"""``python -m datapipeline.bench`` (``task bench``): one run, one topic, every figure.

Phases: produce the bulk records -> raw consume ceiling (Kafka's ConsumerPerformance) ->
bronze-only availableNow (untimed warm-up runs, the first reported as "cold", then the timed
steady-state run) -> full job availableNow -> Spark's Kafka source alone -> parse_events alone ->
continuous mode at a fixed produce rate (freshness) -> silver MERGE on a realistic batch ->
driver peak memory -> OPTIMIZE file counts.
Writes ``.local/bench/result-<ts>.json``, ``latest.json`` and ``result-<ts>.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from datapipeline import kafka_admin, paths, versions
from datapipeline.bench import stats

RESULTS_DIR = paths.LOCAL_DIR / "bench"


class Progress:
    """One line per phase with the elapsed time since the benchmark started."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.phases: dict[str, float] = {}

    def line(self, text: str) -> None:
        print(f"[{time.monotonic() - self.start:7.1f}s] {text}", flush=True)

    @contextmanager
    def phase(self, name: str):
        self.line(f"{name} ...")
        t = time.monotonic()
        yield
        self.phases[name] = time.monotonic() - t
        self.line(f"{name}: done in {self.phases[name]:.1f}s")


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0")
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
    p.add_argument("--skip", action="append", default=[], choices=["parse", "continuous", "merge", "optimize"])
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


def host_info() -> dict:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "loadavg_start": os.getloadavg()[0],
    }


def run(args: argparse.Namespace) -> dict:
    from datapipeline.bench import platform as bench_platform

    size = stats.sizing(args.scale, args.records, args.rate, args.duration, args.merge_share)
    extra_conf = parse_conf(args.conf)
    prog = Progress()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    pinned = versions.load()
    result: dict = {
        "schema": 1,
        "run_id": run_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": host_info(),
        "versions": {k: pinned.get(k) for k in ("SPARK_VERSION", "DELTA_VERSION", "KAFKA_VERSION")},
        "sizing": size.as_dict(),
        "config": {
            "trigger_interval": args.trigger_interval,
            "max_offsets_per_trigger": args.max_offsets_per_trigger,
            "extra_conf": extra_conf,
            "master": args.master or "local[*]",
            "platform": "running" if args.use_running else "private",
        },
    }
    prog.line(f"bench {run_id}: {size.records:,} bulk records, {size.rate:,.0f} ev/s for {size.duration_s:g}s")
    echo = lambda line: prog.line(f"  {line}")  # noqa: E731
    ctx = (
        bench_platform.running_platform(echo)
        if args.use_running
        else bench_platform.private_platform(echo, keep=args.keep_platform)
    )
    with prog.phase("platform"):
        plat = ctx.__enter__()
    try:
        _measure(args, plat, size, extra_conf, run_id, result, prog)
    finally:
        with prog.phase("platform stop"):
            ctx.__exit__(*sys.exc_info())
    result["host"]["loadavg_end"] = os.getloadavg()[0]
    result["phases"] = prog.phases
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["targets"] = stats.targets(result)
    return result


def _measure(args, plat, size: stats.Sizing, extra_conf: dict, run_id: str, result: dict, prog: Progress) -> None:
    from datapipeline.bench import kafka_perf, memory
    from datapipeline.bench import platform as bench_platform
    from datapipeline.ingest.config import IngestConfig
    from datapipeline.lake.layout import Lake
    from datapipeline.lake.s3 import S3Settings
    from datapipeline.spark.session import build_session

    topic = f"bench.{run_id}"
    bootstrap = plat.kafka_bootstrap
    s3 = S3Settings(endpoint=plat.s3_endpoint, access_key=plat.s3_access_key, secret_key=plat.s3_secret_key)
    root = f"s3a://{plat.lake_bucket}/bench/{run_id}"
    latencies: dict[str, list[float]] = {}

    with prog.phase(f"produce {size.records:,} records (as fast as possible)"):
        bench_platform.create_topic(bootstrap, topic, 3)
        bulk = bench_platform.produce_generated(bootstrap, topic, size.records, seed=1, rate=None)
        result.setdefault("produce", {})["bulk"] = bulk
        bulk_end = kafka_admin.end_offsets(bootstrap, topic)
    prog.line(
        f"  produced {bulk['records']:,} records, {bulk['bytes'] / stats.MIB:.1f} MB, "
        f"{bulk['achieved_rate']:,.0f} rec/s"
    )

    with prog.phase("raw consume ceiling (kafka-tools ConsumerPerformance)"):
        # A read of this size takes about a second in a fresh JVM, so one run swings 2x with the
        # machine's load: the ceiling is the median of RAW_RUNS runs (all kept in the result).
        runs = [
            kafka_perf.run(paths.KAFKA_JARS_DIR, bootstrap, topic, size.records, f"bench-perf-{run_id}-{i}", args.out)
            for i in range(RAW_RUNS)
        ]
        result["raw_consume_runs"] = runs
        result["raw_consume"] = raw = stats.median_run(runs, "fetch_msgs_per_s")
    spread = ", ".join(f"{r['fetch_msgs_per_s']:,.0f}" for r in runs)
    rate = f"{raw['fetch_msgs_per_s']:,.0f} msg/s, {raw['fetch_mb_per_s']:.1f} MB/s"
    prog.line(f"  raw consume: {rate} (fetch; median of {spread})")

    with prog.phase("Spark session"):
        spark = build_session("datapipeline-bench", s3=s3, master=args.master, extra_conf=extra_conf)
    from datapipeline.bench import phases

    try:
        base = IngestConfig(
            kafka_bootstrap=bootstrap,
            topic=topic,
            lake=Lake(f"{root}/bronze-only"),
            checkpoint=f"{root}/bronze-only/_checkpoints/ingest",
            s3=s3,
            max_offsets_per_trigger=args.max_offsets_per_trigger,
            app_id=f"bench:{run_id}",
        )
        # The first queries of a JVM load classes and run interpreted until the JIT has compiled
        # the hot paths: the first is reported as "cold", then the timed run is the steady state.
        for i in range(args.warmup_runs):
            warm = replace(base, lake=Lake(f"{root}/warmup{i}"), checkpoint=f"{root}/warmup{i}/_checkpoints/ingest")
            with prog.phase(f"bronze-only warm-up {i + 1}/{args.warmup_runs}, availableNow (untimed)"):
                c = phases.available_now(spark, warm, bulk["bytes"], bulk["records"], bronze_only=True)
                result.setdefault("bronze_only_warmups", []).append(c)
            prog.line(f"  bronze-only warm-up {i + 1}: {c['rows_per_s']:,.0f} rows/s, {c['mb_per_s']:.1f} MB/s")
        if args.warmup_runs > 0:
            result["bronze_only_cold"] = result["bronze_only_warmups"][0]
        with prog.phase("bronze-only ingest, availableNow"):
            b = phases.available_now(spark, base, bulk["bytes"], bulk["records"], bronze_only=True)
            result["bronze_only"] = b
        prog.line(f"  bronze-only: {b['rows_per_s']:,.0f} rows/s, {b['mb_per_s']:.1f} MB/s in {b['batches']} batch(es)")

        lake = Lake(f"{root}/full")
        full_cfg = replace(base, lake=lake, checkpoint=lake.checkpoint())
        with prog.phase("full job, availableNow"):
            f = phases.available_now(spark, full_cfg, bulk["bytes"], bulk["records"], bronze_only=False)
            result["full_job"] = f
        prog.line(f"  full job: {f['rows_per_s']:,.0f} rows/s, {f['mb_per_s']:.1f} MB/s in {f['batches']} batch(es)")
        # Conservative: ingest wall time (query start-up included) against Kafka's fetch rate
        # (consumer group join left out); like-for-like: time inside micro-batches vs fetch time.
        result["ratios"] = {
            "bronze_only_vs_raw": stats.ratio(b["rows_per_s"], raw["fetch_msgs_per_s"]),
            "bronze_only_in_batches_vs_raw": stats.ratio(b["batch_rows_per_s"], raw["fetch_msgs_per_s"]),
            "full_job_vs_raw": stats.ratio(f["rows_per_s"], raw["fetch_msgs_per_s"]),
        }
        if "bronze_only_cold" in result:
            cold = result["bronze_only_cold"]["rows_per_s"]
            result["ratios"]["bronze_only_cold_vs_raw"] = stats.ratio(cold, raw["fetch_msgs_per_s"])

        records = phases.kafka_batch(spark, bootstrap, topic, bulk_end)
        with prog.phase("Spark's Kafka source alone (noop sink)"):
            result["source_only"] = so = phases.source_only(records, bulk["bytes"])
        prog.line(f"  Kafka source alone: {so['rows_per_s']:,.0f} rows/s (first run {so['first_run_seconds']:.1f}s)")
        result["ratios"]["source_only_vs_raw"] = stats.ratio(so["rows_per_s"], raw["fetch_msgs_per_s"])
        if "parse" not in args.skip:
            with prog.phase("parse_events alone (records cached, noop sink)"):
                result["parse_only"] = p = phases.parse_only(records, bulk["bytes"])
            prog.line(f"  parse only: {p['rows_per_s']:,.0f} rows/s (first run {p['first_run_seconds']:.1f}s)")
        if "continuous" not in args.skip:
            # The whole job on a lake of its own: a new refine checkpoint reads all of bronze, and
            # bronze here already holds the bulk records (ingest/job.py, read_bronze).
            for mode in CONTINUOUS_MODES:
                clake = Lake(f"{root}/continuous-{mode}")
                cfg = base if mode == "bronze" else replace(base, lake=clake, checkpoint=clake.checkpoint())
                _continuous(mode, spark, phases, bench_platform, cfg, size, args, result, latencies, prog)
        if "merge" not in args.skip:
            with prog.phase("silver MERGE on a realistic batch"):
                mlake = Lake(f"{root}/merge")
                tables = {"silver_events": mlake.table("silver_events"), "silver_orders": mlake.table("silver_orders")}
                result["merge"] = phases.merge_bench(
                    spark, bootstrap, topic, stats.first_offsets(bulk_end, args.merge_records), tables, size.merge_share
                )
            for name, m in result["merge"].items():
                prog.line(
                    f"  MERGE {name}: {m['source_rows']:,} rows into {m['target_rows_before']:,} "
                    f"at {m['rows_per_s']:,.0f} rows/s"
                )
        if "optimize" not in args.skip:
            with prog.phase("OPTIMIZE (file counts before/after)"):
                tables = {f"bronze_only.{k}": v for k, v in base.tables.items() if k == "bronze"}
                tables.update(full_cfg.tables)
                result["files"] = phases.optimize_all(spark, tables)
        result["driver_memory"] = memory.driver_peaks(spark)
    finally:
        spark.stop()
    result["_latencies"] = latencies


CONTINUOUS_MODES = ("bronze", "full", "split")
RAW_RUNS = 3


def _continuous(mode, spark, phases, bench_platform, cfg, size, args, result, latencies, prog) -> None:
    """Continuous mode (processingTime) while producing at a fixed rate; freshness from the logs.
    ``bronze``: the job's bronze query alone; ``full``: the whole job (bronze and refine) in this
    driver; ``split``: bronze in this driver, refine in a driver of its own at a low CPU priority
    (``phases.start_refine_driver``)."""
    # A checkpoint of its own starting at the topic's end (and a new Delta txnAppId with it): no
    # backlog from earlier phases.
    cfg = replace(
        cfg,
        trigger="processingTime",
        processing_time=args.trigger_interval,
        checkpoint=f"{cfg.checkpoint}-continuous",
        starting_offsets="latest",
        app_id=f"{cfg.app_id}:continuous",
    )
    since_ms = int(time.time() * 1000)
    seed = 2 + CONTINUOUS_MODES.index(mode)
    refine_driver = None
    with prog.phase(
        f"continuous {mode}: {size.rate:,.0f} ev/s for {size.duration_s:g}s, trigger {args.trigger_interval}"
    ):
        running, bronze_query = phases.start_continuous(spark, cfg, bronze_only=mode != "full")
        try:
            if mode == "split":
                log_path = args.out / f"refine-driver-{result['run_id']}.log"
                args.out.mkdir(parents=True, exist_ok=True)
                refine_driver = phases.start_refine_driver(cfg, args.master, log_path)
                prog.line(f"  refine driver started (nice {phases.REFINE_NICE}), log {log_path}")
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                fut = pool.submit(
                    bench_platform.produce_generated,
                    cfg.kafka_bootstrap,
                    cfg.topic,
                    size.continuous_records,
                    seed,
                    size.rate,
                )
                produced = fut.result()
            prog.line(f"  produced {produced['records']:,} at {produced['achieved_rate']:,.0f} ev/s")
            target = sum(kafka_admin.end_offsets(cfg.kafka_bootstrap, cfg.topic).values())
            produced["drain_seconds"] = phases.drain(bronze_query, target, timeout_s=max(60.0, size.duration_s * 2))
            produced["micro_batches"] = phases.batch_stats(bronze_query)
            if mode == "full":
                # Then refine over all of bronze (bounded: production has stopped).
                start = time.monotonic()
                running.refine.processAllAvailable()
                produced["refine_drain_seconds"] = time.monotonic() - start
                produced["refine_micro_batches"] = phases.batch_stats(running.refine)
            elif mode == "split":
                produced["refine_drain_seconds"] = phases.await_refined(
                    spark, cfg, timeout_s=max(300.0, size.duration_s * 4)
                )
        finally:
            running.stop()
            if refine_driver is not None:
                phases.stop_driver(refine_driver)
    result.setdefault("produce", {})[f"continuous_{mode}"] = produced
    if mode == "full" or "continuous" not in result["produce"]:
        result["produce"]["continuous"] = produced
    expected = {"bronze": produced["records"], "silver_events": produced["valid_events"]}
    with prog.phase(f"freshness {mode} from the Delta logs"):
        for table in ("bronze",) if mode == "bronze" else ("bronze", "silver_events"):
            values, unmatched = phases_latencies(spark, cfg, table, since_ms)
            key = f"{mode}.{table}"
            latencies[key] = values
            missing = max(0, expected[table] - len(values))
            summary = {**stats.summarize(values, missing), "rows_without_commit": unmatched}
            result.setdefault("freshness", {})[key] = summary
            prog.line(
                f"  freshness {key}: p50 {summary['p50']} p95 {summary['p95']} p99 {summary['p99']} s "
                f"({summary['n']:,} rows visible, {missing:,} not visible when the phase ended)"
            )


def phases_latencies(spark, cfg, table: str, since_ms: int):
    from datapipeline.bench import freshness

    return freshness.latencies(spark, cfg.tables["bronze"], cfg.tables[table], since_ms)


def save(result: dict, out: Path) -> tuple[Path, Path]:
    from datapipeline.bench import chart

    latencies = result.pop("_latencies", {})
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"result-{result['run_id']}.png"
    result["chart"] = str(png)
    chart.render(result, latencies, png)
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
        result = run(args)
    except RecursionError:
        raise
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    path, png = save(result, args.out)
    print()
    print(stats.markdown(result))
    print()
    r = result.get("ratios", {}).get("bronze_only_vs_raw")
    print(f"ratio bronze ingest / raw consume: {r:.2f}" if r else "ratio bronze ingest / raw consume: n/a")
    for name, t in result["targets"].items():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        print(f"target {name} {t['target']}: {verdict} ({t['value']})")
    print(f"result: {path}\nchart:  {png}")
    return 0
