"""Where the job's queries are, read from checkpoint files (local folders here; the same code reads
MinIO in the fault tests and the data_quality DAG)."""

from __future__ import annotations

import json

import pytest

from datapipeline.lake.checkpoints import batches, fully_read_version, refined_bronze_version, refined_up_to


def write_batch(folder, batch: int, offset: dict | None, committed: bool) -> None:
    (folder / "offsets").mkdir(parents=True, exist_ok=True)
    (folder / "commits").mkdir(parents=True, exist_ok=True)
    meta = {"batchWatermarkMs": 0, "batchTimestampMs": 0, "conf": {}}
    lines = ["v1", json.dumps(meta), json.dumps(offset or {})]
    (folder / "offsets" / str(batch)).write_text("\n".join(lines))
    if committed:
        (folder / "commits" / str(batch)).write_text('v1\n{"nextBatchWatermarkMs":0}')


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        ({"reservoirVersion": 7, "index": -1, "isStartingVersion": False}, 6),  # version 6 read to its end
        ({"reservoirVersion": 7, "index": 3, "isStartingVersion": False}, 6),  # partway through version 7
        ({"reservoirVersion": 1, "index": -1, "isStartingVersion": False}, 0),
        ({"reservoirVersion": 7, "index": 3, "isStartingVersion": True}, None),  # first snapshot, partway
    ],
)
def test_fully_read_bronze_version_from_a_refine_offset(offset, expected):
    assert fully_read_version(offset) == expected


def test_refined_version_comes_from_the_last_committed_batch(tmp_path):
    cp = tmp_path / "ingest"
    assert refined_bronze_version(str(cp), None) is None  # no refine checkpoint: not known
    write_batch(cp / "refine", 0, {"reservoirVersion": 4, "index": 2, "isStartingVersion": True}, committed=False)
    assert refined_bronze_version(str(cp), None) == -1  # planned, nothing committed: nothing refined
    write_batch(cp / "refine", 0, {"reservoirVersion": 4, "index": 2, "isStartingVersion": True}, committed=True)
    assert refined_bronze_version(str(cp), None) == -1  # partway through the first snapshot
    write_batch(cp / "refine", 1, {"reservoirVersion": 5, "index": -1, "isStartingVersion": False}, committed=True)
    write_batch(cp / "refine", 2, {"reservoirVersion": 9, "index": -1, "isStartingVersion": False}, committed=False)
    assert batches(str(cp), "refine", None) == (2, 1)
    assert refined_bronze_version(str(cp), None) == 4  # batch 1's offset, not the planned batch 2's


def test_refined_up_to_counts_version_zero(tmp_path):
    cp = tmp_path / "ingest"
    assert not refined_up_to(str(cp), None, 0)  # no refine checkpoint
    write_batch(cp / "refine", 0, {"reservoirVersion": 1, "index": -1, "isStartingVersion": False}, committed=True)
    assert refined_bronze_version(str(cp), None) == 0
    assert refined_up_to(str(cp), None, 0) and not refined_up_to(str(cp), None, 1)
