"""Create the pipeline's Kafka topics and S3 buckets where they are missing (idempotent).

The datapipeline chart runs this as a post-install/post-upgrade Job in the Spark image when Kafka or S3
is external (``kafka.mode=external``, ``s3.mode=external``): with Strimzi and the MinIO operator the
KafkaTopics and the Tenant do the same. Usage::

    python -m datapipeline.k8s_init --timeout 300 \\
        --kafka-bootstrap kafka.datapipeline.svc.cluster.local:9092 \\
        --topics '[{"name": "orders.events", "partitions": 3, "config": {"retention.ms": "604800000"}}]' \\
        --s3-endpoint http://minio.datapipeline.svc.cluster.local:9000 --s3-credentials-dir /credentials \\
        --bucket lake --bucket airflow-logs

Existing topics and buckets are left as they are; a topic with fewer partitions than asked is reported,
not changed. New topics get replication factor min(3, brokers) unless ``--replication-factor`` says
otherwise. Exit 0 when every topic and bucket exists at the end, 1 when Kafka or S3 never answered or
refused, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from datapipeline.lake.s3 import S3Settings

T = TypeVar("T")


class InitError(RuntimeError):
    """Kafka or S3 did not answer in time or refused a request; the message says which and why."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


class KafkaAdmin(Protocol):  # the part of kafka.KafkaAdminClient used here
    def list_topics(self) -> list[str]: ...
    def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]: ...
    def describe_cluster(self) -> dict[str, Any]: ...
    def create_topics(self, new_topics: dict[str, dict[str, Any]]) -> Any: ...


class BucketClient(Protocol):  # the part of minio.Minio used here
    def bucket_exists(self, bucket_name: str) -> bool: ...
    def make_bucket(self, bucket_name: str) -> None: ...


def parse_topics(text: str) -> list[TopicSpec]:
    """The chart's ``kafka.topics`` as JSON: ``[{"name": …, "partitions": …, "config": {…}}]``."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--topics is not JSON: {exc}") from None
    if not isinstance(items, list):
        raise ValueError("--topics must be a JSON list of {name, partitions, config}")
    topics = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ValueError(f"--topics: every topic needs a name: {item!r}")
        partitions = item.get("partitions", 1)
        if not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1:
            raise ValueError(f"--topics: {item['name']}: partitions must be a positive integer, got {partitions!r}")
        config = item.get("config")
        config = {} if config is None else config
        if not isinstance(config, dict):
            raise ValueError(f"--topics: {item['name']}: config must be a mapping")
        topics.append(TopicSpec(item["name"], partitions, {str(k): str(v) for k, v in config.items()}))
    names = [t.name for t in topics]
    if len(set(names)) != len(names):
        raise ValueError(f"--topics: a topic is listed twice: {names}")
    return topics


def replication_factor(brokers: int, wanted: int | None = None) -> int:
    """``wanted`` if given (at most ``brokers``), else min(3, brokers) as the Strimzi path does."""
    if brokers < 1:
        raise InitError("Kafka reports no brokers")
    if wanted is None:
        return min(3, brokers)
    if wanted > brokers:
        raise InitError(f"replication factor {wanted} needs {wanted} brokers; the cluster has {brokers}")
    return wanted


def ensure_topics(admin: KafkaAdmin, topics: Sequence[TopicSpec], replication: int | None = None) -> list[str]:
    """Create the missing ``topics``; one line per topic (in the order given) saying what was done."""
    from kafka.errors import TopicAlreadyExistsError

    existing = set(admin.list_topics())
    done: dict[str, str] = {}
    missing = [t for t in topics if t.name not in existing]
    if missing:
        rf = replication_factor(len(admin.describe_cluster().get("brokers") or []), replication)
        for t in missing:
            try:
                admin.create_topics(
                    {t.name: {"num_partitions": t.partitions, "replication_factor": rf, "configs": t.config}}
                )
                done[t.name] = f"created ({t.partitions} partitions, replication {rf})"
            except TopicAlreadyExistsError:  # created meanwhile by someone else
                done[t.name] = "exists"
    present = [t for t in topics if t.name in existing]
    if present:
        have = {d.get("name"): len(d.get("partitions") or []) for d in admin.describe_topics([t.name for t in present])}
        for t in present:
            n = have.get(t.name)
            short = n is not None and n < t.partitions
            done[t.name] = f"exists with {n} partitions (asked {t.partitions}; not changed)" if short else "exists"
    return [f"topic {t.name}: {done[t.name]}" for t in topics]


CREDENTIAL_ERRORS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")


def ensure_buckets(client: BucketClient, buckets: Iterable[str]) -> list[str]:
    """Create the missing ``buckets``; one line per bucket saying what was done."""
    from minio.error import S3Error

    report = []
    for bucket in buckets:
        try:
            if client.bucket_exists(bucket):
                report.append(f"bucket {bucket}: exists")
                continue
            client.make_bucket(bucket)
            report.append(f"bucket {bucket}: created")
        except S3Error as exc:
            if exc.code == "BucketAlreadyOwnedByYou":  # created meanwhile by us: fine
                report.append(f"bucket {bucket}: exists")
            elif exc.code in CREDENTIAL_ERRORS:
                raise InitError(
                    f"S3 refused the keys ({exc.code}) for bucket {bucket}: check s3.existingSecret"
                ) from None
            elif exc.code == "BucketAlreadyExists":
                raise InitError(f"bucket {bucket} belongs to another account: choose another name") from None
            else:
                raise
    return report


def retry(
    what: str,
    fn: Callable[[], T],
    timeout: float,
    *,
    interval: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> T:
    """``fn()`` until it returns, for at most ``timeout`` seconds (the services may still be starting)."""
    deadline = clock() + timeout
    while True:
        try:
            return fn()
        except InitError:
            raise
        except Exception as exc:
            if clock() + interval > deadline:
                raise InitError(f"{what} did not answer within {timeout:.0f}s: {type(exc).__name__}: {exc}") from None
            log(f"waiting for {what}: {type(exc).__name__}")
            sleep(interval)


def read_credentials(directory: Path) -> tuple[str, str]:
    """The S3 keys from the files ``accessKey`` and ``secretKey`` (a mounted Secret)."""
    keys = []
    for name in ("accessKey", "secretKey"):
        path = directory / name
        if not path.is_file():
            raise ValueError(f"--s3-credentials-dir: no {path} (mount a Secret with accessKey and secretKey)")
        keys.append(path.read_text().strip())
    return keys[0], keys[1]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m datapipeline.k8s_init",
        description="Create the missing Kafka topics and S3 buckets of the pipeline (the chart's init Job).",
    )
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for Kafka and S3 (default 300)")
    k = p.add_argument_group("Kafka")
    k.add_argument("--kafka-bootstrap", help="host:port[,host:port]")
    k.add_argument("--topics", default="[]", help='JSON list: [{"name": …, "partitions": …, "config": {…}}]')
    k.add_argument("--replication-factor", type=int, default=None, help="of new topics (default min(3, brokers))")
    s = p.add_argument_group("S3")
    s.add_argument("--s3-endpoint", help="URL with scheme, e.g. http://minio.datapipeline.svc.cluster.local:9000")
    s.add_argument("--s3-region", default="us-east-1", help="(default us-east-1)")
    s.add_argument("--s3-credentials-dir", type=Path, help="folder with the files accessKey and secretKey")
    s.add_argument("--bucket", action="append", default=[], help="a bucket to create (repeatable)")
    return p


def kafka_admin(bootstrap: str) -> KafkaAdmin:
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=15_000)


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    try:
        topics = parse_topics(args.topics)
        if topics and not args.kafka_bootstrap:
            raise ValueError("--topics needs --kafka-bootstrap")
        if args.bucket and not (args.s3_endpoint and args.s3_credentials_dir):
            raise ValueError("--bucket needs --s3-endpoint and --s3-credentials-dir")
        if args.s3_endpoint and "://" not in args.s3_endpoint:
            raise ValueError(f"--s3-endpoint {args.s3_endpoint!r} needs a scheme (http:// or https://)")
        keys = read_credentials(args.s3_credentials_dir) if args.bucket else None
    except ValueError as exc:
        p.print_usage(sys.stderr)
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    if not topics and not args.bucket:
        print("nothing to do: no --topics and no --bucket")
        return 0
    try:
        if topics:
            admin = retry(f"Kafka at {args.kafka_bootstrap}", lambda: kafka_admin(args.kafka_bootstrap), args.timeout)
            try:
                for line in retry("Kafka", lambda: ensure_topics(admin, topics, args.replication_factor), args.timeout):
                    print(line)
            finally:
                admin.close()
        if keys:
            s3 = S3Settings(endpoint=args.s3_endpoint, access_key=keys[0], secret_key=keys[1], region=args.s3_region)
            client = s3.minio_client()
            for line in retry(f"S3 at {args.s3_endpoint}", lambda: ensure_buckets(client, args.bucket), args.timeout):
                print(line)
    except InitError as exc:
        print(f"k8s_init: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
