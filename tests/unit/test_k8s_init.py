"""datapipeline.k8s_init: the chart's init Job (topics and buckets of external Kafka and S3), against fakes."""

from __future__ import annotations

import json

import pytest
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError
from minio.error import S3Error

from datapipeline import k8s_init
from datapipeline.k8s_init import InitError, TopicSpec

TOPICS = json.dumps(
    [
        {"name": "orders.events", "partitions": 3, "config": {"retention.ms": "604800000"}},
        {"name": "orders.dlq", "partitions": 1},
    ]
)


class FakeAdmin:
    def __init__(self, brokers: int = 1, topics: dict[str, int] | None = None, race: set[str] = frozenset()):
        self.brokers = brokers
        self.topics = dict(topics or {})  # name -> partitions
        self.race = race  # topics someone else creates between our list and our create
        self.created: list[dict] = []

    def list_topics(self):
        return list(self.topics)

    def describe_cluster(self):
        return {"brokers": [{"node_id": i} for i in range(self.brokers)], "cluster_id": "x"}

    def describe_topics(self, topics=None):
        return [{"name": n, "partitions": [{}] * self.topics[n]} for n in (topics or self.topics)]

    def create_topics(self, new_topics):
        for name, spec in new_topics.items():
            if name in self.race:
                raise TopicAlreadyExistsError(name)
            self.created.append({"name": name, **spec})
            self.topics[name] = spec["num_partitions"]


def s3_error(code: str) -> S3Error:
    return S3Error(None, code, "message", "/bucket", "request", "host")


class FakeBuckets:
    def __init__(self, existing=(), fail: str | None = None):
        self.buckets = set(existing)
        self.fail = fail

    def bucket_exists(self, name):
        if self.fail:
            raise s3_error(self.fail)
        return name in self.buckets

    def make_bucket(self, name):
        self.buckets.add(name)


class TestParseTopics:
    def test_the_charts_json(self):
        assert k8s_init.parse_topics(TOPICS) == [
            TopicSpec("orders.events", 3, {"retention.ms": "604800000"}),
            TopicSpec("orders.dlq", 1, {}),
        ]

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("nope", "not JSON"),
            ('{"name": "x"}', "JSON list"),
            ('[{"partitions": 1}]', "needs a name"),
            ('[{"name": "x", "partitions": 0}]', "positive integer"),
            ('[{"name": "x", "partitions": true}]', "positive integer"),
            ('[{"name": "x", "config": []}]', "mapping"),
            ('[{"name": "x"}, {"name": "x"}]', "listed twice"),
        ],
    )
    def test_bad_input_is_named(self, text, message):
        with pytest.raises(ValueError, match=message):
            k8s_init.parse_topics(text)


@pytest.mark.parametrize(("brokers", "wanted", "rf"), [(1, None, 1), (2, None, 2), (5, None, 3), (5, 2, 2)])
def test_replication_factor(brokers, wanted, rf):
    assert k8s_init.replication_factor(brokers, wanted) == rf


def test_replication_factor_above_the_brokers_is_refused():
    with pytest.raises(InitError, match="needs 3 brokers; the cluster has 1"):
        k8s_init.replication_factor(1, 3)


class TestEnsureTopics:
    def test_creates_the_missing_with_partitions_config_and_replication(self):
        admin = FakeAdmin(brokers=3)
        report = k8s_init.ensure_topics(admin, k8s_init.parse_topics(TOPICS))
        assert admin.created == [
            {
                "name": "orders.events",
                "num_partitions": 3,
                "replication_factor": 3,
                "configs": {"retention.ms": "604800000"},
            },
            {"name": "orders.dlq", "num_partitions": 1, "replication_factor": 3, "configs": {}},
        ]
        assert report == [
            "topic orders.events: created (3 partitions, replication 3)",
            "topic orders.dlq: created (1 partitions, replication 3)",
        ]

    def test_leaves_existing_topics_alone_and_says_when_they_are_smaller(self):
        admin = FakeAdmin(topics={"orders.events": 1, "orders.dlq": 4})
        report = k8s_init.ensure_topics(admin, k8s_init.parse_topics(TOPICS))
        assert admin.created == []
        assert report == [
            "topic orders.events: exists with 1 partitions (asked 3; not changed)",
            "topic orders.dlq: exists",
        ]

    def test_second_run_changes_nothing(self):
        admin = FakeAdmin()
        topics = k8s_init.parse_topics(TOPICS)
        k8s_init.ensure_topics(admin, topics)
        assert k8s_init.ensure_topics(admin, topics) == ["topic orders.events: exists", "topic orders.dlq: exists"]
        assert len(admin.created) == 2

    def test_a_topic_created_meanwhile_is_fine(self):
        admin = FakeAdmin(race={"orders.events"})
        report = k8s_init.ensure_topics(admin, k8s_init.parse_topics(TOPICS))
        assert report[0] == "topic orders.events: exists"


class TestEnsureBuckets:
    def test_creates_the_missing(self):
        client = FakeBuckets(existing={"lake"})
        assert k8s_init.ensure_buckets(client, ["lake", "airflow-logs"]) == [
            "bucket lake: exists",
            "bucket airflow-logs: created",
        ]
        assert client.buckets == {"lake", "airflow-logs"}

    @pytest.mark.parametrize("code", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"])
    def test_refused_keys_stop_at_once(self, code):
        with pytest.raises(InitError, match=f"S3 refused the keys \\({code}\\) for bucket lake"):
            k8s_init.ensure_buckets(FakeBuckets(fail=code), ["lake"])

    def test_a_name_taken_by_another_account(self):
        class Taken(FakeBuckets):
            def make_bucket(self, name):
                raise s3_error("BucketAlreadyExists")

        with pytest.raises(InitError, match="belongs to another account"):
            k8s_init.ensure_buckets(Taken(), ["lake"])


class TestRetry:
    def test_retries_until_it_answers(self):
        now = [0.0]
        calls = []

        def flaky():
            calls.append(now[0])
            if len(calls) < 3:
                raise ConnectionError("refused")
            return "ok"

        def sleep(s):
            now[0] += s

        logs = []
        result = k8s_init.retry("Kafka", flaky, 60, interval=5, clock=lambda: now[0], sleep=sleep, log=logs.append)
        assert result == "ok" and calls == [0, 5, 10]
        assert logs == ["waiting for Kafka: ConnectionError"] * 2

    def test_gives_up_after_the_timeout_with_the_last_error(self):
        now = [0.0]

        def down():
            raise ConnectionError("refused")

        def sleep(s):
            now[0] += s

        with pytest.raises(InitError, match="S3 did not answer within 12s: ConnectionError: refused"):
            k8s_init.retry("S3", down, 12, interval=5, clock=lambda: now[0], sleep=sleep, log=lambda _: None)
        assert now[0] == 10

    def test_init_errors_are_not_retried(self):
        def refused():
            raise InitError("S3 refused the keys")

        with pytest.raises(InitError, match="refused the keys"):
            k8s_init.retry("S3", refused, 60, sleep=pytest.fail)


class TestMain:
    def test_help(self, capsys):
        with pytest.raises(SystemExit) as exc:
            k8s_init.main(["--help"])
        assert exc.value.code == 0
        assert "Create the missing Kafka topics and S3 buckets" in capsys.readouterr().out

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--topics", TOPICS], "--topics needs --kafka-bootstrap"),
            (["--bucket", "lake"], "--bucket needs --s3-endpoint and --s3-credentials-dir"),
            (["--bucket", "lake", "--s3-endpoint", "minio:9000", "--s3-credentials-dir", "/x"], "needs a scheme"),
            (["--bucket", "lake", "--s3-endpoint", "http://minio:9000", "--s3-credentials-dir", "/nonexistent"], "no "),
        ],
    )
    def test_bad_arguments_exit_2(self, argv, message, capsys):
        assert k8s_init.main(argv) == 2
        assert message in capsys.readouterr().err

    def test_nothing_to_do(self, capsys):
        assert k8s_init.main([]) == 0
        assert "nothing to do" in capsys.readouterr().out

    def test_credentials_are_read_from_files(self, tmp_path):
        (tmp_path / "accessKey").write_text("AK\n")
        (tmp_path / "secretKey").write_text("SK\n")
        assert k8s_init.read_credentials(tmp_path) == ("AK", "SK")

    def test_unreachable_kafka_exits_1(self, capsys, monkeypatch):
        def no_brokers(bootstrap):
            raise KafkaTimeoutError("Unable to bootstrap")

        monkeypatch.setattr(k8s_init, "kafka_admin", no_brokers)
        argv = ["--timeout", "0", "--kafka-bootstrap", "kafka:9092", "--topics", TOPICS]
        assert k8s_init.main(argv) == 1
        assert "k8s_init: error: Kafka at kafka:9092 did not answer within 0s: KafkaTimeoutError" in (
            capsys.readouterr().err
        )

    def test_creates_topics_and_buckets_end_to_end(self, capsys, monkeypatch, tmp_path):
        admin, buckets = FakeAdmin(), FakeBuckets()
        admin.close = lambda: None
        monkeypatch.setattr(k8s_init, "kafka_admin", lambda bootstrap: admin)
        monkeypatch.setattr(k8s_init.S3Settings, "minio_client", lambda self: buckets)
        (tmp_path / "accessKey").write_text("AK")
        (tmp_path / "secretKey").write_text("SK")
        argv = ["--kafka-bootstrap", "kafka:9092", "--topics", TOPICS, "--s3-endpoint", "http://minio:9000"]
        argv += ["--s3-credentials-dir", str(tmp_path), "--bucket", "lake", "--bucket", "airflow-logs"]
        assert k8s_init.main(argv) == 0
        assert set(admin.topics) == {"orders.events", "orders.dlq"}
        assert buckets.buckets == {"lake", "airflow-logs"}
        assert capsys.readouterr().out.splitlines() == [
            "topic orders.events: created (3 partitions, replication 1)",
            "topic orders.dlq: created (1 partitions, replication 1)",
            "bucket lake: created",
            "bucket airflow-logs: created",
        ]
