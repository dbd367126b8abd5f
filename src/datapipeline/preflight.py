"""Fail fast with one clear line when Kafka or S3 is unreachable, the bucket is missing or
the credentials are wrong — instead of a Spark stack trace minutes later."""

from __future__ import annotations

from datapipeline.lake.s3 import S3Settings


class PreflightError(RuntimeError):
    """A dependency of the job is not usable; the message names what and where."""


def check_kafka(bootstrap: str, topic: str | None = None, timeout_s: float = 8.0) -> None:
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap.split(","),
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
            consumer_timeout_ms=int(timeout_s * 1000),
        )
    except KafkaError as exc:
        raise PreflightError(f"Kafka not reachable at {bootstrap}: {type(exc).__name__}") from None
    try:
        topics = consumer.topics()
    except KafkaError as exc:
        raise PreflightError(f"Kafka at {bootstrap} did not answer: {type(exc).__name__}") from None
    finally:
        consumer.close()
    if topic is not None and topic not in topics:
        raise PreflightError(f"Kafka topic {topic!r} does not exist at {bootstrap}")


def check_s3(s3: S3Settings, bucket: str, timeout_s: float = 5.0) -> None:
    import urllib3
    from minio.error import S3Error

    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s), retries=urllib3.Retry(total=0)
    )
    client = s3.minio_client(http_client=http)
    try:
        exists = client.bucket_exists(bucket)
    except S3Error as exc:
        if exc.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
            raise PreflightError(
                f"S3 credentials rejected by {s3.endpoint} ({exc.code}): check DP_S3_ACCESS_KEY/DP_S3_SECRET_KEY"
            ) from None
        raise PreflightError(f"S3 error from {s3.endpoint} for bucket {bucket!r}: {exc.code}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise PreflightError(f"S3 endpoint {s3.endpoint} not reachable: {type(exc).__name__}") from None
    if not exists:
        raise PreflightError(f"S3 bucket {bucket!r} does not exist at {s3.endpoint}")
