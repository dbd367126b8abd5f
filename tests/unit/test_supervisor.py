"""The streaming supervisor's policy and the continuous variant of the ingest spec."""

from __future__ import annotations

import pytest

from datapipeline.sparkapp import load_spec, spec_path
from datapipeline.supervisor import decide, stream_manifest


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (None, "submit"),
        ("RUNNING", "keep"),
        ("SUBMITTED", "keep"),
        ("", "keep"),
        ("FAILED", "resubmit"),
        ("SUBMISSION_FAILED", "resubmit"),
        ("COMPLETED", "resubmit"),
        ("SOMETHING_NEW", "resubmit"),
    ],
)
def test_decide(state, action):
    assert decide(state).action == action


def test_stream_manifest_is_ingest_with_processing_time_trigger():
    batch = load_spec(spec_path("ingest"))
    stream = stream_manifest(batch)
    assert stream["metadata"]["name"] == "ingest-stream"
    args = stream["spec"]["arguments"]
    assert args.count("--trigger") == 1
    assert args[args.index("--trigger") + 1] == "processingTime"
    assert batch["metadata"]["name"] == "ingest"  # the original is untouched
    assert stream["spec"]["mainApplicationFile"] == batch["spec"]["mainApplicationFile"]
