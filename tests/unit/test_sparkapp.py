"""One job spec, two launchers: the SparkApplication -> spark-submit translation."""

from __future__ import annotations

from pathlib import Path

import pytest

from datapipeline.orchestration import RuntimeConfigError, runtime
from datapipeline.sparkapp import SparkSpecError, load_spec, local_main_file, spark_submit_command, spec_path

APP = {
    "apiVersion": "sparkoperator.k8s.io/v1beta2",
    "kind": "SparkApplication",
    "metadata": {"name": "job"},
    "spec": {
        "type": "Python",
        "mainApplicationFile": "local:///opt/datapipeline/spark_apps/ingest.py",
        "arguments": ["--trigger", "availableNow"],
        "sparkConf": {"spark.sql.shuffle.partitions": "4"},
        "hadoopConf": {"fs.s3a.path.style.access": "true"},
        "driver": {
            "memory": "1g",
            "env": [
                {"name": "DP_TOPIC", "value": "orders.events"},
                {"name": "DP_KAFKA_BOOTSTRAP", "value": "kafka.cluster.local:9092"},
                {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "user"}}},
            ],
        },
    },
}


CONNECTORS = ["delta-spark_2.13-4.0.0.jar", "hadoop-aws-3.4.1.jar", "spark-sql-kafka-0-10_2.13-4.0.0.jar"]


@pytest.fixture
def jars(tmp_path: Path) -> Path:
    folder = tmp_path / "jars"
    folder.mkdir()
    # The connectors plus one artifact pyspark already ships (must not be passed again).
    for name in [*CONNECTORS, "scala-library-2.13.13.jar"]:
        (folder / name).write_bytes(b"")
    return folder


def test_translation(jars, tmp_path):
    environ = {"DP_KAFKA_BOOTSTRAP": "127.0.0.1:9092", "AWS_ACCESS_KEY_ID": "local-user"}
    submit = spark_submit_command(APP, environ=environ, project_root=tmp_path, jars_dir=jars, spark_submit="ss")
    argv = submit.argv
    assert argv[:5] == ["ss", "--master", "local[2]", "--name", "job"]
    assert argv[argv.index("--driver-memory") + 1] == "1g"
    assert "--jars" not in argv  # spark.jars would copy every jar per run (local master)
    [slf4j, *connectors] = argv[argv.index("--driver-class-path") + 1].split(":")
    assert connectors == [str(jars / name) for name in CONNECTORS]
    assert Path(slf4j).name.startswith("slf4j-api-2.") and Path(slf4j).is_file()  # before the SDK bundle's 1.7
    assert "spark.sql.shuffle.partitions=4" in argv and "spark.hadoop.fs.s3a.path.style.access=true" in argv
    assert argv[-3:] == [str(tmp_path / "spark_apps" / "ingest.py"), "--trigger", "availableNow"]
    # the launcher's environment wins over the manifest; secrets come from it
    assert submit.env["DP_KAFKA_BOOTSTRAP"] == "127.0.0.1:9092"
    assert submit.env["DP_TOPIC"] == "orders.events"
    assert submit.env["AWS_ACCESS_KEY_ID"] == "local-user"


def test_secret_without_local_value_is_a_clear_error(jars):
    with pytest.raises(SparkSpecError, match="driver env AWS_ACCESS_KEY_ID comes from a Kubernetes Secret"):
        spark_submit_command(APP, environ={}, jars_dir=jars)


def test_no_jars_is_a_clear_error(tmp_path):
    with pytest.raises(SparkSpecError, match=r"no connector jars .*run `task bootstrap`"):
        spark_submit_command(APP, environ={"AWS_ACCESS_KEY_ID": "x"}, jars_dir=tmp_path)


def test_main_file_outside_image_root_is_rejected(tmp_path):
    with pytest.raises(SparkSpecError, match="is not under /opt/datapipeline"):
        local_main_file("local:///elsewhere/job.py", tmp_path)


@pytest.mark.parametrize("job", ["ingest", "maintenance"])
def test_repo_specs_load_and_map_to_existing_files(job):
    app = load_spec(spec_path(job))
    main = local_main_file(app["spec"]["mainApplicationFile"], spec_path(job).parents[2])
    assert main.is_file(), main


def test_load_spec_rejects_wrong_kind(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(SparkSpecError, match="expected exactly one SparkApplication, found 0"):
        load_spec(path)


def test_runtime_switch():
    assert runtime({}) == "local"
    assert runtime({"DP_RUNTIME": "kubernetes"}) == "kubernetes"
    with pytest.raises(RuntimeConfigError, match="DP_RUNTIME='docker' is not a runtime"):
        runtime({"DP_RUNTIME": "docker"})
