"""Where the lake's tables and the job's checkpoints live below one root (``s3a://bucket/prefix`` or
a local path)."""

from __future__ import annotations

from dataclasses import dataclass

# The job's two streaming queries (ingest/job.py), in the order availableNow runs them.
QUERIES = ("bronze", "refine")
TABLES = ("bronze", "quarantine", "silver_events", "silver_orders", "gold_revenue")
_TABLE_PATHS = {
    "bronze": "bronze/order_events_raw",
    "quarantine": "quarantine/order_events",
    "silver_events": "silver/order_events",
    "silver_orders": "silver/orders",
    "gold_revenue": "gold/revenue_per_minute",
}


def query_checkpoint(checkpoint: str, query: str) -> str:
    """Checkpoint of one of the job's streaming queries (``bronze``, ``refine``) below the job's
    checkpoint folder."""
    return f"{checkpoint.rstrip('/')}/{query}"


@dataclass(frozen=True)
class Lake:
    """Table and checkpoint locations below one root (``s3a://bucket/prefix`` or a local path)."""

    root: str

    def table(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{_TABLE_PATHS[name]}"

    @property
    def tables(self) -> dict[str, str]:
        return {name: self.table(name) for name in TABLES}

    def checkpoint(self, job: str = "ingest") -> str:
        return f"{self.root.rstrip('/')}/_checkpoints/{job}"

    @property
    def bucket(self) -> str | None:
        if not self.root.startswith("s3a://"):
            return None
        return self.root.removeprefix("s3a://").split("/", 1)[0]
