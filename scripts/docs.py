"""Regenerate the generated parts of ``docs/`` from code and result files (``task docs``).

A generated part sits between two markers and is never edited by hand::

    <!-- BEGIN GENERATED: <name> (scripts/docs.py; do not edit) -->
    ...
    <!-- END GENERATED: <name> -->

Parts and their sources:

* ``contract`` (docs/contract.md): the contract module's docstring, its constants, the quarantine
  reason codes and the generator's hostile kinds (``datapipeline.events``).
* ``bench-latest`` (docs/performance.md): ``python -m datapipeline.bench --markdown`` of the newest
  bench result kept in ``docs/results/bench-<run id>.json`` that skipped no phase.
* ``bench-summary`` (README.md): the targets of that same result, one short table.
* ``bench-soak`` (docs/performance.md): the samples of the newest kept bench result that has a soak
  (``task bench -- --soak 30``), about every five minutes.
* ``faults`` (docs/reliability.md): the fault matrix of the newest fault report kept in
  ``docs/results/faults-<finished at>.json`` (``tests/faults/faultreport.py``).

A part whose source file is not in ``docs/results/`` is left as it is (its text says where its
figures came from). Usage::

    task docs                                         # regenerate every part
    task docs -- --bench .local/bench/latest.json     # keep that bench result, then regenerate
    task docs -- --faults .local/reports/faults.json  # keep that fault report, then regenerate
    task docs -- --check                              # exit 1 if a part is stale (a unit test runs it)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = DOCS / "results"

BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN GENERATED: (?P<name>[\w-]+) [^\n]*-->\n)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)


def _rst_to_markdown(text: str) -> str:
    """The contract docstring (reST-ish) as Markdown: ``x`` -> `x`, roles dropped, ``::`` blocks fenced."""
    text = re.sub(r":(?:data|class|func):`([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            out.append(line.rstrip()[:-1])  # "Fields ...::" -> "Fields ...:"
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```text", *textwrap.dedent("\n".join(block)).strip("\n").splitlines(), "```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out).strip() + "\n"


def contract_part() -> str:
    from datapipeline.events import contract, generator

    first, _, rest = contract.describe().strip().partition("\n")
    reasons = sorted(v for k, v in vars(contract.Reason).items() if k.isupper() and isinstance(v, str))
    constants = [
        ("SCHEMA_VERSION", contract.SCHEMA_VERSION),
        ("EVENT_TYPES", ", ".join(contract.EVENT_TYPES)),
        ("CURRENCIES", ", ".join(contract.CURRENCIES)),
        ("MIN_EVENT_TIME", contract.MIN_EVENT_TIME),
        ("MAX_EVENT_TIME", contract.MAX_EVENT_TIME),
        ("MAX_VALUE_BYTES", f"{contract.MAX_VALUE_BYTES:,} ({contract.MAX_VALUE_BYTES // 2**20} MiB)"),
        ("TRANSPORT_MAX_BYTES", f"{contract.TRANSPORT_MAX_BYTES:,} ({contract.TRANSPORT_MAX_BYTES // 2**20} MiB)"),
        ("MAX_NESTING_DEPTH", contract.MAX_NESTING_DEPTH),
        ("STATE_ORDER", ", ".join(contract.STATE_ORDER)),
        ("FIELDS", ", ".join(contract.FIELDS)),
    ]
    kinds = [
        ("quarantined (`MALFORMED_KINDS`, in the default mix)", generator.MALFORMED_KINDS),
        ("oversized (`OVERSIZED_KINDS`)", generator.OVERSIZED_KINDS),
        ("hostile but valid (`ACCEPTED_KINDS`)", generator.ACCEPTED_KINDS),
    ]
    parts = [
        f"{first.strip()}\n",
        _rst_to_markdown(rest),
        "## Constants\n",
        "| name | value |\n|---|---|\n" + "".join(f"| `{k}` | {v} |\n" for k, v in constants),
        f"## Quarantine reason codes ({len(reasons)})\n",
        "`<code>` or `<code>:<field>` (`Reason.of`): " + ", ".join(f"`{r}`" for r in reasons) + ".\n",
        f"## The generator's hostile corpus ({sum(len(k) for _, k in kinds)} kinds)\n",
        "Each kind is unit-tested for its exact reason (`tests/unit/test_parse.py`) and run through the "
        "continuous stream from real Kafka (`tests/ingest/test_hostile_input.py`).\n",
        "| kinds | count | names |\n|---|---|---|\n"
        + "".join(f"| {label} | {len(k)} | {', '.join(f'`{n}`' for n in sorted(k))} |\n" for label, k in kinds),
    ]
    return "\n".join(parts)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _newest(pattern: str) -> Path | None:
    found = sorted(RESULTS.glob(pattern))
    return found[-1] if found else None


def _newest_complete_bench() -> Path | None:
    """The newest kept bench result that ran every phase (a soak-only run skips some)."""
    for path in sorted(RESULTS.glob("bench-*.json"), reverse=True):
        if not json.loads(path.read_text()).get("config", {}).get("skip"):
            return path
    return None


def bench_part() -> str | None:
    path = _newest_complete_bench()
    if path is None:
        return None
    from datapipeline.bench import stats

    result = json.loads(path.read_text())
    host = result.get("host", {})
    minutes = sum(result.get("phases", {}).values()) / 60
    head = (
        f"Run `{result['run_id']}` (`{_shown(path)}`), {host.get('cpus')} cores, load average "
        f"{host.get('loadavg_start', 0):.1f} at the start and {host.get('loadavg_end', 0):.1f} at the end"
        + (f", {minutes:.1f} minutes in all" if minutes else "")
        + ":\n"
    )
    # Recomputed from the figures (as the README's table is), not the strings the run stored.
    targets = "".join(f"- {stats.target_line(name, t)}\n" for name, t in stats.targets(result).items())
    return f"{head}\n{stats.markdown(result)}\n\nTargets:\n\n{targets}"


def bench_summary_part() -> str | None:
    path = _newest_complete_bench()
    if path is None:
        return None
    from datapipeline.bench import stats

    result = json.loads(path.read_text())
    return (
        f"`task bench` run `{result['run_id']}` ({result.get('host', {}).get('cpus')} cores; "
        f"[all figures and the method](docs/performance.md)):\n\n{stats.targets_markdown(result)}\n"
    )


def bench_soak_part() -> str | None:
    from datapipeline.bench import stats

    for path in sorted(RESULTS.glob("bench-*.json"), reverse=True):
        result = json.loads(path.read_text())
        table = stats.soak_markdown(result)
        if table is not None:
            soak = result["soak"]
            if soak.get("stopped"):
                return (
                    f"Run `{result['run_id']}` (`{_shown(path)}`), {result.get('host', {}).get('cpus')} cores: "
                    f"the soak **ended early** after {soak['minutes']} minutes ({soak['stopped']}):\n\n{table}\n"
                )
            return (
                f"Run `{result['run_id']}` (`{_shown(path)}`), {result.get('host', {}).get('cpus')} cores, "
                f"{soak['minutes']} minutes; after the {soak['warmup_s']:g} s warm-up: driver RSS growth "
                f"{soak['rss_growth_pct']} % (largest of the two drivers), refine lag at most "
                f"{soak['max_lag_s']} s and {soak['lag_trend_s']:+} s from the first third to the last, "
                f"at most {soak['files_max']:,} active files in one table:\n\n{table}\n"
            )
    return None


def faults_part() -> str | None:
    path = _newest("faults-*.json")
    if path is None:
        return None
    sys.path.insert(0, str(ROOT / "tests" / "faults"))
    import faultreport

    body = json.loads(path.read_text())
    return (
        f"Report `{_shown(path)}`, finished {body['finished_at']} on {body['cpus']} CPUs:\n\n"
        f"{faultreport.markdown(body['results'])}\n"
    )


PARTS: dict[str, tuple[Path, Callable[[], str | None]]] = {
    "contract": (DOCS / "contract.md", contract_part),
    "bench-latest": (DOCS / "performance.md", bench_part),
    "bench-summary": (ROOT / "README.md", bench_summary_part),
    "bench-soak": (DOCS / "performance.md", bench_soak_part),
    "faults": (DOCS / "reliability.md", faults_part),
}


def render(text: str, name: str, body: str) -> str:
    def swap(m: re.Match) -> str:
        return m["begin"] + body.rstrip("\n") + "\n" + m["end"] if m["name"] == name else m[0]

    new, n = BLOCK.subn(swap, text)
    if not any(m["name"] == name for m in BLOCK.finditer(text)):
        raise SystemExit(f"docs: error: no generated part {name!r} in the document")
    return new if n else text


def keep(source: Path, kind: str) -> Path:
    """Copy a result file into docs/results/ under a name that sorts by time."""
    body = json.loads(source.read_text())
    stamp = body["run_id"] if kind == "bench" else re.sub(r"[^0-9TZ]", "", body["finished_at"])
    target = RESULTS / f"{kind}-{stamp}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="docs", description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", type=Path, help="a bench result JSON to keep in docs/results/ first")
    p.add_argument("--faults", type=Path, help="a fault report JSON to keep in docs/results/ first")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a generated part is stale")
    args = p.parse_args(argv)
    for source, kind in ((args.bench, "bench"), (args.faults, "faults")):
        if source is not None:
            if not source.is_file():
                print(f"docs: error: {source} not found", file=sys.stderr)
                return 2
            print(f"kept {keep(source, kind).relative_to(ROOT)}")
    stale = []
    for name, (doc, build) in PARTS.items():
        body = build()
        if body is None:
            print(f"{name}: no source in {RESULTS.relative_to(ROOT)}/, left as it is")
            continue
        text = doc.read_text()
        new = render(text, name, body)
        if new == text:
            print(f"{name}: {doc.relative_to(ROOT)} up to date")
        elif args.check:
            stale.append(f"{doc.relative_to(ROOT)} ({name})")
        else:
            doc.write_text(new)
            print(f"{name}: {doc.relative_to(ROOT)} regenerated")
    if stale:
        print(f"docs: stale generated parts: {', '.join(stale)}; run `task docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
