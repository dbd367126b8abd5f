"""Where the project's files, tools, jars and local state live.

Everything downloaded, built or generated goes below ``.local/`` (git-ignored), except the
virtualenv in ``.venv/``. ``DP_HOME`` overrides the project root (used by the container images).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("DP_HOME", Path(__file__).resolve().parents[2]))
VERSIONS_FILE = PROJECT_ROOT / "versions.env"
LOCAL_DIR = PROJECT_ROOT / ".local"
BIN_DIR = LOCAL_DIR / "bin"
JARS_DIR = LOCAL_DIR / "jars"
SPARK_JARS_DIR = JARS_DIR / "spark"
KAFKA_JARS_DIR = JARS_DIR / "kafka"
# The event parser UDF (jvm/parser), built by `task bootstrap` (step parser) into the connector
# jar folder, so it reaches Spark's classpath with the connectors.
PARSER_JAR = SPARK_JARS_DIR / "datapipeline-parser.jar"
# State of the local platform (data and logs of every service) started by `task local:up`.
DEFAULT_PLATFORM_DIR = LOCAL_DIR / "platform"
VENV_DIR = PROJECT_ROOT / ".venv"
