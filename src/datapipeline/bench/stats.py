"""Pure logic of the benchmark: percentiles, sizing, targets and the Markdown table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from datapipeline.supervisor import REFINE_NICE

MIB = 1024 * 1024  # Kafka's ConsumerPerformance reports MB as MiB; so do we

# The pipeline's performance targets on the 2-core machine (checked per run, docs/performance.md).
TARGET_INGEST_RATIO = 0.5  # bronze ingest rows/s >= 0.5 x raw consume msgs/s (issue #6)
TARGET_P99_FRESHNESS_S = 3.0  # bronze p99 freshness, continuous at the target rate, as deployed
TARGET_SILVER_P99_S = 15.0  # silver_events p99 freshness, likewise (issue #15)
DEFAULT_RATE = 5000.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks
    (numpy's default method). Raises on an empty input or ``q`` outside 0..100."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    if pos == lo or data[hi] == data[lo]:
        return data[lo]
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summarize(values: Sequence[float], missing: int = 0) -> dict[str, float | int | None]:
    """n, min, mean, p50, p95, p99, max of latencies (seconds). ``missing`` rows never became
    visible while measured: they count as infinitely late, so a percentile they reach is None
    (not measurable), never a flattering number."""
    if not values and not missing:
        return {"n": 0, "not_visible": 0}
    padded = list(values) + [math.inf] * missing

    def finite(x: float) -> float | None:
        return None if math.isinf(x) else x

    return {
        "n": len(values),
        "not_visible": missing,
        "min": finite(min(padded)),
        "mean": sum(values) / len(values) if values else None,
        "p50": finite(percentile(padded, 50)),
        "p95": finite(percentile(padded, 95)),
        "p99": finite(percentile(padded, 99)),
        "max": finite(max(padded)),
    }


def throughput(rows: int, nbytes: int, seconds: float) -> dict[str, float | int]:
    if seconds <= 0:
        raise ValueError(f"duration {seconds}s must be > 0")
    return {
        "rows": rows,
        "mb": nbytes / MIB,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "mb_per_s": nbytes / MIB / seconds,
    }


@dataclass(frozen=True)
class Sizing:
    """How much the benchmark does. ``scale`` multiplies the defaults; explicit values win."""

    records: int  # bulk records: raw consume, availableNow runs, MERGE batch
    rate: float  # continuous-mode produce rate (records/s)
    duration_s: float  # continuous-mode produce duration
    merge_share: float  # share of the valid bulk events in the timed MERGE batch

    @property
    def continuous_records(self) -> int:
        return int(self.rate * self.duration_s)

    def as_dict(self) -> dict:
        return {**asdict(self), "continuous_records": self.continuous_records}


DEFAULT_RECORDS = 200_000
DEFAULT_DURATION_S = 40.0


def sizing(
    scale: float = 1.0,
    records: int | None = None,
    rate: float | None = None,
    duration_s: float | None = None,
    merge_share: float = 0.2,
) -> Sizing:
    """Default: 200,000 bulk records and 40 s at 5,000 events/s (a few minutes in all)."""
    if scale <= 0:
        raise ValueError(f"--scale {scale} must be > 0")
    if not 0 < merge_share < 1:
        raise ValueError(f"--merge-share {merge_share} must be between 0 and 1")
    size = Sizing(
        records=records if records is not None else max(1000, int(DEFAULT_RECORDS * scale)),
        rate=rate if rate is not None else DEFAULT_RATE,
        duration_s=duration_s if duration_s is not None else max(5.0, DEFAULT_DURATION_S * scale),
        merge_share=merge_share,
    )
    if size.records <= 0 or size.rate <= 0 or size.duration_s <= 0:
        raise ValueError("--records, --rate and --duration must be > 0")
    return size


def first_offsets(end_offsets: dict[int, int], records: int) -> dict[int, int]:
    """End offsets covering about ``records`` records from the start, spread evenly over the
    partitions and never past their end (all of a partition when it has fewer)."""
    if not end_offsets:
        return {}
    per_partition = math.ceil(records / len(end_offsets))
    return {p: min(end, per_partition) for p, end in end_offsets.items()}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return numerator / denominator


SPLIT = f"refine at nice {REFINE_NICE}"


def median_run(runs: list[dict], key: str) -> dict:
    """The run whose ``key`` is the median (the lower middle one of an even count)."""
    if not runs:
        raise ValueError("no runs to take the median of")
    return sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2]


# The flat ``summary`` of every result JSON (issue #15): one figure a key, None when not measured.
SUMMARY_KEYS = (
    "raw_consume_msgs_per_s",
    "kafka_source_rows_per_s",
    "bronze_rows_per_s",
    "refine_rows_per_s",
    "parse_rows_per_s",
    "bronze_p99_s",
    "silver_p99_s",
    "continuous_rate_achieved",
    "dq_rows_small",
    "dq_seconds_small",
    "dq_rows_large",
    "dq_seconds_large",
)
SOAK_KEYS = ("soak_minutes", "soak_rss_growth_pct", "soak_max_lag_s", "soak_files_max")
AS_DEPLOYED = "split"  # the continuous mode that runs as deployed: bronze and refine as two drivers


def summary(result: dict) -> dict[str, float | int | None]:
    """The headline figures of a result, flat. Freshness and the achieved rate are those of the
    pipeline as deployed (two drivers, :data:`AS_DEPLOYED`); a p99 is None when more than 1 % of
    the rows never became visible (see :func:`summarize`) or when not measured."""
    fresh = result.get("freshness", {})
    dq = result.get("data_quality", {})
    out = {
        "raw_consume_msgs_per_s": result.get("raw_consume", {}).get("fetch_msgs_per_s"),
        "kafka_source_rows_per_s": result.get("source_only", {}).get("rows_per_s"),
        "bronze_rows_per_s": result.get("bronze_only", {}).get("rows_per_s"),
        "refine_rows_per_s": result.get("refine_only", {}).get("rows_per_s"),
        "parse_rows_per_s": result.get("parse_only", {}).get("rows_per_s"),
        "bronze_p99_s": fresh.get(f"{AS_DEPLOYED}.bronze", {}).get("p99"),
        "silver_p99_s": fresh.get(f"{AS_DEPLOYED}.silver_events", {}).get("p99"),
        "continuous_rate_achieved": result.get("produce", {}).get(f"continuous_{AS_DEPLOYED}", {}).get("achieved_rate"),
        "dq_rows_small": dq.get("small", {}).get("rows"),
        "dq_seconds_small": dq.get("small", {}).get("seconds"),
        "dq_rows_large": dq.get("large", {}).get("rows"),
        "dq_seconds_large": dq.get("large", {}).get("seconds"),
    }
    if "soak" in result:
        out.update({k: result["soak"].get(k.removeprefix("soak_")) for k in SOAK_KEYS})
    return out


@dataclass(frozen=True)
class Target:
    """A figure of :func:`summary` (or a ratio of two) against a bound."""

    name: str
    op: str  # ">=" or "<="
    bound: float
    figure: str  # a summary key, or "a/b": the ratio of two summary keys
    freshness: str | None = None  # the freshness key it comes from: a None p99 there is "not met"

    def value(self, figures: dict) -> float | None:
        num, _, den = self.figure.partition("/")
        return ratio(figures.get(num), figures.get(den)) if den else figures.get(num)


TARGETS = (
    Target("refine_rows_per_s", ">=", 15_000, "refine_rows_per_s"),
    Target("parse_rows_per_s", ">=", 100_000, "parse_rows_per_s"),
    Target("silver_p99_s", "<=", TARGET_SILVER_P99_S, "silver_p99_s", f"{AS_DEPLOYED}.silver_events"),
    Target("bronze_vs_kafka_source", ">=", 0.85, "bronze_rows_per_s/kafka_source_rows_per_s"),
    Target("bronze_p99_s", "<=", TARGET_P99_FRESHNESS_S, "bronze_p99_s", f"{AS_DEPLOYED}.bronze"),
    Target("dq_seconds_large_vs_small", "<=", 1.5, "dq_seconds_large/dq_seconds_small"),
    Target("bronze_vs_raw_consume", ">=", TARGET_INGEST_RATIO, "bronze_rows_per_s/raw_consume_msgs_per_s"),
)
SOAK_TARGETS = (Target("soak_rss_growth_pct", "<=", 10.0, "soak_rss_growth_pct"),)
SOAK_SAMPLE_S = 30.0  # a soak samples the drivers' RSS, the lag and the file counts this often
SOAK_WARMUP_S = 300.0  # RSS growth is measured from the first sample after this (or a sixth of a shorter soak)


def soak_figures(samples: Sequence[dict], warmup_s: float) -> dict:
    """The soak's figures from its samples (``t`` seconds since start, ``rss_mb`` per driver,
    ``refine_lag_s``, ``files`` per table), in time order:

    - ``rss_growth_pct``: the largest growth of a driver's RSS from the first sample at or after
      ``warmup_s`` to the last sample;
    - ``max_lag_s``: the largest refine lag after warm-up (age of the oldest bronze commit refine
      has not read; during warm-up it includes the drivers' start);
    - ``lag_trend_s``: mean refine lag over the last third of the samples after warm-up minus the
      mean over the first third (> 0: refine falls further behind);
    - ``files_max``: the most active files any table had.

    Raises when no sample lies after the warm-up (the soak was too short to say anything)."""
    warm = [s for s in samples if s["t"] >= warmup_s]
    if len(warm) < 2:
        raise ValueError(f"a soak needs two samples after its {warmup_s:g}s warm-up, got {len(warm)}")
    first, last = warm[0]["rss_mb"], warm[-1]["rss_mb"]
    growth = {name: (last[name] - mb) / mb * 100 for name, mb in first.items() if mb and last.get(name)}
    third = max(1, len(warm) // 3)
    lags = [s["refine_lag_s"] for s in warm]
    return {
        "minutes": round(samples[-1]["t"] / 60, 1),
        "rss_growth_pct": round(max(growth.values()), 1) if growth else None,
        "rss_growth_pct_by_driver": {k: round(v, 1) for k, v in growth.items()},
        "max_lag_s": round(max(lags), 1),
        "lag_trend_s": round(sum(lags[-third:]) / third - sum(lags[:third]) / third, 1),
        "files_max": max(max(s["files"].values(), default=0) for s in samples),
        "warmup_s": warmup_s,
    }


def targets(result: dict) -> dict[str, dict]:
    """Each target with its value and whether it is met (None when not measured; a p99 that
    more than 1 % of the rows never reached is measured and not met; a soak that stopped early
    meets none of its targets)."""
    figures = summary(result)
    out = {}
    for t in TARGETS + (SOAK_TARGETS if "soak" in result else ()):
        value = t.value(figures)
        if t in SOAK_TARGETS and result["soak"].get("stopped"):
            met = False  # a soak that ended early proves nothing about the long run
        elif value is None:
            measured = t.freshness is not None and t.freshness in result.get("freshness", {})
            met = False if measured else None
        else:
            met = value >= t.bound if t.op == ">=" else value <= t.bound
        out[t.name] = {"target": f"{t.op} {t.bound:,g}", "value": value, "met": met}
    return out


def target_line(name: str, t: dict) -> str:
    """``name bound: met|NOT met|not measured (value)``, the value rounded for reading."""
    verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
    return f"{name} {t['target']}: {verdict} ({_shown(t['value'])})"


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def targets_markdown(result: dict) -> str:
    """The targets of a result as a short table (figure, value, target, met), for the README;
    computed from its figures by :func:`targets`, so the table always shows today's targets."""
    lines = ["| figure | value | target | |", "|---|---|---|---|"]
    for name, t in targets(result).items():
        verdict = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
        lines.append(f"| `{name}` | {_shown(t['value'])} | {t['target']} | {verdict} |")
    return "\n".join(lines)


def _num(value, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def summary_rows(result: dict) -> list[tuple[str, str]]:
    """(figure, value) pairs, in the order they are printed and put into the README."""
    raw = result.get("raw_consume", {})
    bronze = result.get("bronze_only", {})
    cold = result.get("bronze_only_cold", {})
    parsed = result.get("parse_only", {})
    source = result.get("source_only", {})
    full = result.get("full_job", {})
    ratios = result.get("ratios", {})
    cont = result.get("produce", {}).get("continuous", {})
    rows = [
        (
            "raw Kafka consume (kafka-tools ConsumerPerformance, fetch rate)",
            f"{_num(raw.get('fetch_msgs_per_s'))} msg/s, {_num(raw.get('fetch_mb_per_s'), 1)} MB/s",
        ),
        (
            "bronze ingest, availableNow (the job's bronze query alone)",
            f"{_num(bronze.get('rows_per_s'))} rows/s, {_num(bronze.get('mb_per_s'), 1)} MB/s",
        ),
        ("ratio bronze ingest / raw consume (wall time, incl. query start)", _num(ratios.get("bronze_only_vs_raw"), 2)),
        (
            "bronze ingest, the JVM's first query (cold; ratio to raw consume)",
            f"{_num(cold.get('rows_per_s'))} rows/s; {_num(ratios.get('bronze_only_cold_vs_raw'), 2)}",
        ),
        (
            "ratio bronze ingest / raw consume (time inside micro-batches)",
            _num(ratios.get("bronze_only_in_batches_vs_raw"), 2),
        ),
        (
            "full job, availableNow (bronze query, then refine: quarantine+silver MERGE+gold)",
            f"{_num(full.get('rows_per_s'))} rows/s, {_num(full.get('mb_per_s'), 1)} MB/s",
        ),
        ("ratio full job / raw consume", _num(ratios.get("full_job_vs_raw"), 2)),
        (
            "refine alone, availableNow, warm (bronze of the bulk records -> quarantine, silver, gold)",
            f"{_num(result.get('refine_only', {}).get('rows_per_s'))} rows/s",
        ),
        (
            "Spark's Kafka source alone (noop sink, second run; ratio to raw consume)",
            f"{_num(source.get('rows_per_s'))} rows/s; {_num(ratios.get('source_only_vs_raw'), 2)}",
        ),
        (
            "parse_events alone (records cached in memory, noop sink, second run)",
            f"{_num(parsed.get('rows_per_s'))} rows/s, {_num(parsed.get('mb_per_s'), 1)} MB/s",
        ),
    ]
    labels = {
        "bronze.bronze": "freshness, continuous bronze query alone: bronze",
        "full.bronze": "freshness, continuous full job (both queries): bronze",
        "full.silver_events": "freshness, continuous full job (both queries): silver_events",
        "split.bronze": f"freshness, continuous, bronze and refine as two drivers ({SPLIT}): bronze",
        "split.silver_events": f"freshness, continuous, bronze and refine as two drivers ({SPLIT}): silver_events",
    }
    for key, label in labels.items():
        f = result.get("freshness", {}).get(key, {})
        late = f" + {f['not_visible']:,} not visible at the end" if f.get("not_visible") else ""
        rows.append(
            (
                f"{label} (p50 / p95 / p99)",
                f"{_num(f.get('p50'), 2)} / {_num(f.get('p95'), 2)} / {_num(f.get('p99'), 2)} s "
                f"({_num(f.get('n'))} rows{late})",
            )
        )
    produce = result.get("produce", {})
    achieved = " / ".join(
        _num(produce.get(f"continuous_{m}", {}).get("achieved_rate")) for m in ("bronze", "full", "split")
    )
    rows.append(
        (
            "continuous produce rate achieved: bronze alone / full job / two drivers",
            f"{achieved} ev/s (target {_num(cont.get('target_rate'))})",
        )
    )
    for name, m in result.get("merge", {}).items():
        rows.append(
            (
                f"MERGE {name} ({_num(m.get('source_rows'))} rows into {_num(m.get('target_rows_before'))})",
                f"{_num(m.get('rows_per_s'))} rows/s",
            )
        )
    for size, d in result.get("data_quality", {}).items():
        rows.append(
            (
                f"data_quality, {size} lake "
                f"({_num(d.get('history_rows'))} bronze rows + {_num(d.get('new_rows'))} new)",
                f"{_num(d.get('seconds'), 2)} s"
                + (f" (the whole lake, no state: {_num(d['full_seconds'], 2)} s)" if "full_seconds" in d else ""),
            )
        )
    mem = result.get("driver_memory", {})
    rows.append(
        (
            "driver peak memory (JVM VmHWM / Python VmHWM)",
            f"{_num(mem.get('jvm_peak_rss_mb'))} / {_num(mem.get('python_peak_rss_mb'))} MiB",
        )
    )
    files = result.get("files", {})
    if files:
        rows.append(
            (
                "Delta files before -> after OPTIMIZE",
                ", ".join(f"{t} {v.get('before')} -> {v.get('after')}" for t, v in files.items()),
            )
        )
    soak = result.get("soak")
    if soak:
        by = soak.get("rss_growth_pct_by_driver", {})
        rows += [
            (
                "soak: bronze and refine as two drivers, steady produce rate",
                f"{_num(soak.get('minutes'), 1)} min at "
                f"{_num(produce.get('soak', {}).get('achieved_rate'))} ev/s (warm-up {_num(soak.get('warmup_s'))} s)",
            ),
            (
                "soak: driver RSS growth after warm-up (bronze / refine)",
                f"{_num(by.get('bronze'), 1)} % / {_num(by.get('refine'), 1)} %",
            ),
            (
                "soak: refine lag after warm-up (max; trend = mean of last third - first third)",
                f"{_num(soak.get('max_lag_s'), 1)} s; {_num(soak.get('lag_trend_s'), 1)} s",
            ),
            ("soak: most active files in one table (no compaction while streaming)", _num(soak.get("files_max"))),
        ]
        if soak.get("stopped"):
            rows.append(("soak: ended early", soak["stopped"]))
    load = result.get("host", {})
    rows.append(
        (
            "machine (cores; load average at start / end)",
            f"{load.get('cpus')} cores; {_num(load.get('loadavg_start'), 2)} / {_num(load.get('loadavg_end'), 2)}",
        )
    )
    return rows


def markdown(result: dict) -> str:
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary_rows(result)]
    return "\n".join(lines)


def soak_markdown(result: dict, every_s: float = 300.0) -> str | None:
    """The soak's samples about every ``every_s`` seconds (and the last), as a table; None without a soak."""
    samples = (result.get("soak") or {}).get("samples") or []
    if not samples:
        return None
    shown, next_t = [], 0.0
    for i, s in enumerate(samples):
        if s["t"] >= next_t or i == len(samples) - 1:
            shown.append(s)
            next_t = s["t"] + every_s - SOAK_SAMPLE_S / 2
    lines = [
        "| minute | RSS bronze driver (MiB) | RSS refine driver (MiB) | bronze backlog (records) "
        "| refine lag (s) | files (bronze / silver_events) |",
        "|---|---|---|---|---|---|",
    ]
    for s in shown:
        rss, files = s["rss_mb"], s["files"]
        lines.append(
            f"| {s['t'] / 60:.1f} | {_num(rss.get('bronze'))} | {_num(rss.get('refine'))} "
            f"| {_num(s.get('bronze_backlog_records'))} | {_num(s['refine_lag_s'], 1)} "
            f"| {_num(files.get('bronze'))} / {_num(files.get('silver_events'))} |"
        )
    return "\n".join(lines)
