"""Kafka administration, written once: create a topic, read a topic's end offsets.

Used by the producer CLI, the local platform, the benchmark and the tests alike. ``bootstrap`` is a
comma-separated list of ``host:port``; kafka-python is imported when a function runs, so importing
this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping


def create_topic(
    bootstrap: str,
    topic: str,
    partitions: int,
    *,
    configs: Mapping[str, str] | None = None,
    timeout_s: float = 15.0,
) -> bool:
    """Create ``topic`` (replication factor 1, ``configs`` as topic configs) unless it exists;
    True when it was created now. Kafka errors other than "already exists" propagate."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    timeout_ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap.split(","), request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms
    )
    try:
        if topic in admin.list_topics():
            return False
        new = NewTopic(topic, num_partitions=partitions, replication_factor=1, topic_configs=dict(configs or {}))
        admin.create_topics([new])
        return True
    except TopicAlreadyExistsError:
        return False
    finally:
        admin.close()


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The next offset of every partition of ``topic`` (Kafka's log end offsets); {} for a topic
    that does not exist."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        return {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()
