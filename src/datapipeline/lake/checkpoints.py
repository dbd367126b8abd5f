"""How far the job's queries are, read from their checkpoints without Spark.

A query's checkpoint holds ``offsets/<batch>`` (planned: written before the batch runs) and
``commits/<batch>`` (written after it). The refine query's source is bronze (Delta): its offset
``{"reservoirVersion": v, "index": i, "isStartingVersion": s}`` means "up to file ``i`` of
version ``v``"; after a version is read to its end the offset moves to ``(v + 1, -1)``.
"""

from __future__ import annotations

import json

from datapipeline.lake import delta_rs
from datapipeline.lake.layout import query_checkpoint
from datapipeline.lake.s3 import S3Settings


def batches(checkpoint: str, query: str, s3: S3Settings | None) -> tuple[int, int]:
    """(last planned batch id, last committed batch id) of one of the job's queries; -1 for none."""
    folder = query_checkpoint(checkpoint, query)

    def last(sub: str) -> int:
        ids = [int(n) for n in delta_rs.list_names(f"{folder}/{sub}", s3) if n.isdigit()]
        return max(ids, default=-1)

    return last("offsets"), last("commits")


def fully_read_version(offset: dict) -> int | None:
    """The newest bronze version every row of which the refine query had read at ``offset``:
    -1 for none; None when that cannot be told (partway through the first snapshot of bronze,
    read file by file with no version boundary)."""
    version, index = int(offset["reservoirVersion"]), int(offset["index"])
    if offset.get("isStartingVersion") and index >= 0:
        return None
    return version - 1


def refined_bronze_version(checkpoint: str, s3: S3Settings | None) -> int | None:
    """The newest bronze version whose rows the refine query has written to every table (its
    last committed batch); -1 while none is known to be (no batch committed yet, or partway
    through its first snapshot of bronze); None when there is no refine checkpoint at all."""
    planned, committed = batches(checkpoint, "refine", s3)
    if committed < 0:
        return None if planned < 0 else -1
    text = delta_rs.read_text(f"{query_checkpoint(checkpoint, 'refine')}/offsets/{committed}", s3)
    # Lines: "v1", the batch metadata, then one offset per source (refine has one: bronze).
    version = fully_read_version(json.loads(text.strip().splitlines()[-1]))
    return -1 if version is None else version


def refined_up_to(checkpoint: str, s3: S3Settings | None, bronze_version: int) -> bool:
    """Whether the refine query has processed bronze up to ``bronze_version`` (version 0 counts:
    not falsy here)."""
    refined = refined_bronze_version(checkpoint, s3)
    return refined is not None and refined >= bronze_version
