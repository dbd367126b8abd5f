#!/usr/bin/env python3
"""Generate each chart's values.schema.json from its values.yaml and the ``# --`` comments.

    python3 scripts/k8s/values_schema.py            # rewrite the schemas (charts/datapipeline, charts/standins)
    python3 scripts/k8s/values_schema.py --check    # exit 1 if a committed schema is stale

Every leaf of values.yaml must have a ``# --`` comment (helm-docs style) right above it; the
comment becomes the leaf's ``description``, its value the ``default`` and its YAML type the
``type``. Mappings without a ``# --`` comment are containers (closed: unknown keys are errors).
A few keys need more than a type (an enum, the shape of list items): see ``SPECIAL``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ("datapipeline", "standins")

QUANTITY = {"type": ["string", "number"], "pattern": r"^[0-9.]+[a-zA-Z]*$"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

NAMESPACE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

# Keys (dotted paths) whose schema is more than "the type of the default", per chart.
DATAPIPELINE: dict[str, dict] = {
    "kafka.mode": {"enum": ["strimzi", "external"]},
    "kafka.metadataMode": {"enum": ["zookeeper", "kraft"]},
    # empty unless kafka.mode=external (check-values.yaml requires it there)
    "kafka.bootstrapServers": {"minLength": 0, "pattern": r"^$|^[^\s,:]+:[0-9]+(,[^\s,:]+:[0-9]+)*$"},
    "s3.mode": {"enum": ["minio-operator", "external"]},
    "s3.endpoint": {"minLength": 0, "pattern": r"^$|^https?://[^\s/]+/?$"},
    "s3.existingSecret": {"minLength": 0, "pattern": r"^$|^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
    "kafka.topics": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "partitions"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.-]*$"},
                "partitions": {"type": "integer", "minimum": 1},
                "config": STRING_MAP,
            },
        },
    },
    "s3.buckets": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.-]{2,62}$"},
    },
    "airflow.serviceAccounts": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "spark.sparkConf": STRING_MAP,
    "spark.jobs": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {
            "type": "object",
            "required": ["mainApplicationFile"],
            "additionalProperties": False,
            "properties": {
                "mainApplicationFile": {"type": "string", "pattern": "^local://"},
                "arguments": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "sparkNamespace": {"pattern": NAMESPACE},
    "spark.lakeRoot": {"pattern": r"^s3a://[a-z0-9][a-z0-9.-]+(/.*)?$"},
    "initJob.timeoutSeconds": {"minimum": 10},
}
STANDINS: dict[str, dict] = {
    "clientNamespaces": {"type": "array", "items": {"type": "string", "pattern": NAMESPACE}},
    "uid": {"minimum": 1},
    "kafka.external.nodePort": {"minimum": 30000, "maximum": 32767},
}
SPECIAL = {"datapipeline": DATAPIPELINE, "standins": STANDINS}
KEY_RE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_.]+):(?P<rest>.*)$")


def doc_comments(text: str) -> dict[str, str]:
    """Dotted key path -> the ``# --`` comment right above it (continuation lines joined)."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = [stripped[4:].strip()]
            continue
        if stripped.startswith("#") and pending is not None:
            pending.append(stripped[1:].strip())
            continue
        if stripped.startswith("-") or not stripped:
            if not stripped:
                pending = None
            continue
        m = KEY_RE.match(line)
        if not m:
            pending = None
            continue
        indent = len(m.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [m.group("key")])
        if pending is not None:
            out[path] = " ".join(pending)
        pending = None
        stack.append((indent, m.group("key")))
    return out


def leaf_type(value: object) -> dict:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string", "minLength": 1}
    if isinstance(value, list):
        return {"type": "array"}
    if isinstance(value, dict):
        return {"type": "object"}
    raise SystemExit(f"unsupported value type {type(value).__name__}")


def build(value: dict, path: str, comments: dict[str, str], missing: list[str], special: dict[str, dict]) -> dict:
    props = {}
    for key, val in value.items():
        p = f"{path}.{key}" if path else key
        desc = comments.get(p)
        if isinstance(val, dict) and desc is None and p not in special:
            props[key] = build(val, p, comments, missing, special)
            continue
        if desc is None:
            missing.append(p)
            desc = ""
        schema = leaf_type(val)
        if key in ("cpu", "memory") and ".resources." in f".{p}.":
            schema = dict(QUANTITY)
        schema.update(special.get(p, {}))
        schema["description"] = desc
        schema["default"] = val
        props[key] = schema
    return {"type": "object", "additionalProperties": False, "properties": props}


def generate(chart: str) -> str:
    text = (ROOT / "charts" / chart / "values.yaml").read_text(encoding="utf-8")
    missing: list[str] = []
    schema = build(yaml.safe_load(text), "", doc_comments(text), missing, SPECIAL[chart])
    if missing:
        raise SystemExit(f"charts/{chart}/values.yaml keys without a '# --' comment: " + ", ".join(missing))
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"Values of the {chart} chart (generated by scripts/k8s/values_schema.py)",
        **schema,
    }
    return json.dumps(schema, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a values.schema.json is out of date")
    args = parser.parse_args(argv)
    stale = []
    for chart in CHARTS:
        text = generate(chart)
        schema = ROOT / "charts" / chart / "values.schema.json"
        if args.check:
            if not schema.exists() or schema.read_text(encoding="utf-8") != text:
                stale.append(str(schema.relative_to(ROOT)))
            continue
        schema.write_text(text, encoding="utf-8")
    if stale:
        print(f"{', '.join(stale)} stale: run python3 scripts/k8s/values_schema.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
