"""Peak resident memory (VmHWM: the kernel's high-water mark of RSS) of the Spark driver JVM
and of this Python process, read from ``/proc/<pid>/status``: exact, no sampling."""

from __future__ import annotations

import os
from pathlib import Path


def parse_vm_hwm(status_text: str) -> int:
    """``/proc/<pid>/status`` text -> VmHWM in bytes."""
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            if unit.lower() != "kb":
                raise ValueError(f"unexpected VmHWM unit {unit!r}")
            return int(value) * 1024
    raise ValueError("no VmHWM line in /proc status (not Linux?)")


def peak_rss(pid: int) -> int:
    return parse_vm_hwm(Path(f"/proc/{pid}/status").read_text())


def driver_jvm_pid(spark) -> int:
    """The pid of the JVM behind this SparkSession (local mode: the Spark driver)."""
    return int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())


def driver_peaks(spark) -> dict[str, float]:
    mib = 1024 * 1024
    conf = spark.sparkContext.getConf()
    return {
        "jvm_pid": driver_jvm_pid(spark),
        "jvm_peak_rss_mb": peak_rss(driver_jvm_pid(spark)) / mib,
        "python_peak_rss_mb": peak_rss(os.getpid()) / mib,
        "spark_driver_memory": conf.get("spark.driver.memory", "1g (default)"),
    }
