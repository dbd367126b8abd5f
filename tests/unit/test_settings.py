"""The environment contract (datapipeline.settings): one table of defaults, one lake-root rule,
read the same way by the job, the lake tools and the DAGs."""

from __future__ import annotations

import pytest

from datapipeline import settings
from datapipeline.ingest.config import from_args
from datapipeline.lake.cli import lake_from_env
from datapipeline.orchestration import RuntimeConfigError, lake_asset

KEYS = {"DP_S3_ENDPOINT": "http://127.0.0.1:9000", "DP_S3_ACCESS_KEY": "a", "DP_S3_SECRET_KEY": "b"}


@pytest.mark.parametrize(
    ("env", "root"),
    [
        ({"DP_LAKE_ROOT": "/tmp/lake", "DP_LAKE_BUCKET": "b"}, "/tmp/lake"),
        ({"DP_LAKE_BUCKET": "b"}, "s3a://b/orders"),
        ({"DP_LAKE_ROOT": "", "DP_LAKE_BUCKET": "b"}, "s3a://b/orders"),
        ({}, None),
    ],
)
def test_every_reader_derives_the_same_lake_root(env, root):
    assert settings.lake_root(env) == root
    if root is None:
        return
    assert from_args([], {"DP_KAFKA_BOOTSTRAP": "k:9092", **KEYS, **env}).lake.root == root
    assert lake_from_env({**KEYS, **env})[0].root == root


def test_dags_refuse_a_missing_lake_root(monkeypatch):
    monkeypatch.delenv("DP_LAKE_ROOT", raising=False)
    monkeypatch.delenv("DP_LAKE_BUCKET", raising=False)
    with pytest.raises(RuntimeConfigError, match="DP_LAKE_ROOT"):
        lake_asset()
    monkeypatch.setenv("DP_LAKE_BUCKET", "b")
    assert lake_asset().uri == "s3://b/orders"


def test_defaults_come_from_one_table():
    assert settings.get("DP_SPARK_NAMESPACE", {}) == "spark-jobs"  # the namespace the chart creates
    assert settings.get("DP_TOPIC", {"DP_TOPIC": "t"}) == "t"
    assert from_args([], {"DP_KAFKA_BOOTSTRAP": "k:9092", "DP_LAKE_ROOT": "/l"}).topic == settings.DEFAULTS["DP_TOPIC"]
    assert settings.s3_region({"AWS_REGION": "eu-west-1"}) == "eu-west-1"
    assert settings.s3_region({"DP_S3_REGION": "x", "AWS_REGION": "eu-west-1"}) == "x"
    assert all(line.split()[0] in settings.DEFAULTS for line in settings.table().splitlines())
