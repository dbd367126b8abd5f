"""The throughput ceiling: Kafka's own consumer perf tool (``kafka-tools`` ConsumerPerformance).

Runs ``java -cp '.local/jars/kafka/*' org.apache.kafka.tools.ConsumerPerformance`` (the jars
``task bootstrap`` built from ``jvm/kafka/pom.xml``, the same classpath the local broker uses)
against the benchmark topic and parses its one CSV result line.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

MAIN_CLASS = "org.apache.kafka.tools.ConsumerPerformance"
DATE_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSS"
LOG4J = (
    "log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
    "log4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
    "log4j.appender.stderr.layout.ConversionPattern=%p %m (%c)%n\n"
)
# Header of the result line -> our key (MB are MiB: the tool divides bytes by 1024*1024).
FIELDS = {
    "data.consumed.in.MB": "mb",
    "MB.sec": "mb_per_s",
    "data.consumed.in.nMsg": "msgs",
    "nMsg.sec": "msgs_per_s",
    "rebalance.time.ms": "rebalance_ms",
    "fetch.time.ms": "fetch_ms",
    "fetch.MB.sec": "fetch_mb_per_s",
    "fetch.nMsg.sec": "fetch_msgs_per_s",
}


class PerfToolError(RuntimeError):
    """The consumer perf tool is missing or failed (message says what to do)."""


def command(jars_dir: Path, bootstrap: str, topic: str, messages: int, group: str, log4j: Path) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise PerfToolError("`java` not found on PATH: install a JDK 17")
    if not any(jars_dir.glob("kafka-tools-*.jar")):
        raise PerfToolError(f"no kafka-tools jar in {jars_dir}: run `task bootstrap`")
    return [
        java,
        "-Xmx512m",
        f"-Dlog4j.configuration=file:{log4j}",
        "-cp",
        f"{jars_dir}/*",
        MAIN_CLASS,
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--messages",
        str(messages),
        "--group",
        group,
        "--timeout",
        "30000",
        "--date-format",
        DATE_FORMAT,
    ]


def parse(stdout: str) -> dict[str, float]:
    """The header + data line of ConsumerPerformance -> {msgs, msgs_per_s, mb, ...}."""
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("start.time"):
            header = [h.strip() for h in line.split(",")]
            values = [v.strip() for v in lines[i + 1].split(",")]
            if len(values) != len(header):
                break
            row = dict(zip(header, values, strict=True))
            return {key: float(row[name]) for name, key in FIELDS.items() if name in row}
    raise PerfToolError(f"unexpected ConsumerPerformance output: {stdout.strip()[:300]!r}")


def run(jars_dir: Path, bootstrap: str, topic: str, messages: int, group: str, work_dir: Path) -> dict[str, float]:
    work_dir.mkdir(parents=True, exist_ok=True)
    log4j = work_dir / "consumer-perf-log4j.properties"
    log4j.write_text(LOG4J)
    cmd = command(jars_dir, bootstrap, topic, messages, group, log4j)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise PerfToolError(f"ConsumerPerformance exited {proc.returncode}: {last}")
    result = parse(proc.stdout)
    if int(result.get("msgs", 0)) < messages:
        raise PerfToolError(f"ConsumerPerformance read {int(result.get('msgs', 0))} of {messages} messages")
    return result
