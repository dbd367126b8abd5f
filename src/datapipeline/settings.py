"""The environment contract: the shared ``DP_*`` variables, their defaults and their rules, once.

Every tool (the ingestion job, the producer, the lake tools, the DAGs) reads these through this
module, so a default or a derivation rule is written in one place. ``python -m datapipeline.settings``
prints the table; docs/configuration.md lists every variable the code reads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """A setting is missing or inconsistent (message names the setting and how to set it)."""


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None
    meaning: str


VARIABLES = (
    Variable("DP_KAFKA_BOOTSTRAP", None, "Kafka bootstrap servers, host:port[,…]"),
    Variable("DP_TOPIC", "orders.events", "the events topic"),
    Variable("DP_LAKE_ROOT", None, "where tables and checkpoints live; default s3a://$DP_LAKE_BUCKET/orders"),
    Variable("DP_LAKE_BUCKET", None, "the bucket DP_LAKE_ROOT defaults into"),
    Variable("DP_S3_ENDPOINT", None, "S3 endpoint with scheme, e.g. http://127.0.0.1:9000"),
    Variable("DP_S3_REGION", "us-east-1", "S3 region (AWS_REGION when unset)"),
    Variable("DP_SPARK_NAMESPACE", "spark-jobs", "namespace of the SparkApplications (DP_RUNTIME=kubernetes)"),
    Variable("DP_KUBERNETES_CONN_ID", "kubernetes_default", "Airflow connection of the Kubernetes API"),
    Variable("DP_LAKE_WRITER_POOL", "default_pool", "Airflow pool of the lake-writing tasks"),
)
DEFAULTS = {v.name: v.default for v in VARIABLES}


def get(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """``name`` from ``env`` (default: the process environment), else its default; empty counts as unset."""
    env = os.environ if env is None else env
    return env.get(name) or DEFAULTS[name]


def lake_root(env: Mapping[str, str] | None = None) -> str | None:
    """``DP_LAKE_ROOT``, else ``s3a://$DP_LAKE_BUCKET/orders``, else None (the caller says it is required)."""
    env = os.environ if env is None else env
    if env.get("DP_LAKE_ROOT"):
        return env["DP_LAKE_ROOT"]
    return f"s3a://{env['DP_LAKE_BUCKET']}/orders" if env.get("DP_LAKE_BUCKET") else None


def s3_region(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("DP_S3_REGION") or env.get("AWS_REGION") or str(DEFAULTS["DP_S3_REGION"])


def table() -> str:
    """The variables as a plain-text table (``python -m datapipeline.settings``)."""
    width = max(len(v.name) for v in VARIABLES)
    return "\n".join(f"{v.name:{width}}  {v.default or '(none)':18}  {v.meaning}" for v in VARIABLES)


if __name__ == "__main__":  # python -m datapipeline.settings
    sys.stdout.write(table() + "\n")
