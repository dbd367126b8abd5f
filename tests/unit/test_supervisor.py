"""The streaming supervisor's policy and the continuous variant of the ingest spec."""

from __future__ import annotations

import pytest

from datapipeline.ingest.config import from_args
from datapipeline.lake.layout import QUERIES
from datapipeline.sparkapp import load_spec, spec_path
from datapipeline.supervisor import REFINE_CORE_REQUEST, STREAM_APPS, decide, stream_manifest

ENV = {"DP_KAFKA_BOOTSTRAP": "127.0.0.1:9092", "DP_LAKE_ROOT": "/tmp/lake"}


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


@pytest.mark.parametrize("query", ["bronze", "refine"])
def test_stream_manifest_is_ingest_with_processing_time_trigger_and_one_query(query):
    batch = load_spec(spec_path("ingest"))
    stream = stream_manifest(batch, query)
    assert stream["metadata"]["name"] == f"ingest-stream-{query}" == STREAM_APPS[query]
    args = stream["spec"]["arguments"]
    assert args.count("--trigger") == 1 and args.count("--queries") == 1
    assert args[args.index("--trigger") + 1] == "processingTime"
    assert args[args.index("--queries") + 1] == query
    assert from_args(args, ENV).queries == (query,)  # the job reads them as meant
    assert batch["metadata"]["name"] == "ingest"  # the original is untouched
    assert stream["spec"]["mainApplicationFile"] == batch["spec"]["mainApplicationFile"]


def test_refine_gets_a_smaller_cpu_share_than_bronze_on_kubernetes():
    # The counterpart of `nice` locally: under contention a pod's CPU weight follows its request.
    batch = load_spec(spec_path("ingest"))
    bronze, refine = stream_manifest(batch, "bronze"), stream_manifest(batch, "refine")
    for role in ("driver", "executor"):
        assert bronze["spec"][role]["coreRequest"] == batch["spec"][role]["coreRequest"] == "250m"
        assert refine["spec"][role]["coreRequest"] == REFINE_CORE_REQUEST == "50m"
        assert refine["spec"][role]["cores"] == bronze["spec"][role]["cores"]  # no cap: idle CPU is used
        assert "coreLimit" not in refine["spec"][role]
    assert batch["spec"]["driver"]["coreRequest"] == "250m"  # the original is untouched


def test_stream_apps_cover_the_jobs_queries():
    assert tuple(STREAM_APPS) == QUERIES
    with pytest.raises(ValueError, match="unknown query 'silver'"):
        stream_manifest(load_spec(spec_path("ingest")), "silver")
