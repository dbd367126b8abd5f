"""Table maintenance: OPTIMIZE (compaction of the small files streaming leaves) and VACUUM.

Safe retention: VACUUM keeps files younger than ``retention_hours`` (default 168 = 7 days,
Delta's default ``delta.deletedFileRetentionDuration``); shorter values are refused, because
readers, time travel and a restarted stream may still need those files.

Run it when the ingestion job is NOT writing the same tables: Delta on S3 through S3A is safe for
one writing driver per table (S3SingleDriverLogStore). Schedule it after an ``availableNow`` run.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_RETENTION_HOURS = 168


@dataclass
class Result:
    table: str
    files_removed: int = 0
    files_added: int = 0
    vacuumed: bool = False


def optimize(spark, path: str) -> tuple[int, int]:
    """Compact small files; returns (files removed, files added)."""
    from delta.tables import DeltaTable

    metrics = DeltaTable.forPath(spark, path).optimize().executeCompaction().collect()[0]["metrics"]
    return int(metrics["numFilesRemoved"]), int(metrics["numFilesAdded"])


def vacuum(spark, path: str, retention_hours: float = MIN_RETENTION_HOURS) -> None:
    if retention_hours < MIN_RETENTION_HOURS:
        raise ValueError(
            f"retention {retention_hours}h is below the safe minimum of {MIN_RETENTION_HOURS}h "
            "(readers, time travel and stream restarts may still need those files)"
        )
    from delta.tables import DeltaTable

    DeltaTable.forPath(spark, path).vacuum(retention_hours)


def run(
    spark,
    tables: dict[str, str],
    do_optimize: bool = True,
    do_vacuum: bool = True,
    retention_hours: float = MIN_RETENTION_HOURS,
) -> list[Result]:
    from delta.tables import DeltaTable

    results = []
    for name, path in tables.items():
        res = Result(name)
        if not DeltaTable.isDeltaTable(spark, path):
            results.append(res)
            continue
        if do_optimize:
            res.files_removed, res.files_added = optimize(spark, path)
        if do_vacuum:
            vacuum(spark, path, retention_hours)
            res.vacuumed = True
        results.append(res)
    return results
