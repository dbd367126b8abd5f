"""The local driver pyspark starts: S3 keys stay off the JVM's command line (which any local
user reads in `ps`) and out of its Spark conf (the driver reads them from its own environment),
and connector jars are read in place, not copied per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from datapipeline.sparkapp import IMAGE_APP_ROOT, spark_submit_command

pytestmark = pytest.mark.jvm  # starts Spark drivers (pyspark's and spark-submit's)

# What a driver's session sees of its connector jars: copies in its userFiles dir, loadable classes.
JARS_PROBE = """
from pathlib import Path
from pyspark import SparkFiles
spark.range(4).count()  # a task: local executors fetch spark.jars into userFiles when one starts
print("copied jars:", sorted(p.name for p in Path(SparkFiles.getRootDirectory()).glob("*.jar")))
for cls in ("io.delta.tables.DeltaTable", "org.apache.spark.sql.kafka010.KafkaSourceProvider",
            "org.apache.hadoop.fs.s3a.S3AFileSystem"):
    spark._jvm.java.lang.Class.forName(cls)
    print("loads:", cls)
spark.stop()
"""

SCRIPT = (
    """
import os
from datapipeline.lake.s3 import S3Settings
from datapipeline.spark.session import build_session
s3 = S3Settings("http://127.0.0.1:9", "the-access-key", "the-secret-key")
spark = build_session("secret-test", s3=s3, master="local[1]")
jvm = spark._jvm
pid = jvm.java.lang.ProcessHandle.current().pid()
hadoop = spark.sparkContext._jsc.hadoopConfiguration()
cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\\0")
print("endpoint on cmdline:", b"fs.s3a.endpoint=http://127.0.0.1:9" in cmdline)
print("keys on cmdline:", b"the-secret-key" in cmdline or b"the-access-key" in cmdline)
print("keys in spark conf:", any("the-" in v for _, v in spark.sparkContext.getConf().getAll()))
print("s3a credentials provider:", hadoop.get("fs.s3a.aws.credentials.provider"))
print("keys in driver environment:", sorted(e.decode() for e in environ if e.startswith(b"AWS_")))
print("keys left in python environment:", sorted(k for k in os.environ if k.startswith("AWS_")))
# What S3A itself resolves (the provider is instantiated; nothing is sent to the endpoint).
fs = jvm.org.apache.hadoop.fs.FileSystem.newInstance(jvm.java.net.URI("s3a://bucket/"), hadoop)
creds = fs.shareCredentials("test").resolveCredentials()
print("s3a credentials:", creds.accessKeyId(), creds.secretAccessKey())
fs.close()
"""
    + JARS_PROBE
    + """
# A second session of this process, other keys: its JVM is already running with the first keys
# in its environment, so the new keys go into the live Hadoop conf (still on no command line).
other = S3Settings("http://127.0.0.1:9", "other-access-key", "other-secret-key")
spark = build_session("secret-test-2", s3=other, master="local[1]")
hadoop = spark.sparkContext._jsc.hadoopConfiguration()
fs = jvm.org.apache.hadoop.fs.FileSystem.newInstance(jvm.java.net.URI("s3a://bucket/"), hadoop)
creds = fs.shareCredentials("test").resolveCredentials()
print("second session s3a credentials:", creds.accessKeyId(), creds.secretAccessKey())
print("second session keys in spark conf:", any("other-" in v for _, v in spark.sparkContext.getConf().getAll()))
spark.stop()
"""
)
LOADED = [
    "loads: io.delta.tables.DeltaTable",
    "loads: org.apache.spark.sql.kafka010.KafkaSourceProvider",
    "loads: org.apache.hadoop.fs.s3a.S3AFileSystem",
]


# The environment the tests run the probes in: no AWS_* of the caller's.
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


@pytest.fixture(scope="module")
def lines() -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=CLEAN_ENV)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.splitlines()


def test_local_driver_reads_s3_keys_from_its_environment_not_arguments_or_conf(lines: list[str]):
    assert "endpoint on cmdline: True" in lines  # the check itself can see the arguments
    assert "keys on cmdline: False" in lines
    assert "keys in spark conf: False" in lines
    # (Spark copies AWS_* of the driver's environment into its in-memory Hadoop conf; S3A reads
    # them through the environment provider.)
    provider = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
    assert f"s3a credentials provider: {provider}" in lines
    assert (
        "keys in driver environment: ['AWS_ACCESS_KEY_ID=the-access-key', 'AWS_SECRET_ACCESS_KEY=the-secret-key']"
        in lines
    )
    assert "keys left in python environment: []" in lines  # set for the JVM's launch only
    assert "s3a credentials: the-access-key the-secret-key" in lines


def test_a_second_session_with_other_keys_uses_them(lines: list[str]):
    assert "second session s3a credentials: other-access-key other-secret-key" in lines
    assert "second session keys in spark conf: False" in lines


def test_local_driver_reads_connector_jars_in_place(lines: list[str]):
    # As spark.jars they were copied into a spark-* temp dir per session (550 MB), and every
    # killed driver left its copy behind: the fault tests filled the disk of a CI machine.
    assert "copied jars: []" in lines
    assert [line for line in lines if line.startswith("loads: ")] == LOADED


def test_local_spark_submit_reads_connector_jars_in_place(tmp_path: Path):
    """The SparkApplication → local spark-submit translation, run for real: build_session keeps
    spark-submit's master and sees the connectors on the driver's classpath, adding no spark.jars
    copy of its own."""
    (tmp_path / "probe.py").write_text(
        "from datapipeline.spark.session import build_session\nspark = build_session('probe')\n"
        "print('master:', spark.sparkContext.master)\n" + JARS_PROBE
    )
    app = {"metadata": {"name": "probe"}, "spec": {"mainApplicationFile": f"local://{IMAGE_APP_ROOT}/probe.py"}}
    submit = spark_submit_command(app, environ=os.environ, project_root=tmp_path, master="local[1]")
    out = subprocess.run(
        submit.argv, env={**os.environ, **submit.env}, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert "master: local[1]" in lines  # spark-submit's --master, not build_session's local[*]
    assert "copied jars: []" in lines
    assert [line for line in lines if line.startswith("loads: ")] == LOADED
