"""The job's two continuous queries fail together: when refine fails, bronze is stopped too and
the failure is raised to the driver (which then exits 1, and the supervisor resubmits it), so a
half-running job never keeps filling bronze while silver silently stands still."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyspark.errors import StreamingQueryException

from datapipeline.events.generator import generate
from datapipeline.ingest.job import run
from datapipeline.lake.layout import Lake
from datapipeline.producer import produce

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_a_failing_refine_query_stops_bronze_and_raises(lake, lake_spark, tmp_path):
    local = Lake(str(tmp_path / "lake"))  # a local lake, so the test can break a table under it
    cfg = lake.config(lake=local, checkpoint=local.checkpoint(), trigger="processingTime", processing_time="1 second")
    pipeline = run(lake_spark, cfg)
    bootstrap = lake.platform.kafka_bootstrap
    try:
        assert produce(generate(50, seed=5), bootstrap, lake.topic).delivered == 50
        pipeline.processAllAvailable()  # both queries healthy: 50 records in bronze and refined
        assert lake_spark.read.format("delta").load(local.table("silver_events")).count() > 0
        shutil.rmtree(Path(local.table("silver_events")))  # refine's next batch cannot read silver
        assert produce(generate(50, seed=6), bootstrap, lake.topic).delivered == 50
        with pytest.raises(StreamingQueryException, match="silver/order_events"):
            pipeline.awaitTermination()
        assert not pipeline.isActive
        assert pipeline.bronze.exception() is None and pipeline.refine.exception() is not None
        assert lake_spark.read.format("delta").load(local.table("bronze")).count() >= 50
    finally:
        pipeline.stop()
