"""Print the entries (with their hashes) of the named packages from requirements.lock.

Used by images/spark/Dockerfile so that the Spark image's Python packages are exactly the
project's locked versions, without the rest of the lock (Airflow, pyspark itself: the image has
Spark). Standard library only.

    python3 lock_subset.py requirements.lock delta-spark kafka-python ... > requirements.txt
"""

from __future__ import annotations

import re
import sys


def subset(lock_text: str, names: list[str]) -> str:
    wanted = {re.sub(r"[-_.]+", "-", n).lower() for n in names}
    out, keep, found = [], False, set()
    for line in lock_text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            name = re.sub(r"[-_.]+", "-", re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]).lower()
            keep = name in wanted
            if keep:
                found.add(name)
        if keep and not line.lstrip().startswith("#"):
            out.append(line)
    missing = wanted - found
    if missing:
        raise SystemExit(f"not in the lock file: {', '.join(sorted(missing))}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        sys.stdout.write(subset(fh.read(), sys.argv[2:]))
