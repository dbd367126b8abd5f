"""A local driver's S3 keys stay off the JVM's command line (which any local user reads in `ps`)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from datapipeline.spark.session import S3Settings, build_session
s3 = S3Settings("http://127.0.0.1:9", "the-access-key", "the-secret-key")
spark = build_session("secret-test", s3=s3, master="local[1]")
pid = spark._jvm.java.lang.ProcessHandle.current().pid()
hadoop = spark.sparkContext._jsc.hadoopConfiguration()
cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
print("endpoint on cmdline:", b"fs.s3a.endpoint=http://127.0.0.1:9" in cmdline)
print("keys on cmdline:", b"the-secret-key" in cmdline or b"the-access-key" in cmdline)
print("keys in hadoop conf:", hadoop.get("fs.s3a.access.key"), hadoop.get("fs.s3a.secret.key"))
spark.stop()
"""


def test_local_driver_gets_s3_keys_after_start_not_as_arguments():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert "endpoint on cmdline: True" in lines  # the check itself can see the arguments
    assert "keys on cmdline: False" in lines
    assert "keys in hadoop conf: the-access-key the-secret-key" in lines
