"""`python -m datapipeline.producer`: a Kafka that cannot be reached, or fails after the preflight,
is one line on stderr and an exit code, never a traceback. No Kafka needed: a closed loopback port
plays the missing broker, with short timeouts."""

from __future__ import annotations

import socket
from functools import partial

import pytest
from kafka.errors import KafkaTimeoutError

from datapipeline import kafka_admin, preflight, producer


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("produce: error: ")
    return lines[0]


def test_unreachable_kafka_is_one_line(closed_port, capsys, monkeypatch):
    monkeypatch.setattr(preflight, "check_kafka", partial(preflight.check_kafka, timeout_s=1.0))
    assert producer.main(["--bootstrap", f"127.0.0.1:{closed_port}", "--count", "1"]) == 2
    assert f"Kafka not reachable at 127.0.0.1:{closed_port}" in _one_error_line(capsys)


def test_kafka_failing_after_the_preflight_is_one_line(closed_port, capsys, monkeypatch):
    """The broker answered the preflight, then the topic check fails (a real kafka-python error)."""
    monkeypatch.setattr(preflight, "check_kafka", lambda *_a, **_k: None)
    monkeypatch.setattr(kafka_admin, "create_topic", partial(kafka_admin.create_topic, timeout_s=1.0))
    bootstrap = f"127.0.0.1:{closed_port}"
    assert producer.main(["--bootstrap", bootstrap, "--topic", "t", "--count", "1"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"produce: error: topic t at {bootstrap}: KafkaTimeoutError")


def test_kafka_failing_while_sending_is_one_line(capsys, monkeypatch):
    def no_broker(*_args, **_kwargs):
        raise KafkaTimeoutError("Unable to bootstrap from ['127.0.0.1:1']")

    monkeypatch.setattr(preflight, "check_kafka", lambda *_a, **_k: None)
    monkeypatch.setattr(kafka_admin, "create_topic", lambda *_a, **_k: False)
    monkeypatch.setattr(producer, "produce", no_broker)
    assert producer.main(["--bootstrap", "127.0.0.1:1", "--topic", "t", "--count", "1"]) == 1
    line = _one_error_line(capsys)
    assert (
        line
        == "produce: error: sending to t at 127.0.0.1:1: KafkaTimeoutError: Unable to bootstrap from ['127.0.0.1:1']"
    )
