"""Samples of a running soak (the pipeline as deployed: bronze in the bench's driver, refine in a
driver of its own): each driver JVM's RSS, bronze's backlog in records, refine's lag in seconds
and the active file count of each table. :func:`stats.soak_figures` reduces them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import psutil

from datapipeline.lake import checkpoints, delta_rs
from datapipeline.lake.layout import TABLES

if TYPE_CHECKING:
    from datapipeline.ingest.config import IngestConfig

MIB = 1024 * 1024


def jvm_of(pid: int) -> int | None:
    """The Java process below ``pid`` (a ``spark-submit`` driver's JVM), or None."""
    for child in psutil.Process(pid).children(recursive=True):
        if child.name() == "java":
            return child.pid
    return None


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        return psutil.Process(pid).memory_info().rss / MIB
    except psutil.NoSuchProcess:
        return None


def refine_lag_s(cfg: IngestConfig, now_ms: float) -> tuple[float, int]:
    """(age in seconds of the oldest bronze commit the refine query has not read, 0 when none;
    how many bronze versions it is behind)."""
    bronze = delta_rs.open_table(cfg.tables["bronze"], cfg.s3)
    latest = bronze.version()
    refined = checkpoints.refined_bronze_version(cfg.checkpoint, cfg.s3)
    oldest_unread = 0 if refined is None else refined + 1
    if oldest_unread > latest:
        return 0.0, 0
    # history() is newest first; entries carry their commit's timestamp (ms).
    history = bronze.history(limit=latest - oldest_unread + 1)
    stamp = min(int(h["timestamp"]) for h in history)
    return max(0.0, (now_ms - stamp) / 1000), latest - oldest_unread + 1


def file_counts(cfg: IngestConfig) -> dict[str, int]:
    from deltalake.exceptions import TableNotFoundError

    out = {}
    for name in TABLES:
        try:
            out[name] = len(delta_rs.open_table(cfg.tables[name], cfg.s3).file_uris())
        except TableNotFoundError:  # not created yet by its driver
            out[name] = 0
    return out


def sample(t: float, cfg: IngestConfig, jvms: dict[str, int | None], bronze_backlog: int) -> dict:
    """One sample ``t`` seconds into the soak."""
    lag, versions_behind = refine_lag_s(cfg, time.time() * 1000)
    return {
        "t": round(t, 1),
        "rss_mb": {name: rss_mb(pid) for name, pid in jvms.items()},
        "bronze_backlog_records": bronze_backlog,
        "refine_lag_s": round(lag, 1),
        "refine_versions_behind": versions_behind,
        "files": file_counts(cfg),
    }
