"""Ingest configuration from arguments and environment; connector jar selection."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest

from datapipeline.ingest.config import IngestConfig, from_args, to_args
from datapipeline.lake.layout import QUERIES
from datapipeline.lake.s3 import S3Settings
from datapipeline.settings import ConfigError
from datapipeline.spark.session import artifact_name, connector_jars, select_jars

ENV = {
    "DP_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "DP_LAKE_ROOT": "s3a://lake/orders",
    "DP_S3_ENDPOINT": "http://127.0.0.1:9000",
    "DP_S3_ACCESS_KEY": "user-from-env",
    "DP_S3_SECRET_KEY": "secret-from-env",
}


def test_defaults_and_locations_come_from_env():
    cfg = from_args([], ENV)
    assert cfg.kafka_bootstrap == "127.0.0.1:9092" and cfg.topic == "orders.events"
    assert cfg.trigger == "availableNow" and cfg.starting_offsets == "earliest"
    assert cfg.tables["bronze"] == "s3a://lake/orders/bronze/order_events_raw"
    assert cfg.checkpoint == "s3a://lake/orders/_checkpoints/ingest"
    assert [cfg.query_checkpoint(q) for q in ("bronze", "refine")] == [
        "s3a://lake/orders/_checkpoints/ingest/bronze",
        "s3a://lake/orders/_checkpoints/ingest/refine",
    ]
    assert cfg.refine_max_files_per_trigger is None
    assert cfg.refine_max_bytes_per_trigger == "32m"  # bounded: a refine that fell behind must not run out of heap
    assert cfg.s3.access_key == "user-from-env" and cfg.s3.region == "us-east-1"
    assert cfg.app_id == "ingest:orders.events"


def test_arguments_win_over_env():
    cfg = from_args(
        [
            "--topic",
            "t",
            "--trigger",
            "processingTime",
            "--processing-time",
            "5 seconds",
            "--max-offsets-per-trigger",
            "100",
            "--starting-offsets",
            "latest",
            "--checkpoint",
            "s3a://lake/cp/",
            "--refine-max-files-per-trigger",
            "6",
            "--refine-max-bytes-per-trigger",
            "1G",
        ],
        ENV | {"DP_REFINE_MAX_FILES_PER_TRIGGER": "9"},
    )
    assert (cfg.topic, cfg.trigger, cfg.processing_time) == ("t", "processingTime", "5 seconds")
    assert (cfg.max_offsets_per_trigger, cfg.starting_offsets, cfg.checkpoint) == (100, "latest", "s3a://lake/cp/")
    assert (cfg.refine_max_files_per_trigger, cfg.query_checkpoint("refine")) == (6, "s3a://lake/cp/refine")
    assert cfg.refine_max_bytes_per_trigger == "1g"
    assert from_args([], ENV | {"DP_REFINE_MAX_BYTES_PER_TRIGGER": "0"}).refine_max_bytes_per_trigger is None


def test_platform_env_names_are_understood():
    env = {k: v for k, v in ENV.items() if k not in ("DP_LAKE_ROOT", "DP_S3_ACCESS_KEY", "DP_S3_SECRET_KEY")}
    env |= {"DP_LAKE_BUCKET": "lake", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "eu-1"}
    cfg = from_args([], env)
    assert cfg.lake.root == "s3a://lake/orders"
    assert (cfg.s3.access_key, cfg.s3.secret_key, cfg.s3.region) == ("a", "b", "eu-1")


@pytest.mark.parametrize(
    ("drop", "extra", "message"),
    [
        ("DP_KAFKA_BOOTSTRAP", {}, "DP_KAFKA_BOOTSTRAP"),
        ("DP_S3_SECRET_KEY", {}, "DP_S3_SECRET_KEY"),
        ("DP_S3_ENDPOINT", {}, "DP_S3_ENDPOINT"),
        (None, {"DP_S3_ENDPOINT": "127.0.0.1:9000"}, "needs a scheme"),
        (None, {"DP_LAKE_ROOT": "s3://lake/x"}, "s3a://"),
        (None, {"DP_MAX_OFFSETS_PER_TRIGGER": "many"}, "not an integer"),
        (None, {"DP_REFINE_MAX_FILES_PER_TRIGGER": "0"}, "--refine-max-files-per-trigger must be > 0"),
        (None, {"DP_REFINE_MAX_BYTES_PER_TRIGGER": "32 MB"}, r"'32 MB': give a size such as 32m \(k, m, g\), or 0"),
    ],
)
def test_bad_settings_give_one_clear_error(drop, extra, message):
    env = {k: v for k, v in ENV.items() if k != drop} | extra
    with pytest.raises(ConfigError, match=message):
        from_args([], env)


def test_local_lake_needs_no_s3_and_secrets_never_show_in_repr():
    env = {"DP_KAFKA_BOOTSTRAP": "k:1", "DP_LAKE_ROOT": "/tmp/lake"}
    assert from_args([], env).s3 is None
    cfg = from_args([], ENV)
    assert "secret-from-env" not in repr(cfg) and "secret-from-env" not in repr(cfg.s3)


def test_s3a_settings_for_minio():
    conf = S3Settings("http://127.0.0.1:9000", "a", "b", region="r").hadoop_conf()
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "r"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith("SimpleAWSCredentialsProvider")
    assert (conf["spark.hadoop.fs.s3a.access.key"], conf["spark.hadoop.fs.s3a.secret.key"]) == ("a", "b")


def test_s3a_settings_with_keys_from_the_environment_hold_no_key():
    s3 = S3Settings("http://127.0.0.1:9000", "the-access-key", "the-secret-key")
    conf = s3.hadoop_conf(keys_from_env=True)
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"] == (
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
    )
    assert not any("the-" in value for value in conf.values())
    assert s3.credentials_env() == {"AWS_ACCESS_KEY_ID": "the-access-key", "AWS_SECRET_ACCESS_KEY": "the-secret-key"}


def test_jar_selection_skips_what_pyspark_ships():
    available = [
        "delta-spark_2.13-4.0.0.jar",
        "delta-storage-4.0.0.jar",
        "spark-sql-kafka-0-10_2.13-4.0.0.jar",
        "hadoop-aws-3.4.1.jar",
        "bundle-2.24.6.jar",
        "scala-library-2.13.13.jar",
        "hadoop-client-api-3.4.1.jar",
        "kafka-clients-3.9.0.jar",
        "README.txt",
    ]
    shipped = ["scala-library-2.13.16.jar", "hadoop-client-api-3.4.1.jar", "spark-core_2.13-4.0.0.jar"]
    assert select_jars(available, shipped) == [
        "bundle-2.24.6.jar",
        "delta-spark_2.13-4.0.0.jar",
        "delta-storage-4.0.0.jar",
        "hadoop-aws-3.4.1.jar",
        "kafka-clients-3.9.0.jar",
        "spark-sql-kafka-0-10_2.13-4.0.0.jar",
    ]
    assert artifact_name("wildfly-openssl-1.1.3.Final.jar") == "wildfly-openssl"
    with pytest.raises(FileNotFoundError, match="hadoop-aws"):
        select_jars(["delta-spark_2.13-4.0.0.jar", "spark-sql-kafka-0-10_2.13-4.0.0.jar"], [])


def test_no_jars_added_when_spark_home_ships_the_connectors(tmp_path, monkeypatch):
    home = tmp_path / "spark"
    (home / "jars").mkdir(parents=True)
    for name in ("delta-spark_2.13-4.0.0.jar", "spark-sql-kafka-0-10_2.13-4.0.0.jar", "hadoop-aws-3.4.1.jar"):
        (home / "jars" / name).touch()
    monkeypatch.setenv("SPARK_HOME", str(home))
    assert connector_jars(tmp_path / "does-not-exist") == []
    (home / "jars" / "hadoop-aws-3.4.1.jar").unlink()
    with pytest.raises(FileNotFoundError, match="task bootstrap"):
        connector_jars(tmp_path / "does-not-exist")


def test_queries_default_to_both_and_name_one_driver_of_two():
    assert from_args([], ENV).queries == QUERIES == ("bronze", "refine")
    assert from_args(["--queries", "refine"], ENV).queries == ("refine",)
    assert from_args(["--queries", " refine, bronze "], ENV).queries == ("bronze", "refine")  # job order
    assert from_args([], {**ENV, "DP_QUERIES": "bronze"}).queries == ("bronze",)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("silver", "--queries 'silver': unknown query 'silver'; use bronze, refine or bronze,refine"),
        (",", "--queries ',': no query given; use bronze, refine or bronze,refine"),
    ],
)
def test_bad_queries_are_one_line(raw, message):
    with pytest.raises(ConfigError) as err:
        from_args(["--queries", raw], ENV)
    assert str(err.value) == message


def test_to_args_is_the_inverse_of_from_args():
    """Every field set away from its default survives from_args(to_args(cfg)); the S3 keys stay in the
    environment."""
    keys_only = {"DP_S3_ACCESS_KEY": "user-from-env", "DP_S3_SECRET_KEY": "secret-from-env"}
    base = from_args([], ENV)
    changed = replace(
        base,
        topic="t2",
        checkpoint="s3a://lake/cp",
        s3=S3Settings("http://minio:9000", "user-from-env", "secret-from-env", region="eu-west-1"),
        trigger="processingTime",
        queries=("refine",),
        processing_time="5 seconds",
        max_offsets_per_trigger=100,
        refine_max_files_per_trigger=6,
        refine_max_bytes_per_trigger=None,
        starting_offsets="latest",
        fail_on_data_loss=False,
        app_id="ingest:other",
        jars_dir=Path("/opt/jars"),
        master="local[2]",
        preflight=False,
    )
    unchanged = [f.name for f in fields(IngestConfig) if getattr(changed, f.name) == getattr(base, f.name)]
    assert unchanged == ["kafka_bootstrap", "lake"]  # a new field must be varied here (and in to_args)
    for cfg in (base, changed):
        args = to_args(cfg)
        assert from_args(args, keys_only) == cfg
        assert not any("secret" in a for a in args)
