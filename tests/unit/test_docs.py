"""The documentation stays true to the code: generated parts are fresh, every `DP_*` variable the
code reads is documented (and nothing else), the README stays short and links every page."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_BYTES = 16 * 1024
VARIABLE = re.compile(r"\bDP_[A-Z0-9_]*[A-Z0-9]\b")
# Where the product, the local platform and the test harness read their variables.
CODE = [
    *sorted((ROOT / "src" / "datapipeline").rglob("*.py")),
    *sorted((ROOT / "dags").glob("*.py")),
    *sorted((ROOT / "spark_apps").glob("*.py")),
    ROOT / "scripts" / "bootstrap.py",
    ROOT / "tests" / "conftest.py",
    ROOT / "tests" / "test_bootstrap.py",
    *sorted((ROOT / "tests" / "faults").glob("*.py")),
]
# Folders whose files may name a variable for the "is read somewhere" direction.
READERS = ("src", "dags", "spark_apps", "scripts", "tests", "images", "charts", "Taskfile.yml", "versions.env")


def _docs_module():
    spec = importlib.util.spec_from_file_location("docs_script", ROOT / "scripts" / "docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _documented() -> set[str]:
    return set(VARIABLE.findall((DOCS / "configuration.md").read_text()))


def test_generated_parts_are_up_to_date(capsys):
    assert _docs_module().main(["--check"]) == 0, capsys.readouterr().err


def test_every_variable_the_code_reads_is_documented():
    used: dict[str, str] = {}
    for path in CODE:
        for name in VARIABLE.findall(path.read_text()):
            used.setdefault(name, str(path.relative_to(ROOT)))
    missing = {n: where for n, where in used.items() if n not in _documented()}
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_every_documented_variable_is_read_somewhere():
    text = ""
    for top in READERS:
        path = ROOT / top
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and p.suffix != ".pyc"]
        text += "".join(p.read_text(errors="replace") for p in files)
    unread = sorted(n for n in _documented() if n not in text)
    assert not unread, f"documented but read nowhere: {unread}"


def test_documented_port_defaults_are_the_code_defaults():
    from dataclasses import fields

    from datapipeline.local.config import Ports

    text = (DOCS / "configuration.md").read_text()
    for f in fields(Ports):
        assert f"| `DP_{f.name.upper()}_PORT` | `{f.default}` |" in text, f.name


def test_readme_is_short_and_links_every_page():
    text = README.read_text()
    assert len(text.encode()) <= README_MAX_BYTES
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)", text))
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert pages <= linked, f"not linked from README.md: {sorted(pages - linked)}"
    assert "CHANGELOG.md" in text
    # CI runs exactly the test command the README gives.
    assert "```bash\ntask test\n```" in text
    assert "task test" in [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", [README, ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path):
    text = re.sub(r"```.*?```|`[^`\n]*`", "", page.read_text(), flags=re.DOTALL)  # code is not a link
    for target, anchor in re.findall(r"\]\((?!https?://)([^)#\s]+)(?:#([^)\s]+))?\)", text):
        path = (page.parent / target).resolve()
        assert path.exists(), f"{page.name}: broken link {target}"
        # A link to a file .gitignore keeps out resolves here and 404s on a clean clone.
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT).returncode == 0
        assert not ignored, f"{page.name}: links {target}, which .gitignore keeps out of git; rename or commit it"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE)
            assert anchor in {_slug(h) for h in headings}, f"{page.name}: no heading #{anchor} in {target}"


def test_bench_and_fault_parts_render_from_kept_results(tmp_path, monkeypatch):
    docs = _docs_module()
    monkeypatch.setattr(docs, "RESULTS", tmp_path)
    assert docs.bench_part() is None and docs.faults_part() is None  # nothing kept: parts stay as they are
    bench = {
        "run_id": "20990101T000000Z",
        "host": {"cpus": 2, "loadavg_start": 1.0, "loadavg_end": 2.0},
        "phases": {"a": 60.0, "b": 30.0},
        "raw_consume": {"fetch_msgs_per_s": 1000.0, "fetch_mb_per_s": 1.0},
        "bronze_only": {"rows_per_s": 600.0},
        # Stored by an older run: the part recomputes the targets from the figures instead.
        "targets": {"bronze_ingest_ratio": {"target": ">= 0.5", "value": 0.6, "met": True}},
    }
    (tmp_path / "bench-20990101T000000Z.json").write_text(json.dumps(bench))
    faults = {
        "finished_at": "2099-01-01T00:00:00Z",
        "cpus": 2,
        "results": [
            {
                "fault": "f",
                "injected": "i",
                "recovered_by": "r",
                "recovery_s": 1.25,
                "measured": "m",
                "lost": 0,
                "duplicated": 0,
                "notes": "",
            }
        ],
    }
    (tmp_path / "faults-20990101T000000Z.json").write_text(json.dumps(faults))
    assert docs.bench_soak_part() is None  # no kept run has a soak
    samples = [
        {
            "t": 30.0 * i,
            "rss_mb": {"bronze": 1000.0 + i, "refine": 800.0},
            "bronze_backlog_records": 5,
            "refine_lag_s": 2.0,
            "files": {"bronze": 10 * i, "silver_events": i},
        }
        for i in range(1, 13)
    ]
    soak_only = {
        "run_id": "20990102T000000Z",
        "host": {"cpus": 2},
        "config": {"skip": ["continuous"]},
        "soak": {
            "minutes": 6.0,
            "warmup_s": 60.0,
            "rss_growth_pct": 1.0,
            "max_lag_s": 2.0,
            "lag_trend_s": 0.0,
            "files_max": 120,
            "samples": samples,
        },
    }
    (tmp_path / "bench-20990102T000000Z.json").write_text(json.dumps(soak_only))
    soak = docs.bench_soak_part()
    assert "Run `20990102T000000Z`" in soak and "at most 120 active files" in soak
    # about every five minutes, and the last: minutes 0.5, 5.5 and 6.0
    assert [line.split(" | ")[0] for line in soak.splitlines() if line.startswith("| ") and "." in line[:6]] == [
        "| 0.5",
        "| 5.5",
        "| 6.0",
    ]
    # a newer soak that ended before its warm-up was over: said so, with the samples it has
    stopped = {**soak_only, "run_id": "20990103T000000Z"}
    stopped["soak"] = {"minutes": 0.5, "samples": samples[:1], "stopped": "the refine driver stopped after 0.5 min"}
    (tmp_path / "bench-20990103T000000Z.json").write_text(json.dumps(stopped))
    soak = docs.bench_soak_part()
    assert "Run `20990103T000000Z`" in soak and "**ended early** after 0.5 minutes (the refine driver stopped" in soak
    assert "| 0.5 |" in soak
    part = docs.bench_part()  # not the newer soak-only runs: they skipped phases
    assert "Run `20990101T000000Z`" in part and "1.5 minutes in all" in part
    assert "| raw Kafka consume" in part and "- bronze_vs_raw_consume >= 0.5: met (0.60)" in part
    assert "bronze_ingest_ratio" not in part and "- refine_rows_per_s >= 15,000: not measured (n/a)" in part
    assert "| f | i | r | 1.2 (m) | 0 | 0 |  |" in docs.faults_part()
    doc = "x\n<!-- BEGIN GENERATED: faults (scripts/docs.py; do not edit) -->\nold\n<!-- END GENERATED: faults -->\ny\n"
    assert docs.render(doc, "faults", "new\n") == doc.replace("old", "new")
