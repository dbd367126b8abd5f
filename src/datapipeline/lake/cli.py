"""Shared command-line bits of the lake tools (query, maintenance): where the lake is and how
to reach S3. Same environment variables as the ingestion job."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from datapipeline import settings
from datapipeline.lake.layout import Lake
from datapipeline.lake.s3 import S3Settings, s3_from_env
from datapipeline.settings import ConfigError

LAKE_ROOT_MISSING = "lake root not set: pass --lake-root or set DP_LAKE_ROOT (e.g. s3a://lake/orders)"


def add_s3_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """``--s3-endpoint`` and ``--s3-region``, defaults from ``env`` (every tool that reaches the lake;
    the keys come only from the environment, see :func:`~datapipeline.lake.s3.s3_from_env`)."""
    p.add_argument("--s3-endpoint", default=env.get("DP_S3_ENDPOINT"), help="http(s)://host:port (DP_S3_ENDPOINT)")
    p.add_argument("--s3-region", default=settings.s3_region(env), help="(DP_S3_REGION, AWS_REGION)")


def add_lake_arguments(p: argparse.ArgumentParser, env: Mapping[str, str] | None = None, spark: bool = True) -> None:
    """``--lake-root``, the S3 options and, for tools that start Spark, ``--master``."""
    env = os.environ if env is None else env
    p.add_argument(
        "--lake-root", default=settings.lake_root(env), help="s3a://bucket/prefix or a local path (DP_LAKE_ROOT)"
    )
    add_s3_arguments(p, env)
    if spark:
        p.add_argument("--master", default=env.get("DP_SPARK_MASTER"), help="Spark master (default local[*])")


def lake_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> tuple[Lake, S3Settings | None]:
    env = os.environ if env is None else env
    if not args.lake_root:
        raise ConfigError(LAKE_ROOT_MISSING)
    s3 = s3_from_env(args.s3_endpoint, args.s3_region, env) if args.lake_root.startswith("s3a://") else None
    return Lake(args.lake_root), s3


def lake_from_env(env: Mapping[str, str] | None = None) -> tuple[Lake, S3Settings | None]:
    """The lake the ingestion job writes, from the same environment variables (no arguments)."""
    parser = argparse.ArgumentParser()
    add_lake_arguments(parser, env)
    return lake_from_args(parser.parse_args([]), env)


def checked_lake(args: argparse.Namespace) -> tuple[Lake, S3Settings | None]:
    """:func:`lake_from_args`, then the S3 preflight (endpoint, credentials, bucket): one-line errors."""
    lake, s3 = lake_from_args(args)
    if s3 is not None and lake.bucket:
        from datapipeline.preflight import PreflightError, check_s3

        try:
            check_s3(s3, lake.bucket)
        except PreflightError as exc:
            raise ConfigError(str(exc)) from None
    return lake, s3
