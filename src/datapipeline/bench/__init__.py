"""``task bench``: throughput, freshness, MERGE speed, driver memory and file counts in one run.

A benchmark, not a test: ``python -m datapipeline.bench --help``. Results go to
``.local/bench/result-<timestamp>.json`` (+ ``latest.json``) and a PNG chart next to them.
"""
