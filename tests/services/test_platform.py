"""The real local services: health, Kafka round trip, MinIO objects, PostgreSQL as Airflow."""

from __future__ import annotations

import io
import uuid

import psycopg2
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from datapipeline.local.config import AIRFLOW_DB, AIRFLOW_ROLE, BUCKETS
from datapipeline.local.platform import CORE

pytestmark = pytest.mark.services

N_MESSAGES = 10_000


def test_all_services_healthy(platform):
    rows = {row.name: row for row in platform.status() if row.name in CORE}
    assert list(rows) == ["zookeeper", "kafka", "minio", "postgres"]
    for row in rows.values():
        assert row.state == "healthy", row
        assert row.pid is not None and row.rss_bytes and row.rss_bytes > 0
        assert row.log_file.is_file() and row.log_file.is_relative_to(platform.cfg.root)
    assert len({row.pid for row in rows.values()}) == 4
    assert rows["kafka"].address == platform.kafka_bootstrap


def test_kafka_round_trip_keys_headers(platform):
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    assert platform.create_topic(topic, partitions=3) is True
    assert platform.create_topic(topic, partitions=3) is False  # idempotent

    producer = KafkaProducer(bootstrap_servers=platform.kafka_bootstrap, acks="all", linger_ms=5)
    futures = [
        producer.send(
            topic,
            key=f"order-{i % 97}".encode(),
            value=f'{{"seq": {i}}}'.encode(),
            headers=[("source", b"roundtrip-test"), ("seq", str(i).encode())],
        )
        for i in range(N_MESSAGES)
    ]
    producer.flush(timeout=60)
    metadata = [f.get(timeout=30) for f in futures]
    producer.close()
    assert {m.partition for m in metadata} == {0, 1, 2}

    consumer = KafkaConsumer(
        bootstrap_servers=platform.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    consumer.assign([TopicPartition(topic, p) for p in range(3)])
    seen: dict[int, tuple[bytes, dict[str, bytes]]] = {}
    for record in consumer:
        seq = int(dict(record.headers)["seq"])
        assert seq not in seen, f"message {seq} consumed twice"
        seen[seq] = (record.key, dict(record.headers))
        if len(seen) == N_MESSAGES:
            break
    consumer.close()

    assert len(seen) == N_MESSAGES
    assert all(seen[i][0] == f"order-{i % 97}".encode() for i in range(N_MESSAGES))
    assert all(seen[i][1]["source"] == b"roundtrip-test" for i in range(N_MESSAGES))


def test_minio_buckets_put_get_list(platform):
    client = platform.minio.client()
    assert {b.name for b in client.list_buckets()} >= set(BUCKETS)
    prefix = f"smoke/{uuid.uuid4().hex[:8]}/"
    payloads = {f"{prefix}part-{i}.json": f'{{"i": {i}}}'.encode() * (i + 1) for i in range(3)}
    for name, data in payloads.items():
        client.put_object(platform.lake_bucket, name, io.BytesIO(data), len(data))
    listed = {o.object_name: o.size for o in client.list_objects(platform.lake_bucket, prefix=prefix)}
    assert listed == {name: len(data) for name, data in payloads.items()}
    for name, data in payloads.items():
        response = client.get_object(platform.lake_bucket, name)
        try:
            assert response.read() == data
        finally:
            response.close()
            response.release_conn()


def test_minio_rejects_wrong_credentials(platform):
    from minio import Minio
    from minio.error import S3Error

    intruder = Minio(
        platform.s3_endpoint.removeprefix("http://"),
        access_key=platform.s3_access_key,
        secret_key="not-the-password",
        secure=False,
        region="us-east-1",
    )
    with pytest.raises(S3Error) as err:
        intruder.bucket_exists(platform.lake_bucket)
    assert err.value.code in {"SignatureDoesNotMatch", "AccessDenied"}


def test_postgres_query_as_airflow_role(platform):
    host, port = platform.postgres.address().split(":")
    conn = psycopg2.connect(
        host=host, port=int(port), user=AIRFLOW_ROLE, password=platform.secrets.airflow_db_password, dbname=AIRFLOW_DB
    )
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database()")
            assert cur.fetchone() == (AIRFLOW_ROLE, AIRFLOW_DB)
            cur.execute("CREATE TABLE IF NOT EXISTS smoke (id int PRIMARY KEY, note text)")
            cur.execute("INSERT INTO smoke VALUES (1, 'a'), (2, 'b') ON CONFLICT DO NOTHING")
            cur.execute("SELECT count(*), string_agg(note, ',' ORDER BY id) FROM smoke")
            assert cur.fetchone() == (2, "a,b")
    finally:
        conn.close()


def test_postgres_rejects_wrong_password(platform):
    host, port = platform.postgres.address().split(":")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host=host, port=int(port), user=AIRFLOW_ROLE, password="wrong", dbname=AIRFLOW_DB)
