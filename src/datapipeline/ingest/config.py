"""The one typed configuration of the ingestion job, read from arguments and environment.

Every option has an environment variable (``DP_*``); arguments win. S3 credentials come only
from the environment (``DP_S3_ACCESS_KEY``/``DP_S3_SECRET_KEY``, falling back to
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``; in Kubernetes: a Secret mounted as env).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datapipeline import settings
from datapipeline.lake.cli import LAKE_ROOT_MISSING, add_s3_arguments
from datapipeline.lake.layout import QUERIES, Lake, query_checkpoint
from datapipeline.lake.s3 import S3Settings, s3_from_env
from datapipeline.settings import ConfigError
from datapipeline.spark.session import jars_dir_from_env

TRIGGERS = ("availableNow", "processingTime")


# Bronze bytes (Parquet) per refine micro-batch, a soft cap (a file is never split). Unbounded, a
# refine that fell behind takes up to Delta's 1000 files in one batch: in the soak at 5,000 ev/s
# that was about 800,000 rows, and the refine driver ran out of heap (a restart takes the same batch).
REFINE_MAX_BYTES_PER_TRIGGER = "32m"


@dataclass(frozen=True)
class IngestConfig:
    kafka_bootstrap: str
    topic: str
    lake: Lake
    checkpoint: str
    s3: S3Settings | None = field(repr=False)
    trigger: str = "availableNow"
    # Which of the job's queries this driver runs: both (default), or one of them when bronze and
    # refine run as two drivers (README "The ingestion job": lower bronze latency under load).
    queries: tuple[str, ...] = QUERIES
    processing_time: str = "30 seconds"
    max_offsets_per_trigger: int | None = None
    refine_max_files_per_trigger: int | None = None
    refine_max_bytes_per_trigger: str | None = REFINE_MAX_BYTES_PER_TRIGGER
    starting_offsets: str = "earliest"
    fail_on_data_loss: bool = True
    # Delta txnAppId of the idempotent writes. Keep it with the checkpoint: a NEW checkpoint
    # with the SAME app id would skip batch ids already committed by the old one.
    app_id: str = ""
    jars_dir: Path | None = None
    master: str | None = None
    preflight: bool = True

    @property
    def tables(self) -> dict[str, str]:
        return self.lake.tables

    def query_checkpoint(self, query: str) -> str:
        return query_checkpoint(self.checkpoint, query)


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


def parse_queries(raw: str) -> tuple[str, ...]:
    """``"bronze,refine"`` -> ``("bronze", "refine")`` in the job's order; ConfigError on a bad name."""
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in QUERIES]
    if unknown or not names:
        problem = f"unknown query {unknown[0]!r}" if unknown else "no query given"
        raise ConfigError(f"--queries {raw!r}: {problem}; use bronze, refine or bronze,refine")
    return tuple(q for q in QUERIES if q in names)


def parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(
        prog="ingest",
        description="Kafka -> Delta Lake, exactly-once: one query Kafka -> bronze, one bronze -> "
        "quarantine, silver, gold.",
        epilog="S3 credentials: env DP_S3_ACCESS_KEY / DP_S3_SECRET_KEY (or AWS_ACCESS_KEY_ID / "
        "AWS_SECRET_ACCESS_KEY); never on the command line.",
    )
    p.add_argument(
        "--kafka-bootstrap", default=env.get("DP_KAFKA_BOOTSTRAP"), help="host:port[,…] (DP_KAFKA_BOOTSTRAP)"
    )
    p.add_argument(
        "--topic", default=settings.get("DP_TOPIC", env), help=f"(DP_TOPIC, default {settings.DEFAULTS['DP_TOPIC']})"
    )
    p.add_argument(
        "--lake-root",
        default=settings.lake_root(env),
        help="s3a://bucket/prefix or a local path; tables and checkpoints live below it "
        "(DP_LAKE_ROOT; default s3a://$DP_LAKE_BUCKET/orders)",
    )
    p.add_argument(
        "--checkpoint",
        default=env.get("DP_CHECKPOINT"),
        help="folder of the two queries' checkpoints (bronze/, refine/); default <lake-root>/_checkpoints/ingest",
    )
    add_s3_arguments(p, env)
    p.add_argument("--trigger", choices=TRIGGERS, default=env.get("DP_TRIGGER", "availableNow"))
    p.add_argument(
        "--queries",
        default=env.get("DP_QUERIES", ",".join(QUERIES)),
        help="which queries this driver runs: bronze,refine (default), bronze, or refine; run bronze "
        "and refine as two drivers to keep bronze's latency low while refine is busy (DP_QUERIES)",
    )
    p.add_argument(
        "--processing-time",
        default=env.get("DP_PROCESSING_TIME", "30 seconds"),
        help="interval for processingTime",
    )
    p.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=_env_int(env, "DP_MAX_OFFSETS_PER_TRIGGER"),
        help="cap on Kafka records per bronze micro-batch (DP_MAX_OFFSETS_PER_TRIGGER)",
    )
    p.add_argument(
        "--refine-max-files-per-trigger",
        type=int,
        default=_env_int(env, "DP_REFINE_MAX_FILES_PER_TRIGGER"),
        help="cap on bronze files per refine micro-batch (DP_REFINE_MAX_FILES_PER_TRIGGER; Delta's default 1000)",
    )
    p.add_argument(
        "--refine-max-bytes-per-trigger",
        default=env.get("DP_REFINE_MAX_BYTES_PER_TRIGGER", REFINE_MAX_BYTES_PER_TRIGGER),
        help="soft cap on bronze bytes per refine micro-batch, e.g. 32m; 0: none "
        f"(DP_REFINE_MAX_BYTES_PER_TRIGGER, default {REFINE_MAX_BYTES_PER_TRIGGER})",
    )
    p.add_argument(
        "--starting-offsets",
        default=env.get("DP_STARTING_OFFSETS", "earliest"),
        help="earliest | latest | Kafka JSON offsets for a new bronze checkpoint (a new refine checkpoint "
        "always reads all of bronze)",
    )
    p.add_argument(
        "--no-fail-on-data-loss",
        dest="fail_on_data_loss",
        action="store_false",
        default=env.get("DP_FAIL_ON_DATA_LOSS", "true").lower() != "false",
        help="skip offsets lost to retention instead of failing (silently loses data)",
    )
    p.add_argument("--app-id", default=env.get("DP_APP_ID"), help="Delta txnAppId (default ingest:<topic>)")
    p.add_argument("--jars-dir", type=Path, default=None, help="connector jars (DP_SPARK_JARS_DIR)")
    p.add_argument("--master", default=env.get("DP_SPARK_MASTER"), help="Spark master (default local[*])")
    p.add_argument("--no-preflight", dest="preflight", action="store_false", help="skip Kafka/S3 reachability checks")
    return p


def _byte_size(raw: str) -> str | None:
    """``--refine-max-bytes-per-trigger``: a size such as 32m (k, m, g), or 0 for none."""
    if re.fullmatch(r"0+", raw.strip()):
        return None
    if not re.fullmatch(r"[1-9][0-9]*[kmg]?", raw.strip().lower()):
        raise ConfigError(f"--refine-max-bytes-per-trigger {raw!r}: give a size such as 32m (k, m, g), or 0 for none")
    return raw.strip().lower()


def from_args(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> IngestConfig:
    env = os.environ if env is None else env
    a = parser(env).parse_args(argv)
    if not a.kafka_bootstrap:
        raise ConfigError("Kafka bootstrap servers not set: pass --kafka-bootstrap or set DP_KAFKA_BOOTSTRAP")
    if not a.lake_root:
        raise ConfigError(LAKE_ROOT_MISSING)
    if a.max_offsets_per_trigger is not None and a.max_offsets_per_trigger <= 0:
        raise ConfigError("--max-offsets-per-trigger must be > 0")
    if a.refine_max_files_per_trigger is not None and a.refine_max_files_per_trigger <= 0:
        raise ConfigError("--refine-max-files-per-trigger must be > 0")
    lake = Lake(a.lake_root)
    uses_s3 = a.lake_root.startswith("s3a://") or str(a.checkpoint or "").startswith("s3a://")
    if a.lake_root.startswith(("s3://", "s3n://")):
        raise ConfigError(f"lake root {a.lake_root!r}: use the s3a:// scheme")
    return IngestConfig(
        kafka_bootstrap=a.kafka_bootstrap,
        topic=a.topic,
        lake=lake,
        checkpoint=a.checkpoint or lake.checkpoint(),
        s3=s3_from_env(a.s3_endpoint, a.s3_region, env) if uses_s3 else None,
        trigger=a.trigger,
        queries=parse_queries(a.queries),
        processing_time=a.processing_time,
        max_offsets_per_trigger=a.max_offsets_per_trigger,
        refine_max_files_per_trigger=a.refine_max_files_per_trigger,
        refine_max_bytes_per_trigger=_byte_size(a.refine_max_bytes_per_trigger),
        starting_offsets=a.starting_offsets,
        fail_on_data_loss=a.fail_on_data_loss,
        app_id=a.app_id or f"ingest:{a.topic}",
        jars_dir=a.jars_dir or jars_dir_from_env(),
        master=a.master,
        preflight=a.preflight,
    )


def to_args(cfg: IngestConfig) -> list[str]:
    """The job's command line for ``cfg``, the inverse of :func:`from_args`: with the S3 keys in the
    environment (never on the command line), ``from_args(to_args(cfg)) == cfg``. The one way to launch
    the job with a given configuration (the bench's refine driver, the fault tests)."""
    args = [
        *("--kafka-bootstrap", cfg.kafka_bootstrap, "--topic", cfg.topic, "--lake-root", cfg.lake.root),
        *("--checkpoint", cfg.checkpoint, "--app-id", cfg.app_id),
        *("--trigger", cfg.trigger, "--queries", ",".join(cfg.queries), "--processing-time", cfg.processing_time),
        *("--starting-offsets", cfg.starting_offsets),
    ]
    if cfg.s3 is not None:
        args += ["--s3-endpoint", cfg.s3.endpoint, "--s3-region", cfg.s3.region]
    if cfg.max_offsets_per_trigger is not None:
        args += ["--max-offsets-per-trigger", str(cfg.max_offsets_per_trigger)]
    if cfg.refine_max_files_per_trigger is not None:
        args += ["--refine-max-files-per-trigger", str(cfg.refine_max_files_per_trigger)]
    args += ["--refine-max-bytes-per-trigger", cfg.refine_max_bytes_per_trigger or "0"]
    if cfg.jars_dir is not None:
        args += ["--jars-dir", str(cfg.jars_dir)]
    if cfg.master is not None:
        args += ["--master", cfg.master]
    if not cfg.fail_on_data_loss:
        args.append("--no-fail-on-data-loss")
    if not cfg.preflight:
        args.append("--no-preflight")
    return args
