"""The Spark conf every job's session gets (local drivers and SparkApplications alike)."""

from __future__ import annotations

from datapipeline.spark.session import session_conf


def test_a_starved_driver_is_slow_not_failed():
    # Spark's default broadcast timeout (300 s) ended the refine driver of two soaks at nice 19.
    assert int(session_conf([])["spark.sql.broadcastTimeout"]) >= 3600
    # a caller's --conf still decides
    assert session_conf([], extra={"spark.sql.broadcastTimeout": "600"})["spark.sql.broadcastTimeout"] == "600"
