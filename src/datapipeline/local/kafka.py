"""ZooKeeper and a single Kafka broker in ZooKeeper mode, from the Maven Central jars.

Both run as ``java -cp '.local/jars/kafka/*' <main class> <properties>`` with config files
written here; topics are created on demand (auto-create on, or :func:`datapipeline.kafka_admin.create_topic`).
"""

from __future__ import annotations

import shutil
import socket

from datapipeline.events.contract import TRANSPORT_MAX_BYTES
from datapipeline.local.service import Service, ServiceError

LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.zookeeper.server.ZooKeeperServer=WARN
"""


class JavaService(Service):
    main_class: str
    heap: str

    def java_command(self, properties_file: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise ServiceError(f"{self.name}: `java` not found on PATH; install a JDK 17")
        if not any(self.cfg.kafka_jars_dir.glob("kafka_*.jar")):
            raise ServiceError(f"{self.name}: no Kafka jars in {self.cfg.kafka_jars_dir}; run `task bootstrap`")
        conf = self.cfg.conf_dir(self.name)
        return [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{conf / 'log4j.properties'}",
            "-cp",
            f"{self.cfg.kafka_jars_dir}/*",
            self.main_class,
            str(conf / properties_file),
        ]

    def write_conf(self, properties_file: str, properties: dict[str, str | int]) -> None:
        conf = self.cfg.conf_dir(self.name)
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "log4j.properties").write_text(LOG4J)
        body = "".join(f"{k}={v}\n" for k, v in properties.items())
        (conf / properties_file).write_text(
            f"# Written by datapipeline.local.{self.name}; edits are overwritten.\n{body}"
        )


class ZooKeeper(JavaService):
    name = "zookeeper"
    port_env = "DP_ZOOKEEPER_PORT"
    main_class = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
    heap = "256m"

    def ports(self) -> list[int]:
        return [self.cfg.ports.zookeeper]

    def address(self) -> str:
        return f"{self.cfg.host}:{self.cfg.ports.zookeeper}"

    def prepare(self) -> None:
        data = self.cfg.data_dir(self.name)
        data.mkdir(parents=True, exist_ok=True)
        self.write_conf(
            "zookeeper.properties",
            {
                "dataDir": data,
                "clientPort": self.cfg.ports.zookeeper,
                "clientPortAddress": self.cfg.host,
                "maxClientCnxns": 0,
                "admin.enableServer": "false",
                "4lw.commands.whitelist": "ruok,srvr",
                "tickTime": 2000,
            },
        )

    def command(self) -> list[str]:
        return self.java_command("zookeeper.properties")

    def probe(self) -> bool:
        with socket.create_connection((self.cfg.host, self.cfg.ports.zookeeper), timeout=2) as sock:
            sock.sendall(b"ruok")
            return sock.recv(16) == b"imok"


class Kafka(JavaService):
    name = "kafka"
    port_env = "DP_KAFKA_PORT"
    main_class = "kafka.Kafka"
    heap = "768m"

    def ports(self) -> list[int]:
        return [self.cfg.ports.kafka]

    def address(self) -> str:
        return f"{self.cfg.host}:{self.cfg.ports.kafka}"

    def prepare(self) -> None:
        data = self.cfg.data_dir(self.name)
        data.mkdir(parents=True, exist_ok=True)
        listener = f"PLAINTEXT://{self.address()}"
        self.write_conf(
            "server.properties",
            {
                "broker.id": 0,
                "listeners": listener,
                "advertised.listeners": listener,
                "log.dirs": data,
                "zookeeper.connect": f"{self.cfg.host}:{self.cfg.ports.zookeeper}",
                "zookeeper.connection.timeout.ms": 30000,
                "auto.create.topics.enable": "true",
                "num.partitions": 3,
                "offsets.topic.replication.factor": 1,
                "offsets.topic.num.partitions": 10,
                "transaction.state.log.replication.factor": 1,
                "transaction.state.log.min.isr": 1,
                "group.initial.rebalance.delay.ms": 0,
                # Above the contract's MAX_VALUE_BYTES, so oversized values reach the quarantine.
                "message.max.bytes": TRANSPORT_MAX_BYTES,
                "replica.fetch.max.bytes": TRANSPORT_MAX_BYTES,
                "log.retention.hours": 168,
            },
        )

    def command(self) -> list[str]:
        return self.java_command("server.properties")

    def probe(self) -> bool:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.address(), request_timeout_ms=3000)
        try:
            brokers = admin.describe_cluster()["brokers"]
            return len(brokers) == 1
        finally:
            admin.close()
