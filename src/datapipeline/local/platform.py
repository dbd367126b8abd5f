"""The local platform: every service in dependency order, with one status table."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict

from datapipeline import kafka_admin
from datapipeline.lake.layout import QUERIES
from datapipeline.local.airflow import (
    ADMIN_USER,
    AirflowApiServer,
    AirflowDagProcessor,
    AirflowScheduler,
    AirflowTriggerer,
)
from datapipeline.local.config import LAKE_BUCKET, PlatformConfig
from datapipeline.local.kafka import Kafka, ZooKeeper
from datapipeline.local.minio import MinIO
from datapipeline.local.postgres import PostgreSQL
from datapipeline.local.secrets import Secrets, load_or_create
from datapipeline.local.service import Service, ServiceError, ServiceStatus
from datapipeline.local.stream import StreamingIngest
from datapipeline.supervisor import STREAM_APPS

CORE = ["zookeeper", "kafka", "minio", "postgres"]
AIRFLOW = ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]
# What each service needs running first (`up` starts the rest side by side). The api-server
# migrates the metadata schema before it starts; the other Airflow components need that schema
# and report their health through the api-server.
NEEDS = {
    "kafka": ("zookeeper",),
    "airflow-api-server": ("postgres",),
    "airflow-scheduler": ("airflow-api-server",),
    "airflow-dag-processor": ("airflow-api-server",),
    "airflow-triggerer": ("airflow-api-server",),
    # the streams, when named (`up ingest-stream-bronze`): their sources and the lake
    STREAM_APPS["bronze"]: ("kafka", "minio"),
    STREAM_APPS["refine"]: ("minio",),
}


class LocalPlatform:
    """ZooKeeper -> Kafka, MinIO, PostgreSQL -> Airflow, as real processes on loopback."""

    def __init__(self, cfg: PlatformConfig | None = None) -> None:
        self.cfg = cfg or PlatformConfig.from_env()
        self.cfg.root.mkdir(parents=True, exist_ok=True)
        self.secrets: Secrets = load_or_create(self.cfg.secrets_file)
        self.zookeeper = ZooKeeper(self.cfg, self.secrets)
        self.kafka = Kafka(self.cfg, self.secrets)
        self.minio = MinIO(self.cfg, self.secrets)
        self.postgres = PostgreSQL(self.cfg, self.secrets)
        self.airflow_api = AirflowApiServer(self.cfg, self.secrets, self.client_env)
        self.airflow_components: list[Service] = [
            self.airflow_api,
            AirflowScheduler(self.cfg, self.secrets, self.client_env),
            AirflowDagProcessor(self.cfg, self.secrets, self.client_env),
            AirflowTriggerer(self.cfg, self.secrets, self.client_env),
        ]
        # Started by the streaming_supervisor DAG, not by `up`; stopped by `down`.
        self.streams = [StreamingIngest(self.cfg, self.secrets, self.client_env, q) for q in QUERIES]
        # Start order; stop runs in reverse.
        self.services: list[Service] = [
            self.zookeeper,
            self.kafka,
            self.minio,
            self.postgres,
            *self.airflow_components,
            *self.streams,
        ]

    def select(self, names: list[str] | None) -> list[Service]:
        if not names:
            return list(self.services)
        known = {s.name: s for s in self.services}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ServiceError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(known)}")
        return [s for s in self.services if s.name in names]

    def up(self, names: list[str] | None = None, echo: Callable[[str], None] = print) -> None:
        """Start the services (default: CORE + AIRFLOW), each as soon as what it ``NEEDS`` among
        them is healthy, so independent ones start side by side. A service that fails stops
        only those that need it; the first failure is raised once the others are done."""
        chosen = self.select(names or CORE + AIRFLOW)
        names_chosen = {s.name for s in chosen}
        done: dict[str, threading.Event] = {s.name: threading.Event() for s in chosen}
        failed: dict[str, Exception] = {}
        lock = threading.Lock()

        def say(line: str) -> None:
            with lock:
                echo(line)

        def start(service: Service) -> None:
            try:
                for need in NEEDS.get(service.name, ()):
                    if need in names_chosen:
                        done[need].wait()
                        if need in failed:
                            raise ServiceError(f"{service.name}: not started, {need} did not start")
                say(f"{service.name}: starting ...")
                say(service.start())
            except Exception as exc:  # raised again below, in the caller's thread
                failed[service.name] = exc
            finally:
                done[service.name].set()

        threads = [threading.Thread(target=start, args=(s,), name=f"up-{s.name}", daemon=True) for s in chosen]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        first = next((failed[s.name] for s in chosen if s.name in failed), None)
        if first is not None:
            raise first

    def down(self, names: list[str] | None = None, echo: Callable[[str], None] = print) -> None:
        errors = []
        for service in reversed(self.select(names)):
            try:
                echo(service.stop())
            except ServiceError as exc:  # keep stopping the others
                errors.append(str(exc))
        if errors:
            raise ServiceError("; ".join(errors))

    def status(self) -> list[ServiceStatus]:
        return [s.status() for s in self.services]

    # ---- how clients reach the platform ----------------------------------------------
    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.address()

    @property
    def s3_endpoint(self) -> str:
        return self.minio.address()

    @property
    def s3_access_key(self) -> str:
        return self.secrets.minio_root_user

    @property
    def s3_secret_key(self) -> str:
        return self.secrets.minio_root_password

    @property
    def lake_bucket(self) -> str:
        return LAKE_BUCKET

    @property
    def airflow_db_url(self) -> str:
        return self.postgres.airflow_dsn()

    @property
    def airflow_url(self) -> str:
        return self.airflow_api.address()

    @property
    def airflow_login(self) -> tuple[str, str]:
        return ADMIN_USER, self.secrets.airflow_admin_password

    def create_topic(self, name: str, partitions: int = 3) -> bool:
        return kafka_admin.create_topic(self.kafka_bootstrap, name, partitions)

    def client_env(self) -> dict[str, str]:
        """Environment for jobs and tools that talk to this platform (see `task local:env`)."""
        return {
            "DP_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "DP_S3_ENDPOINT": self.s3_endpoint,
            "DP_S3_ACCESS_KEY": self.s3_access_key,
            "DP_S3_SECRET_KEY": self.s3_secret_key,
            "DP_S3_REGION": "us-east-1",
            "DP_LAKE_BUCKET": self.lake_bucket,
            "DP_LAKE_ROOT": f"s3a://{self.lake_bucket}/orders",
            # For S3 tools that only know the AWS names (aws CLI, boto3, mc aliases).
            "AWS_ACCESS_KEY_ID": self.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_key,
            "AWS_REGION": "us-east-1",
            "DP_AIRFLOW_DB_URL": self.airflow_db_url,
            # So that code running inside Airflow tasks can find this platform again.
            "DP_PLATFORM_DIR": str(self.cfg.root),
            **{f"DP_{name.upper()}_PORT": str(port) for name, port in asdict(self.cfg.ports).items()},
        }
