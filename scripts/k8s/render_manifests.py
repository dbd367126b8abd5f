#!/usr/bin/env python3
"""Write k8s/spark/<job>.yaml from the chart: the one source of the SparkApplication specs.

    python3 scripts/k8s/render_manifests.py           # what `task k8s:manifests` runs
    python3 scripts/k8s/render_manifests.py --check   # exit 1 if k8s/spark/ differs from the chart

The chart's templates/spark/spark-application.yaml renders every job of `spark.jobs` (with
spark.renderApplications=true); `kubectl apply -f k8s/spark/ingest.yaml` runs one by hand and the
Airflow DAGs submit the same files (SparkKubernetesOperator application_file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from datapipeline import paths  # noqa: E402

CHART = ROOT / "charts" / "datapipeline"
OUT = ROOT / "k8s" / "spark"
TEMPLATE = "templates/spark/spark-application.yaml"
HEADER = (
    "# Generated from charts/datapipeline/{template} by scripts/k8s/render_manifests.py\n"
    "# (`task k8s:manifests`); do not edit: change the chart's values and re-render.\n"
    "# Run by hand once the chart is installed: kubectl apply -f k8s/spark/{name}.yaml\n"
)


def helm_binary() -> str:
    for c in (os.environ.get("DP_HELM"), str(paths.BIN_DIR / "helm"), shutil.which("helm")):
        if c and Path(c).is_file():
            return c
    raise SystemExit("helm not found: run `task bootstrap` or set DP_HELM")


def render() -> dict[str, str]:
    proc = subprocess.run(
        [
            helm_binary(),
            "template",
            "datapipeline",
            str(CHART),
            "--namespace",
            "datapipeline",
            "--set",
            "spark.renderApplications=true",
            "--show-only",
            TEMPLATE,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    files = {}
    for doc in proc.stdout.split("\n---\n"):
        body = "\n".join(line for line in doc.splitlines() if not line.startswith("# Source:")).strip()
        if body in ("", "---"):
            continue
        name = yaml.safe_load(body)["metadata"]["name"]
        files[name] = HEADER.format(template=TEMPLATE, name=name) + body.removeprefix("---").lstrip() + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    files = render()
    current = {p.stem: p.read_text(encoding="utf-8") for p in OUT.glob("*.yaml")}
    if args.check:
        if current != files:
            print("k8s/spark/ differs from the chart: run python3 scripts/k8s/render_manifests.py", file=sys.stderr)
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in set(current) - set(files):
        (OUT / f"{stale}.yaml").unlink()
    for name, text in files.items():
        (OUT / f"{name}.yaml").write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(f'k8s/spark/{n}.yaml' for n in sorted(files))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
