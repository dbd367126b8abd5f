"""Read the pinned stack from ``versions.env`` (the one place versions are declared).

The file is plain ``KEY=VALUE`` lines so that bash, go-task (dotenv), Docker build args
and Maven ``-D`` properties can all read it too. Standard library only: the bootstrap
imports this before the virtualenv exists.
"""

from __future__ import annotations

from pathlib import Path

from datapipeline.paths import VERSIONS_FILE


class VersionsFileError(ValueError):
    """versions.env is missing or malformed."""


def parse(text: str, source: str = "versions.env") -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines; blank lines and ``#`` comments are ignored."""
    pins: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier() or not key.isupper() or not value:
            raise VersionsFileError(f"{source}:{lineno}: expected KEY=VALUE with an UPPER_CASE key, got {raw!r}")
        if key in pins:
            raise VersionsFileError(f"{source}:{lineno}: {key} is pinned twice; keep one line")
        pins[key] = value
    return pins


def load(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """All pins as a dict, e.g. ``load()["SPARK_VERSION"]``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VersionsFileError(f"{path} not found: run from a checkout of datapipeline") from None
    return parse(text, source=str(path))


def spark_line(spark_version: str) -> str:
    """``4.0.4`` -> ``4.0``: the Spark line that Delta >= 4.1 puts in its artifact name."""
    major, minor, *_ = spark_version.split(".")
    return f"{major}.{minor}"
