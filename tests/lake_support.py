"""Lake fixtures (registered in tests/conftest.py): the suite's SparkSession pointed at the
platform's MinIO, and a fresh lake prefix + topic per test on the shared platform."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from datapipeline.ingest.config import IngestConfig
from datapipeline.lake.layout import Lake
from datapipeline.lake.s3 import S3Settings
from spark_support import use_s3


@dataclass
class LakeUnderTest:
    """One test's topic and lake prefix on the shared platform."""

    platform: object
    topic: str
    lake: Lake
    s3: S3Settings

    def config(self, **overrides) -> IngestConfig:
        base = {
            "kafka_bootstrap": self.platform.kafka_bootstrap,
            "topic": self.topic,
            "lake": self.lake,
            "checkpoint": self.lake.checkpoint(),
            "s3": self.s3,
            "app_id": f"ingest:{self.topic}",
            "trigger": "availableNow",
        }
        base.update(overrides)
        return IngestConfig(**base)

    def env(self) -> dict[str, str]:
        """Environment for ``spark_apps/*.py`` subprocesses (credentials only via env)."""
        return {
            "DP_KAFKA_BOOTSTRAP": self.platform.kafka_bootstrap,
            "DP_TOPIC": self.topic,
            "DP_LAKE_ROOT": self.lake.root,
            "DP_S3_ENDPOINT": self.s3.endpoint,
            "DP_S3_ACCESS_KEY": self.s3.access_key,
            "DP_S3_SECRET_KEY": self.s3.secret_key,
        }


@pytest.fixture(scope="session")
def s3(platform) -> S3Settings:
    return S3Settings(
        endpoint=platform.s3_endpoint, access_key=platform.s3_access_key, secret_key=platform.s3_secret_key
    )


@pytest.fixture(scope="session")
def lake_spark(spark, s3):
    use_s3(spark, s3)
    return spark


@pytest.fixture
def lake(platform, s3) -> LakeUnderTest:
    name = f"t{uuid.uuid4().hex[:10]}"
    topic = f"orders.{name}"
    platform.create_topic(topic, partitions=3)
    return LakeUnderTest(platform=platform, topic=topic, lake=Lake(f"s3a://{platform.lake_bucket}/{name}"), s3=s3)
