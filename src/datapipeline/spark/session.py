"""Local/cluster SparkSession with Delta Lake and S3A (MinIO) configured.

Connector jars come from a directory (``SPARK_JARS_DIR``, made by ``task bootstrap`` from
``jvm/spark/pom.xml``; ``DP_SPARK_JARS_DIR`` overrides it): on the driver classpath when pyspark
starts a local JVM, else as ``spark.jars``. No ``--packages``, no Ivy downloads at run time.
Jars whose artifact is already shipped by pyspark (``$SPARK_HOME/jars``) are skipped, so two
patch versions of one library never meet. Nothing is added when Spark already ships the
connectors (the container image) or when spark-submit was given them.

S3 credentials: a local driver (its executors run inside it) reads the keys from its own
environment, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, through the AWS SDK's
``EnvironmentVariableCredentialsProvider``: they are on no command line (any local user reads
those in ``ps``; ``/proc/<pid>/environ`` only the owner) and in no Spark conf. A
cluster driver (Kubernetes: the keys come from a Secret as ``DP_S3_*`` env of the driver pod) puts
them in the Hadoop conf (``SimpleAWSCredentialsProvider``), which its executors in other pods
receive from the driver.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from datapipeline.lake.s3 import S3Settings
from datapipeline.paths import LOCAL_DIR, SPARK_JARS_DIR

_VERSION = re.compile(r"-\d[\w.\-]*$")
REQUIRED_JARS = ("delta-spark_", "spark-sql-kafka-0-10_", "hadoop-aws-")
SECRET_CONF = ("spark.hadoop.fs.s3a.access.key", "spark.hadoop.fs.s3a.secret.key")


def artifact_name(jar: str) -> str:
    """``delta-spark_2.13-4.0.0.jar`` -> ``delta-spark_2.13``."""
    return _VERSION.sub("", jar.removesuffix(".jar"))


def jars_dir_from_env(default: Path = SPARK_JARS_DIR) -> Path:
    return Path(os.environ.get("DP_SPARK_JARS_DIR") or default)


def select_jars(available: Iterable[str], shipped: Iterable[str]) -> list[str]:
    """The connector jars to add: ``available`` minus artifacts pyspark already ``shipped``."""
    have = {artifact_name(j) for j in shipped}
    chosen = sorted(j for j in available if j.endswith(".jar") and artifact_name(j) not in have)
    missing = [p for p in REQUIRED_JARS if not any(j.startswith(p) for j in chosen)]
    if missing:
        raise FileNotFoundError(f"connector jars missing ({', '.join(missing)}*): run `task bootstrap`")
    return chosen


def _spark_jars_folder() -> Path:
    import pyspark

    return Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).parent) / "jars"


def spark_home_jars() -> list[str]:
    jars = _spark_jars_folder()
    return [p.name for p in jars.glob("*.jar")] if jars.is_dir() else []


def driver_class_path(jars: list[Path]) -> list[Path]:
    """``jars`` for the front of a driver's class path, after Spark's own slf4j-api: the AWS SDK
    bundle carries an unshaded slf4j 1.7 ``LoggerFactory`` that, first on the class path, finds
    no binding and silences every log line of the JVM ("SLF4J: Defaulting to no-operation (NOP)
    logger"), errors and the reason a SparkContext shut down included."""
    first = sorted(_spark_jars_folder().glob("slf4j-api-*.jar"))[:1] if jars else []
    return [*first, *jars]


def connector_jars(jars_dir: Path) -> list[Path]:
    """Jars to add; none when Spark already ships the connectors (the container image)."""
    shipped = spark_home_jars()
    if all(any(j.startswith(p) for j in shipped) for p in REQUIRED_JARS):
        return []
    if not jars_dir.is_dir():
        raise FileNotFoundError(f"connector jar directory {jars_dir} does not exist: run `task bootstrap`")
    names = select_jars([p.name for p in jars_dir.iterdir()], shipped)
    return [jars_dir / n for n in names]


def session_conf(
    jars: list[Path],
    s3: S3Settings | None = None,
    extra: Mapping[str, str] | None = None,
    local: bool = False,
    jvm_starts_here: bool = False,
    s3_keys_from_env: bool = False,
) -> dict[str, str]:
    """Spark conf for the lake. ``jvm_starts_here``: pyspark launches the driver JVM itself
    (no spark-submit) with local executors inside it, so the jars can go on its classpath.
    ``s3_keys_from_env``: the driver JVM has the S3 keys in its environment (local drivers)."""
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        # Schema changes are explicit (ALTER TABLE ... ADD COLUMNS in silver), never implicit on write.
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # The ingest job's two queries run in pools of their own (ingest/job.py): round-robin
        # between them, so a long refine batch does not queue bronze's tasks behind its own.
        "spark.scheduler.mode": "FAIR",
        # A driver short of CPU (refine at nice 19 beside bronze, a busy node) must be slow, never
        # fail: building a broadcast side took over the default 300 s and ended the refine driver
        # in 30-minute soaks (docs/performance.md, Soak). A refine that falls behind is what
        # data_quality's refine_lag check reports.
        "spark.sql.broadcastTimeout": "3600",
    }
    if jars and jvm_starts_here:
        # The JVM pyspark is about to start reads the jars in place. As spark.jars, a local
        # driver would copy all of them (550 MB with the AWS SDK bundle) into a spark-* temp
        # directory per session, and a killed driver leaves that copy behind.
        conf["spark.driver.extraClassPath"] = os.pathsep.join(str(j) for j in driver_class_path(jars))
    elif jars:
        conf["spark.jars"] = ",".join(str(j) for j in jars)
    if local:
        # Small local runs: Delta's log replay defaults to 50 partitions, far too many for 2 cores.
        conf["spark.databricks.delta.snapshotPartitions"] = "2"
        conf["spark.sql.shuffle.partitions"] = "2"
        # VACUUM lists files with this many tasks (default 10000).
        conf["spark.sql.sources.parallelPartitionDiscovery.parallelism"] = "4"
        # Tables live at explicit locations; keep Spark's default warehouse out of the checkout.
        conf["spark.sql.warehouse.dir"] = str(LOCAL_DIR / "spark-warehouse")
    if s3 is not None:
        conf.update(s3.hadoop_conf(keys_from_env=s3_keys_from_env))
    conf.update(extra or {})
    return conf


def submitted_conf():
    """spark-submit's conf (``SparkConf``) when spark-submit started this Python process, else None.

    spark-submit runs Python with ``PYSPARK_GATEWAY_PORT`` set to its own JVM's gateway. Before
    that gateway is joined a ``SparkConf()`` reads nothing, so ``--master``, ``--jars`` and
    ``--driver-class-path`` would go unseen (and a local session replace the submitted master)."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # joins spark-submit's JVM; starts none
    return SparkConf()


def _jvm_environment_has(s3: S3Settings) -> bool:
    """The running driver JVM's environment holds exactly ``s3``'s keys (and no session token)."""
    from pyspark import SparkContext

    if SparkContext._jvm is None:
        return False
    getenv = SparkContext._jvm.java.lang.System.getenv
    wanted = {**s3.credentials_env(), "AWS_SESSION_TOKEN": None}
    return all(getenv(name) == value for name, value in wanted.items())


@contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """``os.environ`` with ``changes`` (None: unset) while a child process is started, then as before."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_session(
    app_name: str,
    s3: S3Settings | None = None,
    jars_dir: Path | None = None,
    master: str | None = None,
    extra_conf: Mapping[str, str] | None = None,
    log_level: str = "WARN",
):
    """A SparkSession with Delta + Kafka + S3A. ``master`` defaults to spark-submit's, else local[*];
    the JVM logs at ``log_level`` (DP_SPARK_LOG_LEVEL overrides)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    submitted = submitted_conf()
    submitted_master = submitted.get("spark.master", None) if submitted else None
    # spark-submit --jars/--driver-class-path …: the connectors are already on the classpath.
    given = (submitted.get("spark.jars", "") + submitted.get("spark.driver.extraClassPath", "")) if submitted else ""
    jars = [] if any(p in given for p in REQUIRED_JARS) else connector_jars(jars_dir or jars_dir_from_env())
    builder = SparkSession.builder.appName(app_name)
    if master or not submitted_master:
        builder = builder.master(master or "local[*]")
    local = (master or submitted_master or "local").startswith("local")
    jvm_starts_here = submitted is None
    # A local driver reads the S3 keys from its environment: the JVM pyspark is about to launch
    # inherits them, and one already running (spark-submit's, or an earlier session's) is used
    # that way when its environment holds the same keys (the local platform exports them).
    launching = jvm_starts_here and SparkContext._gateway is None
    keys_from_env = s3 is not None and local and (launching or _jvm_environment_has(s3))
    conf = session_conf(
        jars, s3, extra_conf, local=local, jvm_starts_here=local and jvm_starts_here, s3_keys_from_env=keys_from_env
    )
    # Otherwise a local JVM pyspark started gets them after start, in the live Hadoop configuration
    # its in-process executors read: as conf they would be `--conf` arguments of that JVM, in `ps`.
    hidden = {k: conf.pop(k) for k in SECRET_CONF if k in conf} if local and jvm_starts_here else {}
    for key, value in conf.items():
        builder = builder.config(key, value)
    launch_env = {**s3.credentials_env(), "AWS_SESSION_TOKEN": None} if keys_from_env and launching else {}
    with _environment(launch_env):
        spark = builder.getOrCreate()
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in hidden.items():
        hadoop_conf.set(key.removeprefix("spark.hadoop."), value)
    spark.sparkContext.setLogLevel(os.environ.get("DP_SPARK_LOG_LEVEL", log_level))
    return spark
