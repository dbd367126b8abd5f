"""Pure logic of `task bench`: percentiles, sizing, output parsing, report shape (no timings)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from datapipeline.bench import cli, kafka_perf, memory, runner, stats


def test_percentile_matches_linear_interpolation_by_hand():
    values = [10.0, 1.0, 4.0, 3.0, 2.0]  # sorted: 1 2 3 4 10
    assert stats.percentile(values, 0) == 1.0
    assert stats.percentile(values, 50) == 3.0
    assert stats.percentile(values, 100) == 10.0
    # rank (5-1)*0.95 = 3.8 -> 4 + 0.8*(10-4)
    assert stats.percentile(values, 95) == pytest.approx(8.8)
    assert stats.percentile([7.0], 99) == 7.0


def test_percentile_agrees_with_numpy_default():
    np = pytest.importorskip("numpy")
    rng = random.Random(3)  # noqa: S311 - test data, not crypto
    values = [rng.expovariate(1.0) for _ in range(1001)]
    for q in (50, 95, 99, 99.9):
        assert stats.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


@pytest.mark.parametrize("bad", [-1, 100.5])
def test_percentile_rejects_bad_input(bad):
    with pytest.raises(ValueError, match=r"outside 0\.\.100"):
        stats.percentile([1.0], bad)
    with pytest.raises(ValueError, match="no values"):
        stats.percentile([], 50)


def test_summarize_orders_and_counts():
    s = stats.summarize([float(i) for i in range(1, 101)])
    assert s["n"] == 100 and s["min"] == 1 and s["max"] == 100
    assert s["p50"] <= s["p95"] <= s["p99"] <= s["max"]
    assert s["mean"] == pytest.approx(50.5)
    assert stats.summarize([]) == {"n": 0, "not_visible": 0}


def test_rows_never_visible_count_as_infinitely_late():
    values = [1.0] * 98
    two_missing = stats.summarize(values, missing=2)
    assert two_missing["n"] == 98 and two_missing["not_visible"] == 2
    assert two_missing["p50"] == 1.0 and two_missing["p99"] is None and two_missing["max"] is None
    assert stats.summarize([1.0] * 999, missing=1)["p99"] == 1.0  # 0.1 % missing: p99 still measured


def test_throughput_in_mib():
    t = stats.throughput(rows=1000, nbytes=4 * stats.MIB, seconds=2.0)
    assert t["rows_per_s"] == 500 and t["mb"] == 4 and t["mb_per_s"] == 2
    with pytest.raises(ValueError):
        stats.throughput(1, 1, 0)


def test_sizing_defaults_scale_and_overrides():
    default = stats.sizing()
    assert (default.records, default.rate, default.duration_s) == (200_000, 5000.0, 40.0)
    assert default.continuous_records == 200_000
    half = stats.sizing(scale=0.5)
    assert (half.records, half.duration_s) == (100_000, 20.0)
    tiny = stats.sizing(scale=0.001)
    assert tiny.records == 1000 and tiny.duration_s == 5.0  # floors
    explicit = stats.sizing(scale=3, records=50, rate=100, duration_s=2)
    assert (explicit.records, explicit.rate, explicit.continuous_records) == (50, 100, 200)
    for kwargs in ({"scale": 0}, {"merge_share": 1.0}, {"rate": -1}):
        with pytest.raises(ValueError):
            stats.sizing(**kwargs)


CONSUMER_PERF_OUTPUT = """\
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, \
fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-28T07:05:00.100, 2026-11-28T07:05:01.600, 74.4, 49.6, 200000, 133333.3, 300, 1200, 62.0, 166666.7
"""


def test_consumer_perf_output_is_parsed():
    r = kafka_perf.parse(CONSUMER_PERF_OUTPUT)
    assert r["msgs"] == 200000 and r["fetch_msgs_per_s"] == pytest.approx(166666.7)
    assert r["mb"] == pytest.approx(74.4) and r["rebalance_ms"] == 300


def test_consumer_perf_garbage_is_an_error():
    with pytest.raises(kafka_perf.PerfToolError, match="unexpected ConsumerPerformance output"):
        kafka_perf.parse("Exception in thread main\n")


def test_consumer_perf_missing_jars_says_bootstrap(tmp_path: Path):
    with pytest.raises(kafka_perf.PerfToolError, match="task bootstrap"):
        kafka_perf.command(tmp_path, "127.0.0.1:9092", "t", 10, "g", tmp_path / "log4j")


def test_vm_hwm_parsed_in_bytes():
    text = "Name:\tjava\nVmPeak:\t 9000 kB\nVmHWM:\t  524288 kB\nVmRSS:\t 1000 kB\n"
    assert memory.parse_vm_hwm(text) == 512 * 1024 * 1024
    with pytest.raises(ValueError, match="VmHWM"):
        memory.parse_vm_hwm("Name:\tjava\n")


def test_parse_conf():
    assert cli.parse_conf(["spark.sql.shuffle.partitions=2", "spark.driver.memory = 2g"]) == {
        "spark.sql.shuffle.partitions": "2",
        "spark.driver.memory": "2g",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        cli.parse_conf(["spark.sql.shuffle.partitions"])


def sample_result(ratio: float, p99: float) -> dict:
    return {
        "run_id": "20261128T000000Z",
        "host": {"cpus": 2, "loadavg_start": 1.0, "loadavg_end": 2.0},
        "raw_consume": {"fetch_msgs_per_s": 100000.0, "fetch_mb_per_s": 37.0},
        "bronze_only": {"rows_per_s": 100000.0 * ratio, "mb_per_s": 37.0 * ratio},
        "bronze_only_cold": {"rows_per_s": 23456.0, "mb_per_s": 8.7},
        "full_job": {"rows_per_s": 1000.0, "mb_per_s": 0.4},
        "parse_only": {"rows_per_s": 34567.0, "mb_per_s": 12.9},
        "source_only": {"rows_per_s": 65432.0, "mb_per_s": 24.0},
        "ratios": {
            "bronze_only_vs_raw": ratio,
            "full_job_vs_raw": 0.01,
            "bronze_only_cold_vs_raw": 0.23456,
            "source_only_vs_raw": 0.65432,
        },
        "freshness": {
            "full.bronze": {"n": 10, "p50": 1.0, "p95": 2.0, "p99": p99, "not_visible": 0},
            "split.bronze": {"n": 10, "p50": 0.5, "p95": 0.7, "p99": 0.9, "not_visible": 0},
        },
        "produce": {
            "continuous": {"target_rate": 5000.0, "achieved_rate": 4990.0},
            "continuous_full": {"target_rate": 5000.0, "achieved_rate": 4990.0},
            "continuous_split": {"target_rate": 5000.0, "achieved_rate": 4321.0},
        },
        "merge": {"silver_events": {"source_rows": 100, "target_rows_before": 400, "rows_per_s": 50.0}},
        "driver_memory": {"jvm_peak_rss_mb": 900.0, "python_peak_rss_mb": 150.0},
        "files": {"bronze": {"before": 12, "after": 1}},
    }


def test_summary_is_flat_and_names_every_headline_figure():
    result = sample_result(0.6, 4.0)
    result["refine_only"] = {"rows": 200_000, "seconds": 50.0, "rows_per_s": 4000.0}
    result["freshness"]["split.silver_events"] = {"n": 10, "p99": 70.5, "not_visible": 0}
    s = stats.summary(result)
    assert tuple(s) == stats.SUMMARY_KEYS  # no soak keys without a soak
    assert s["raw_consume_msgs_per_s"] == 100000.0 and s["bronze_rows_per_s"] == 60000.0
    assert s["kafka_source_rows_per_s"] == 65432.0 and s["parse_rows_per_s"] == 34567.0
    assert s["refine_rows_per_s"] == 4000.0
    # Freshness and rate as deployed: the two-driver (split) phase, not the one-driver one.
    assert (s["bronze_p99_s"], s["silver_p99_s"], s["continuous_rate_achieved"]) == (0.9, 70.5, 4321.0)
    assert s["dq_seconds_small"] is None and s["dq_rows_large"] is None  # not measured
    assert all(not isinstance(v, dict | list) for v in s.values())
    soaked = stats.summary(
        {**result, "soak": {"minutes": 30, "rss_growth_pct": 4.2, "max_lag_s": 3.1, "files_max": 80}}
    )
    assert tuple(soaked) == stats.SUMMARY_KEYS + stats.SOAK_KEYS and soaked["soak_rss_growth_pct"] == 4.2


@pytest.mark.parametrize(("ratio", "p99", "met"), [(0.6, 2.9, True), (0.4, 3.1, False)])
def test_targets(ratio, p99, met):
    result = sample_result(ratio, 4.0)
    result["freshness"]["split.bronze"]["p99"] = p99
    t = stats.targets(result)
    assert t["bronze_vs_raw_consume"] == {"target": ">= 0.5", "value": pytest.approx(ratio), "met": met}
    assert t["bronze_p99_s"] == {"target": "<= 3", "value": p99, "met": met}
    # 60,000 / 65,432 = 0.917 >= 0.85; 40,000 / 65,432 = 0.61
    assert t["bronze_vs_kafka_source"]["met"] is met
    assert t["parse_rows_per_s"] == {"target": ">= 100,000", "value": 34567.0, "met": False}
    # Not measured: None, never a pass.
    assert t["refine_rows_per_s"]["met"] is None and t["dq_seconds_large_vs_small"]["met"] is None
    assert t["silver_p99_s"]["met"] is None
    assert "soak_rss_growth_pct" not in t
    assert {k: v["met"] for k, v in stats.targets({}).items()} == {tt.name: None for tt in stats.TARGETS}
    # A p99 that more than 1 % of the rows never reached is measured, and not met.
    never = sample_result(ratio, 4.0)
    never["freshness"]["split.silver_events"] = {"n": 10, "p99": None, "not_visible": 50}
    assert stats.targets(never)["silver_p99_s"] == {"target": "<= 15", "value": None, "met": False}
    dq = {
        **result,
        "data_quality": {"small": {"rows": 10**6, "seconds": 10.0}, "large": {"rows": 5 * 10**6, "seconds": 16.0}},
    }
    assert stats.targets(dq)["dq_seconds_large_vs_small"] == {"target": "<= 1.5", "value": 1.6, "met": False}


def test_result_json_has_summary_and_targets_and_no_latencies():
    opts = runner.Options(size=stats.sizing(records=1000))
    result = runner.BenchResult(
        run_id="20261202T000000Z", started_at="t", host={}, versions={}, sizing=opts.size.as_dict(), config={}
    )
    result.refine_only = {"rows": 1000, "seconds": 0.5, "rows_per_s": 2000.0}
    result.latencies["split.bronze"] = [0.1, 0.2]
    body = json.loads(json.dumps(result.to_json()))
    assert body["schema"] == 2 and "latencies" not in body and "bronze_only_cold" not in body
    assert body["summary"]["refine_rows_per_s"] == 2000.0
    assert body["targets"]["refine_rows_per_s"] == {"target": ">= 15,000", "value": 2000.0, "met": False}
    assert stats.markdown(body).count("2,000 rows/s") == 1
    table = stats.targets_markdown(body).splitlines()
    assert table[:2] == ["| figure | value | target | |", "|---|---|---|---|"]
    assert "| `refine_rows_per_s` | 2,000 | >= 15,000 | **not met** |" in table
    assert "| `parse_rows_per_s` | n/a | >= 100,000 | not measured |" in table
    assert len(table) == 2 + len(stats.TARGETS)


def test_markdown_table_has_every_figure():
    table = stats.markdown(sample_result(0.6, 4.0))
    lines = table.splitlines()
    assert lines[:2] == ["| figure | value |", "|---|---|"]
    assert all(line.startswith("| ") and line.endswith(" |") and line.count(" | ") == 1 for line in lines[2:])
    for needle in (
        "100,000 msg/s",
        "60,000 rows/s",
        "0.60",
        "1.00 / 2.00 / 4.00 s",
        "bronze 12 -> 1",
        "900 / 150",
        "23,456 rows/s; 0.23",
        "34,567 rows/s, 12.9 MB/s",
        "two drivers (refine at nice 19): bronze (p50 / p95 / p99) | 0.50 / 0.70 / 0.90 s (10 rows)",
        "bronze alone / full job / two drivers | n/a / 4,990 / 4,321 ev/s (target 5,000)",
    ):
        assert needle in table, needle
    # Missing sections print n/a instead of failing (e.g. --skip continuous).
    assert "n/a" in stats.markdown({"host": {}})


def test_markdown_cli_reads_a_result(tmp_path: Path, capsys):
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(sample_result(0.6, 4.0)))
    assert cli.main(["--markdown", str(path)]) == 0
    assert capsys.readouterr().out.startswith("| figure | value |")
    assert cli.main(["--markdown", str(tmp_path / "none.json")]) == 2
    assert "run `task bench` first" in capsys.readouterr().err


def test_first_offsets_spread_and_capped():
    assert stats.first_offsets({0: 100, 1: 100, 2: 10}, 90) == {0: 30, 1: 30, 2: 10}
    assert stats.first_offsets({0: 5}, 1000) == {0: 5}
    assert stats.first_offsets({}, 10) == {}


def test_negative_warmup_runs_is_refused_before_anything_starts(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.parser().parse_args(["--warmup-runs", "-1"])
    assert exit_.value.code == 2
    assert "argument --warmup-runs: -1 must be >= 0" in capsys.readouterr().err


def test_raw_ceiling_is_the_median_run():
    runs = [{"fetch_msgs_per_s": v, "run": i} for i, v in enumerate((284_000.0, 112_000.0, 175_000.0))]
    assert stats.median_run(runs, "fetch_msgs_per_s")["run"] == 2
    assert stats.median_run(runs[:2], "fetch_msgs_per_s")["run"] == 1  # even count: the lower middle
    with pytest.raises(ValueError):
        stats.median_run([], "fetch_msgs_per_s")


def soak_sample(t: float, bronze_mb: float, refine_mb: float | None, lag: float, files: int) -> dict:
    return {
        "t": t,
        "rss_mb": {"bronze": bronze_mb, "refine": refine_mb},
        "refine_lag_s": lag,
        "files": {"bronze": files, "silver_events": files // 2},
    }


def test_soak_figures_measure_growth_from_the_end_of_warm_up():
    samples = [
        soak_sample(30, 500, 400, 90.0, 10),  # warm-up: neither its RSS nor its lag sets the baseline
        soak_sample(60, 1000, 800, 2.0, 20),
        soak_sample(90, 1020, 800, 3.0, 30),
        soak_sample(120, 1030, 820, 4.0, 40),
        soak_sample(150, 1050, 840, 8.0, 50),
        soak_sample(180, 1100, 860, 9.0, 60),
        soak_sample(210, 1080, 860, 11.0, 70),
    ]
    f = stats.soak_figures(samples, warmup_s=60)
    # bronze 1000 -> 1080 (+8 %), refine 800 -> 860 (+7.5 %): the larger one
    assert f["rss_growth_pct_by_driver"] == {"bronze": 8.0, "refine": 7.5}
    assert f["rss_growth_pct"] == 8.0
    assert f["max_lag_s"] == 11.0  # after warm-up: the 90 s of the drivers' start do not count
    # six samples after warm-up: last two (9, 11) minus first two (2, 3)
    assert f["lag_trend_s"] == 7.5
    assert f["files_max"] == 70 and f["minutes"] == 3.5
    t = stats.targets({"soak": f})
    assert t["soak_rss_growth_pct"] == {"target": "<= 10", "value": 8.0, "met": True}


def test_soak_figures_leave_out_a_driver_without_rss_and_refuse_a_soak_too_short():
    samples = [soak_sample(60, 1000, None, 1.0, 5), soak_sample(90, 1200, 900, 1.0, 5)]
    assert stats.soak_figures(samples, warmup_s=60)["rss_growth_pct_by_driver"] == {"bronze": 20.0}
    with pytest.raises(ValueError, match="two samples after its 300s warm-up, got 0"):
        stats.soak_figures(samples, warmup_s=300)


def test_a_soak_that_stopped_early_meets_no_soak_target():
    samples = [soak_sample(60 + 30 * i, 1000, 800, 2.0, 5) for i in range(4)]  # flat RSS: would be met
    f = stats.soak_figures(samples, warmup_s=60)
    assert stats.targets({"soak": f})["soak_rss_growth_pct"]["met"] is True
    stopped = {"soak": {**f, "stopped": "the refine driver stopped after 2.0 min"}}
    assert stats.targets(stopped)["soak_rss_growth_pct"] == {"target": "<= 10", "value": 0.0, "met": False}
    # stopped before the warm-up ended: only the minutes and the samples; no figure, still not met
    early = {"soak": {"minutes": 0.5, "samples": samples[:1], "stopped": "the bronze driver stopped"}}
    assert stats.targets(early)["soak_rss_growth_pct"] == {"target": "<= 10", "value": None, "met": False}


def test_soak_minutes_must_not_be_negative(capsys):
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["--soak", "-1"])
    assert "-1 must be >= 0" in capsys.readouterr().err
