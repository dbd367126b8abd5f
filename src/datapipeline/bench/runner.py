"""One benchmark run: its options, its result, and its phases in order (:meth:`Bench.run_phases`).

Each phase is a method of :class:`Bench` that takes what it needs from the run (platform, Spark
session, the base ingest config) and writes its figures into the typed :class:`BenchResult`; the
Spark work itself is in :mod:`datapipeline.bench.phases`, the pure logic in :mod:`.stats`.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from datapipeline import kafka_admin, paths, versions
from datapipeline.bench import stats

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from datapipeline.ingest.config import IngestConfig
    from datapipeline.local.platform import LocalPlatform

ContinuousMode = Literal["bronze", "full", "split"]
CONTINUOUS_MODES: tuple[ContinuousMode, ...] = ("bronze", "full", "split")
RAW_RUNS = 3  # the raw ceiling is the median of this many ConsumerPerformance reads
SKIPPABLE = ("parse", "continuous", "merge", "optimize", "dq")
# data_quality: the history sizes its check is timed on, and the new records each time.
DQ_HISTORY = {"small": 1_000_000, "large": 5_000_000}
DQ_NEW_ROWS = 50_000


class Progress:
    """One line per phase with the elapsed time since the benchmark started."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.phases: dict[str, float] = {}

    def line(self, text: str) -> None:
        print(f"[{time.monotonic() - self.start:7.1f}s] {text}", flush=True)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.line(f"{name} ...")
        t = time.monotonic()
        yield
        self.phases[name] = time.monotonic() - t
        self.line(f"{name}: done in {self.phases[name]:.1f}s")


@dataclass(frozen=True)
class Options:
    """What the command line decides (``cli.parser``), typed."""

    size: stats.Sizing
    trigger_interval: str = "1 second"
    max_offsets_per_trigger: int | None = None
    extra_conf: dict[str, str] = field(default_factory=dict)
    master: str | None = None
    warmup_runs: int = 2
    merge_records: int = 50_000
    use_running: bool = False
    keep_platform: bool = False
    skip: frozenset[str] = frozenset()
    soak_minutes: float = 0.0  # 0: no soak
    out: Path = paths.LOCAL_DIR / "bench"

    @classmethod
    def from_args(cls, args: argparse.Namespace, extra_conf: dict[str, str]) -> Options:
        return cls(
            size=stats.sizing(args.scale, args.records, args.rate, args.duration, args.merge_share),
            trigger_interval=args.trigger_interval,
            max_offsets_per_trigger=args.max_offsets_per_trigger,
            extra_conf=extra_conf,
            master=args.master,
            warmup_runs=args.warmup_runs,
            merge_records=args.merge_records,
            use_running=args.use_running,
            keep_platform=args.keep_platform,
            skip=frozenset(args.skip),
            soak_minutes=args.soak,
            out=args.out,
        )


def host_info() -> dict:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "loadavg_start": os.getloadavg()[0],
    }


@dataclass
class BenchResult:
    """Everything a run measured. :meth:`to_json` is the result file's shape (``schema`` 2): these
    fields, plus ``summary`` (the flat headline figures, :func:`stats.summary`) and ``targets``."""

    run_id: str
    started_at: str
    host: dict
    versions: dict
    sizing: dict
    config: dict
    produce: dict = field(default_factory=dict)  # bulk, continuous_<mode>: records, rates
    raw_consume_runs: list[dict] = field(default_factory=list)
    raw_consume: dict = field(default_factory=dict)  # the median run
    bronze_only_warmups: list[dict] = field(default_factory=list)
    bronze_only_cold: dict | None = None
    bronze_only: dict = field(default_factory=dict)
    full_job: dict = field(default_factory=dict)
    refine_only: dict = field(default_factory=dict)
    source_only: dict = field(default_factory=dict)
    parse_only: dict = field(default_factory=dict)
    ratios: dict[str, float | None] = field(default_factory=dict)
    freshness: dict[str, dict] = field(default_factory=dict)  # "<mode>.<table>" -> percentiles
    merge: dict[str, dict] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)
    driver_memory: dict = field(default_factory=dict)
    data_quality: dict[str, dict] = field(default_factory=dict)  # "small"/"large" -> rows, seconds
    soak: dict | None = None
    phases: dict[str, float] = field(default_factory=dict)
    finished_at: str | None = None
    latencies: dict[str, list[float]] = field(default_factory=dict, repr=False)  # for the chart, not saved

    def to_json(self) -> dict:
        body = {"schema": 2, **asdict(self)}
        del body["latencies"]
        for optional in ("bronze_only_cold", "soak"):
            if body[optional] is None:
                del body[optional]
        body["summary"] = stats.summary(body)
        body["targets"] = stats.targets(body)
        return body


def new_result(opts: Options) -> BenchResult:
    pinned = versions.load()
    now = datetime.now(UTC)
    return BenchResult(
        run_id=now.strftime("%Y%m%dT%H%M%SZ"),
        started_at=now.isoformat(timespec="seconds"),
        host=host_info(),
        versions={k: pinned.get(k) for k in ("SPARK_VERSION", "DELTA_VERSION", "KAFKA_VERSION")},
        sizing=opts.size.as_dict(),
        config={
            "trigger_interval": opts.trigger_interval,
            "max_offsets_per_trigger": opts.max_offsets_per_trigger,
            "extra_conf": opts.extra_conf,
            "master": opts.master or "local[*]",
            "platform": "running" if opts.use_running else "private",
            "skip": sorted(opts.skip),  # a run that skipped phases is not the "latest figures" of the docs
        },
    )


@contextmanager
def platform(opts: Options, prog: Progress) -> Iterator[LocalPlatform]:
    """The private platform (or the running one), its start and stop each timed as a phase."""
    from contextlib import ExitStack

    from datapipeline.bench import platform as bench_platform

    def echo(line: str) -> None:
        prog.line(f"  {line}")

    ctx = (
        bench_platform.running_platform(echo)
        if opts.use_running
        else bench_platform.private_platform(echo, keep=opts.keep_platform)
    )
    # One try around start and use: a SIGTERM (SystemExit) landing right after the start phase's
    # last line, before the body runs, still goes through the timed stop.
    stack = ExitStack()
    try:
        with prog.phase("platform"):
            plat = stack.enter_context(ctx)
        yield plat
    finally:
        with prog.phase("platform stop"):
            stack.close()


@dataclass
class Bench:
    """One run's dependencies and result; the phases fill ``result`` in :meth:`run_phases` order."""

    opts: Options
    plat: LocalPlatform
    prog: Progress
    result: BenchResult
    spark: SparkSession | None = None
    base: IngestConfig | None = None  # the bronze-only lake; other phases derive their lake from it
    bulk_end: dict[int, int] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return f"bench.{self.result.run_id}"

    @property
    def root(self) -> str:
        return f"s3a://{self.plat.lake_bucket}/bench/{self.result.run_id}"

    def lake_config(self, name: str) -> IngestConfig:
        """The base config on a lake (and checkpoints) of its own below the run's root."""
        from datapipeline.lake.layout import Lake

        lake = Lake(f"{self.root}/{name}")
        return replace(self.base, lake=lake, checkpoint=lake.checkpoint())

    def run_phases(self) -> None:
        self.produce_bulk()
        self.raw_ceiling()
        with self.spark_session():
            self.bronze_only()
            self.full_job()
            self.refine_alone()
            self.source_and_parse()
            if "continuous" not in self.opts.skip:
                for mode in CONTINUOUS_MODES:
                    self.continuous(mode)
            if "merge" not in self.opts.skip:
                self.merge()
            if "optimize" not in self.opts.skip:
                self.optimize()
            if "dq" not in self.opts.skip:
                self.data_quality()
            self.driver_memory()
            if self.opts.soak_minutes > 0:  # last: it runs long and grows the drivers' heaps
                self.soak()

    # --- before Spark ---------------------------------------------------------------------------
    def produce_bulk(self) -> None:
        from datapipeline.bench import platform as bench_platform

        size, bootstrap = self.opts.size, self.plat.kafka_bootstrap
        with self.prog.phase(f"produce {size.records:,} records (as fast as possible)"):
            bench_platform.create_topic(bootstrap, self.topic, 3)
            bulk = bench_platform.produce_generated(bootstrap, self.topic, size.records, seed=1, rate=None)
            self.result.produce["bulk"] = bulk
            self.bulk_end = kafka_admin.end_offsets(bootstrap, self.topic)
        self.prog.line(
            f"  produced {bulk['records']:,} records, {bulk['bytes'] / stats.MIB:.1f} MB, "
            f"{bulk['achieved_rate']:,.0f} rec/s"
        )

    def raw_ceiling(self) -> None:
        from datapipeline.bench import kafka_perf

        run_id = self.result.run_id
        with self.prog.phase("raw consume ceiling (kafka-tools ConsumerPerformance)"):
            # A read of this size takes about a second in a fresh JVM, so one run swings 2x with the
            # machine's load: the ceiling is the median of RAW_RUNS runs (all kept in the result).
            runs = [
                kafka_perf.run(
                    paths.KAFKA_JARS_DIR,
                    self.plat.kafka_bootstrap,
                    self.topic,
                    self.opts.size.records,
                    f"bench-perf-{run_id}-{i}",
                    self.opts.out,
                )
                for i in range(RAW_RUNS)
            ]
            self.result.raw_consume_runs = runs
            self.result.raw_consume = raw = stats.median_run(runs, "fetch_msgs_per_s")
        spread = ", ".join(f"{r['fetch_msgs_per_s']:,.0f}" for r in runs)
        self.prog.line(
            f"  raw consume: {raw['fetch_msgs_per_s']:,.0f} msg/s, {raw['fetch_mb_per_s']:.1f} MB/s "
            f"(fetch; median of {spread})"
        )

    @contextmanager
    def spark_session(self) -> Iterator[None]:
        """The bench's Spark driver and the base ingest config, for the phases inside."""
        from datapipeline.ingest.config import IngestConfig
        from datapipeline.lake.layout import Lake
        from datapipeline.lake.s3 import S3Settings
        from datapipeline.spark.session import build_session

        plat = self.plat
        s3 = S3Settings(endpoint=plat.s3_endpoint, access_key=plat.s3_access_key, secret_key=plat.s3_secret_key)
        with self.prog.phase("Spark session"):
            # Its phases push the stream past its trigger on purpose: one "falling behind" WARN
            # per batch would bury the progress lines.
            self.spark = build_session(
                "datapipeline-bench", s3=s3, master=self.opts.master, extra_conf=self.opts.extra_conf, log_level="ERROR"
            )
        lake = Lake(f"{self.root}/bronze-only")
        self.base = IngestConfig(
            kafka_bootstrap=plat.kafka_bootstrap,
            topic=self.topic,
            lake=lake,
            checkpoint=lake.checkpoint(),
            s3=s3,
            max_offsets_per_trigger=self.opts.max_offsets_per_trigger,
            app_id=f"bench:{self.result.run_id}",
        )
        try:
            yield
        finally:
            self.spark.stop()

    # --- availableNow throughput ----------------------------------------------------------------
    def _available_now(self, label: str, cfg: IngestConfig, bronze_only: bool) -> dict:
        from datapipeline.bench import phases

        bulk = self.result.produce["bulk"]
        with self.prog.phase(label):
            figures = phases.available_now(self.spark, cfg, bulk["bytes"], bulk["records"], bronze_only=bronze_only)
        return figures

    def bronze_only(self) -> None:
        # The first queries of a JVM load classes and run interpreted until the JIT has compiled
        # the hot paths: the first is reported as "cold", then the timed run is the steady state.
        n = self.opts.warmup_runs
        for i in range(n):
            warm = self.lake_config(f"warmup{i}")
            c = self._available_now(f"bronze-only warm-up {i + 1}/{n}, availableNow (untimed)", warm, True)
            self.result.bronze_only_warmups.append(c)
            self.prog.line(f"  bronze-only warm-up {i + 1}: {c['rows_per_s']:,.0f} rows/s, {c['mb_per_s']:.1f} MB/s")
        if n > 0:
            self.result.bronze_only_cold = self.result.bronze_only_warmups[0]
        b = self._available_now("bronze-only ingest, availableNow", self.base, True)
        self.result.bronze_only = b
        self.prog.line(
            f"  bronze-only: {b['rows_per_s']:,.0f} rows/s, {b['mb_per_s']:.1f} MB/s in {b['batches']} batch(es)"
        )

    def full_job(self) -> None:
        f = self._available_now("full job, availableNow", self.lake_config("full"), False)
        self.result.full_job = f
        self.prog.line(
            f"  full job: {f['rows_per_s']:,.0f} rows/s, {f['mb_per_s']:.1f} MB/s in {f['batches']} batch(es)"
        )
        # Conservative: ingest wall time (query start-up included) against Kafka's fetch rate
        # (consumer group join left out); like-for-like: time inside micro-batches vs fetch time.
        raw, b, r = self.result.raw_consume["fetch_msgs_per_s"], self.result.bronze_only, self.result.ratios
        r["bronze_only_vs_raw"] = stats.ratio(b["rows_per_s"], raw)
        r["bronze_only_in_batches_vs_raw"] = stats.ratio(b["batch_rows_per_s"], raw)
        r["full_job_vs_raw"] = stats.ratio(f["rows_per_s"], raw)
        if self.result.bronze_only_cold is not None:
            r["bronze_only_cold_vs_raw"] = stats.ratio(self.result.bronze_only_cold["rows_per_s"], raw)

    def refine_alone(self) -> None:
        """Refine over the bronze-only lake's bulk bronze, warm (the full job ran refine before)."""
        from datapipeline.bench import phases

        with self.prog.phase("refine alone, availableNow (warm, over the bulk records' bronze)"):
            self.result.refine_only = r = phases.refine_only(self.spark, self.base)
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in r["steps_s"].items())
        self.prog.line(
            f"  refine alone: {r['rows_per_s']:,.0f} rows/s ({r['rows']:,} rows in {r['seconds']:.1f}s: {steps})"
        )

    def source_and_parse(self) -> None:
        from datapipeline.bench import phases

        bulk = self.result.produce["bulk"]
        records = phases.kafka_batch(self.spark, self.plat.kafka_bootstrap, self.topic, self.bulk_end)
        with self.prog.phase("Spark's Kafka source alone (noop sink)"):
            self.result.source_only = so = phases.source_only(records, bulk["bytes"])
        self.prog.line(
            f"  Kafka source alone: {so['rows_per_s']:,.0f} rows/s (first run {so['first_run_seconds']:.1f}s)"
        )
        raw = self.result.raw_consume["fetch_msgs_per_s"]
        self.result.ratios["source_only_vs_raw"] = stats.ratio(so["rows_per_s"], raw)
        if "parse" not in self.opts.skip:
            with self.prog.phase("parse_events alone (records cached, noop sink)"):
                self.result.parse_only = p = phases.parse_only(records, bulk["bytes"])
            self.prog.line(f"  parse only: {p['rows_per_s']:,.0f} rows/s (first run {p['first_run_seconds']:.1f}s)")

    # --- continuous freshness -------------------------------------------------------------------
    def continuous(self, mode: ContinuousMode) -> None:
        """Continuous mode (processingTime) while producing at a fixed rate, then freshness from the
        Delta logs. ``bronze``: the job's bronze query alone; ``full``: the whole job (bronze and
        refine) in this driver; ``split``: bronze in this driver, refine in a driver of its own at a
        low CPU priority (``phases.start_refine_driver``), as deployed."""
        # bronze alone appends to the bronze-only lake; the others get a lake of their own (a new
        # refine checkpoint reads all of bronze, so theirs must not hold the bulk records). Each gets
        # a checkpoint of its own starting at the topic's end (and a new Delta txnAppId): no backlog
        # from earlier phases.
        cfg = self._continuous_config(self.base if mode == "bronze" else self.lake_config(f"continuous-{mode}"))
        since_ms = int(time.time() * 1000)
        size = self.opts.size
        rate = f"{size.rate:,.0f} ev/s for {size.duration_s:g}s, trigger {self.opts.trigger_interval}"
        with self.prog.phase(f"continuous {mode}: {rate}"):
            produced = self._produce_while_running(mode, cfg, seed=2 + CONTINUOUS_MODES.index(mode))
        self.result.produce[f"continuous_{mode}"] = produced
        if mode == "full" or "continuous" not in self.result.produce:
            self.result.produce["continuous"] = produced
        with self.prog.phase(f"freshness {mode} from the Delta logs"):
            expected = {"bronze": produced["records"], "silver_events": produced["valid_events"]}
            for table in ("bronze",) if mode == "bronze" else ("bronze", "silver_events"):
                self._freshness(f"{mode}.{table}", cfg, table, since_ms, expected[table])

    def _continuous_config(self, cfg: IngestConfig) -> IngestConfig:
        return replace(
            cfg,
            trigger="processingTime",
            processing_time=self.opts.trigger_interval,
            checkpoint=f"{cfg.checkpoint}-continuous",
            starting_offsets="latest",
            app_id=f"{cfg.app_id}:continuous",
        )

    def _produce_while_running(self, mode: ContinuousMode, cfg: IngestConfig, seed: int) -> dict:
        """Start the queries of ``mode``, produce at the target rate in a separate process, wait
        until bronze (and refine) caught up, stop; returns the producer's figures and the drains'."""
        from datapipeline.bench import phases
        from datapipeline.bench import platform as bench_platform

        size = self.opts.size
        running, bronze_query = phases.start_continuous(self.spark, cfg, bronze_only=mode != "full")
        refine_driver = None
        try:
            if mode == "split":
                self.opts.out.mkdir(parents=True, exist_ok=True)
                log_path = self.opts.out / f"refine-driver-{self.result.run_id}.log"
                refine_driver = phases.start_refine_driver(cfg, self.opts.master, log_path)
                self.prog.line(f"  refine driver started (nice {phases.REFINE_NICE}), log {log_path}")
            # A spawned process: the producer and this driver's Python do not share a GIL.
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                args = (cfg.kafka_bootstrap, cfg.topic, size.continuous_records, seed, size.rate)
                produced = pool.submit(bench_platform.produce_generated, *args).result()
            self.prog.line(f"  produced {produced['records']:,} at {produced['achieved_rate']:,.0f} ev/s")
            target = sum(kafka_admin.end_offsets(cfg.kafka_bootstrap, cfg.topic).values())
            produced["drain_seconds"] = phases.drain(bronze_query, target, timeout_s=max(60.0, size.duration_s * 2))
            produced["micro_batches"] = phases.batch_stats(bronze_query)
            if mode == "full":  # then refine over all of bronze (bounded: production has stopped)
                start = time.monotonic()
                running.refine.processAllAvailable()
                produced["refine_drain_seconds"] = time.monotonic() - start
                produced["refine_micro_batches"] = phases.batch_stats(running.refine)
            elif mode == "split":
                produced["refine_drain_seconds"] = phases.await_refined(
                    self.spark, cfg, timeout_s=max(300.0, size.duration_s * 4)
                )
        finally:
            running.stop()
            if refine_driver is not None:
                phases.stop_driver(refine_driver)
        return produced

    def _freshness(self, key: str, cfg: IngestConfig, table: str, since_ms: int, expected: int) -> None:
        from datapipeline.bench import freshness

        values, unmatched = freshness.latencies(self.spark, cfg.tables["bronze"], cfg.tables[table], since_ms)
        self.result.latencies[key] = values
        missing = max(0, expected - len(values))
        s = {**stats.summarize(values, missing), "rows_without_commit": unmatched}
        self.result.freshness[key] = s
        self.prog.line(
            f"  freshness {key}: p50 {s['p50']} p95 {s['p95']} p99 {s['p99']} s "
            f"({s['n']:,} rows visible, {missing:,} not visible when the phase ended)"
        )

    # --- soak ----------------------------------------------------------------------------------
    def soak(self) -> None:
        """The pipeline as deployed (bronze here, refine in a driver of its own) under a steady
        produce rate for ``soak_minutes``, sampled every :data:`stats.SOAK_SAMPLE_S` seconds: the
        two drivers' RSS, refine's lag, the tables' file counts (:mod:`.soak`)."""
        from datapipeline.bench import memory, phases, soak
        from datapipeline.bench import platform as bench_platform

        minutes, rate = self.opts.soak_minutes, self.opts.size.rate
        cfg = self._continuous_config(self.lake_config("soak"))
        warmup_s = min(stats.SOAK_WARMUP_S, minutes * 60 / 6)
        samples: list[dict] = []
        with self.prog.phase(f"soak: {rate:,.0f} ev/s for {minutes:g} min, bronze and refine as two drivers"):
            running, bronze_query = phases.start_continuous(self.spark, cfg, bronze_only=True)
            refine_driver = None
            try:
                self.opts.out.mkdir(parents=True, exist_ok=True)
                log_path = self.opts.out / f"soak-refine-driver-{self.result.run_id}.log"
                refine_driver = phases.start_refine_driver(cfg, self.opts.master, log_path)
                jvms = {"bronze": memory.driver_jvm_pid(self.spark), "refine": soak.jvm_of(refine_driver.pid)}
                start = time.monotonic()
                stopped = None  # why the soak ended early
                produced: dict = {}
                with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                    args = (cfg.kafka_bootstrap, cfg.topic, minutes * 60, rate, 7)
                    producing = pool.submit(bench_platform.produce_steady, *args)
                    while not wait([producing], timeout=stats.SOAK_SAMPLE_S).done:
                        if not bronze_query.isActive or refine_driver.poll() is not None:
                            which = "refine driver" if refine_driver.poll() is not None else "bronze query"
                            stopped = f"the {which} stopped after {(time.monotonic() - start) / 60:.1f} min"
                            # Not another half hour of producing into a dead pipeline (3.14 has
                            # terminate_workers(); the pool's processes are all it holds).
                            for proc in list(pool._processes.values()):
                                proc.terminate()
                            break
                        end = sum(kafka_admin.end_offsets(cfg.kafka_bootstrap, cfg.topic).values())
                        backlog = max(0, end - phases.consumed(bronze_query))
                        samples.append(s := soak.sample(time.monotonic() - start, cfg, jvms, backlog))
                        self.prog.line(
                            f"  soak {s['t'] / 60:4.1f} min: RSS bronze {s['rss_mb']['bronze'] or 0:,.0f} MB, "
                            f"refine {s['rss_mb']['refine'] or 0:,.0f} MB; bronze backlog {backlog:,} records; "
                            f"refine lag {s['refine_lag_s']:.0f}s; files max {max(s['files'].values())}"
                        )
                    if stopped is None:
                        produced = producing.result()
                if stopped is None:
                    # Stopped idle, not inside a batch: drain bronze first (as the continuous phases do).
                    end = sum(kafka_admin.end_offsets(cfg.kafka_bootstrap, cfg.topic).values())
                    produced["drain_seconds"] = phases.drain(bronze_query, end, timeout_s=120)
                else:
                    self.prog.line(f"  soak: {stopped}; refine driver log: {log_path}")
            finally:
                running.stop()
                if refine_driver is not None:
                    phases.stop_driver(refine_driver)
        self.result.produce["soak"] = produced
        try:
            figures = stats.soak_figures(samples, warmup_s)
        except ValueError:  # too few samples after the warm-up: only an early stop gets here
            if stopped is None:
                raise
            figures = {"minutes": round(samples[-1]["t"] / 60, 1) if samples else 0.0}
        self.result.soak = {**figures, "samples": samples}
        if stopped is not None:
            self.result.soak["stopped"] = f"{stopped}; refine driver log: {log_path}"
            return
        s = self.result.soak
        self.prog.line(
            f"  soak: {s['minutes']} min at {produced['achieved_rate']:,.0f} ev/s; RSS growth after warm-up "
            f"{s['rss_growth_pct']}%, refine lag max {s['max_lag_s']}s (trend {s['lag_trend_s']:+}s), "
            f"files max {s['files_max']}"
        )

    # --- the rest -------------------------------------------------------------------------------
    def merge(self) -> None:
        from datapipeline.bench import phases

        with self.prog.phase("silver MERGE on a realistic batch"):
            mlake = self.lake_config("merge").lake
            tables = {"silver_events": mlake.table("silver_events"), "silver_orders": mlake.table("silver_orders")}
            self.result.merge = phases.merge_bench(
                self.spark,
                self.plat.kafka_bootstrap,
                self.topic,
                stats.first_offsets(self.bulk_end, self.opts.merge_records),
                tables,
                self.opts.size.merge_share,
            )
        for name, m in self.result.merge.items():
            self.prog.line(
                f"  MERGE {name}: {m['source_rows']:,} rows into {m['target_rows_before']:,} "
                f"at {m['rows_per_s']:,.0f} rows/s"
            )

    def optimize(self) -> None:
        from datapipeline.bench import phases

        with self.prog.phase("OPTIMIZE (file counts before/after)"):
            tables = {"bronze_only.bronze": self.base.tables["bronze"], **self.lake_config("full").tables}
            self.result.files = phases.optimize_all(self.spark, tables)

    def data_quality(self) -> None:
        from datapipeline.bench import dq

        for size, history in DQ_HISTORY.items():
            with self.prog.phase(f"data_quality on {history:,} bronze rows + {DQ_NEW_ROWS:,} new"):
                lake = self.lake_config(f"dq_{size}").lake
                d = dq.measure(self.spark, lake, self.base.s3, history, DQ_NEW_ROWS, full=size == "small")
                self.result.data_quality[size] = d
            whole = f"; the whole lake, no state: {d['full_seconds']:.2f} s" if "full_seconds" in d else ""
            self.prog.line(f"  data_quality: {d['seconds']:.2f} s{whole}")

    def driver_memory(self) -> None:
        from datapipeline.bench import memory

        self.result.driver_memory = memory.driver_peaks(self.spark)


def run(opts: Options) -> BenchResult:
    """The whole benchmark: platform up, every phase, platform down; returns the result."""
    prog = Progress()
    result = new_result(opts)
    size = opts.size
    prog.line(f"bench {result.run_id}: {size.records:,} bulk records, {size.rate:,.0f} ev/s for {size.duration_s:g}s")
    with platform(opts, prog) as plat:
        Bench(opts, plat, prog, result).run_phases()
    result.host["loadavg_end"] = os.getloadavg()[0]
    result.phases = prog.phases
    result.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    return result
