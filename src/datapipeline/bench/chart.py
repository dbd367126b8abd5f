"""The result chart (PNG, matplotlib Agg): throughput against the raw-consume ceiling, and the
freshness distribution against the target."""

from __future__ import annotations

from pathlib import Path

from datapipeline.bench.stats import TARGET_INGEST_RATIO, TARGET_P99_FRESHNESS_S


def render(result: dict, latencies: dict[str, list[float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    raw = result.get("raw_consume", {}).get("fetch_msgs_per_s") or 0
    bars = {
        "raw consume\n(Kafka perf tool)": raw,
        "bronze ingest\n(bronze-only)": result.get("bronze_only", {}).get("rows_per_s") or 0,
        "full job\n(availableNow)": result.get("full_job", {}).get("rows_per_s") or 0,
        "refine alone\n(availableNow)": result.get("refine_only", {}).get("rows_per_s") or 0,
    }
    for name, m in result.get("merge", {}).items():
        bars[f"MERGE\n{name}"] = m.get("rows_per_s") or 0
    colors = ["#555", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#d62728"]
    ax1.bar(list(bars), list(bars.values()), color=colors[: len(bars)])
    if raw:
        ax1.axhline(raw * TARGET_INGEST_RATIO, ls="--", color="red", label=f"target {TARGET_INGEST_RATIO} x raw")
        ax1.legend()
    for i, v in enumerate(bars.values()):
        ax1.text(i, v, f"{v:,.0f}", ha="center", va="bottom")
    ax1.set_ylabel("records / s")
    ax1.set_title("Throughput (same topic, same data)")
    ax1.tick_params(axis="x", labelsize=8)

    produce = result.get("produce", {})
    for name, values in latencies.items():
        if values:
            data = sorted(values)
            rate = produce.get(f"continuous_{name.split('.')[0]}", {}).get("achieved_rate") or 0
            label = f"{name} (produced at {rate:,.0f} ev/s)"
            ax2.plot(data, [i / len(data) for i in range(1, len(data) + 1)], label=label)
    ax2.axvline(TARGET_P99_FRESHNESS_S, ls="--", color="red", label=f"target p99 {TARGET_P99_FRESHNESS_S:g} s")
    ax2.axhline(0.99, ls=":", color="grey")
    ax2.set_xlabel("produce -> Delta commit (s)")
    ax2.set_ylabel("share of rows")
    target_rate = (result.get("sizing") or {}).get("rate") or 0
    ax2.set_title(f"Freshness, continuous mode (target rate {target_rate:,.0f} ev/s)")
    ax2.legend()
    load = result.get("host", {}).get("loadavg_start") or 0
    fig.suptitle(f"task bench {result.get('started_at', '')}  (load average at start {load:.1f})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
