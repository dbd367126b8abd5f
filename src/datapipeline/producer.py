"""Produce generated order events to Kafka (CLI: ``python -m datapipeline.producer --help``).

Importable for tests: ``produce(records, bootstrap, topic)`` sends :class:`Record` s in order,
waits for every acknowledgement and returns a :class:`ProduceResult`; failures are counted and
reported, never swallowed. The CLI shows a progress bar with the live rate and exits 1 when any
record was not delivered; a Kafka that cannot be reached or refuses the topic is one line on
stderr (exit 2), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from datapipeline import kafka_admin, settings
from datapipeline.events.contract import TRANSPORT_MAX_BYTES
from datapipeline.events.generator import GeneratorOptions, Record, generate


@dataclass
class ProduceResult:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.delivered == self.sent


def produce(
    records: Sequence[Record],
    bootstrap: str,
    topic: str,
    rate: float | None = None,
    on_progress: Callable[[int, ProduceResult], None] | None = None,
    timeout_s: float = 60.0,
) -> ProduceResult:
    """Send ``records`` in order (acks=all, idempotent producer, one in-flight request per
    connection so retries cannot reorder), optionally limited to ``rate`` records/s."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    result = ProduceResult()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        enable_idempotence=True,
        max_in_flight_requests_per_connection=1,
        linger_ms=5,
        retries=5,
        request_timeout_ms=15_000,
        # Oversized values (over the contract's MAX_VALUE_BYTES) must reach the quarantine.
        max_request_size=TRANSPORT_MAX_BYTES,
    )

    def delivered(_meta) -> None:
        result.delivered += 1

    def failed(exc: BaseException) -> None:
        result.failed += 1
        result.errors[f"{type(exc).__name__}: {exc}"[:200]] += 1

    start = time.monotonic()
    try:
        for i, rec in enumerate(records):
            if rate:
                ahead = (i / rate) - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            try:
                fut = producer.send(topic, key=rec.key, value=rec.value, headers=list(rec.headers))
            except KafkaError as exc:
                result.sent += 1
                failed(exc)
                continue
            result.sent += 1
            fut.add_callback(delivered).add_errback(failed)
            if on_progress and (i % 200 == 0 or i == len(records) - 1):
                on_progress(i + 1, result)
        producer.flush(timeout=timeout_s)
    finally:
        producer.close(timeout=10)
        result.seconds = time.monotonic() - start
    if on_progress:
        on_progress(len(records), result)
    return result


def _one_line(exc: BaseException) -> str:
    """``KafkaTimeoutError: Unable to bootstrap from [...]``: the error's name and its first line."""
    name = type(exc).__name__
    lines = str(exc).strip().splitlines()
    if not lines:
        return name
    return lines[0] if lines[0].startswith(name) else f"{name}: {lines[0]}"


def _progress_bar(total: int) -> Callable[[int, ProduceResult], None]:
    start = time.monotonic()
    tty = sys.stderr.isatty()

    def show(done: int, res: ProduceResult) -> None:
        elapsed = max(time.monotonic() - start, 1e-6)
        width = 30
        filled = int(width * done / total) if total else width
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} sent, {res.delivered} acked, "
            f"{res.failed} failed, {done / elapsed:,.0f} rec/s"
        )
        if tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif done == total and res.delivered + res.failed == res.sent:
            print(line, file=sys.stderr)

    return show


def parser() -> argparse.ArgumentParser:
    env = os.environ
    p = argparse.ArgumentParser(
        prog="produce",
        description="Send generated order-lifecycle events (with injected duplicates, out-of-order and "
        "malformed records) to Kafka.",
    )
    p.add_argument("--bootstrap", default=env.get("DP_KAFKA_BOOTSTRAP"), help="host:port (DP_KAFKA_BOOTSTRAP)")
    p.add_argument("--topic", default=settings.get("DP_TOPIC", env), help="(DP_TOPIC)")
    p.add_argument(
        "--partitions",
        type=int,
        default=3,
        help="partitions when the topic has to be created (default 3; replication factor 1)",
    )
    p.add_argument("--count", type=int, default=1000, help="records to send (default 1000)")
    p.add_argument("--rate", type=float, default=None, help="records per second (default: as fast as possible)")
    p.add_argument("--seed", type=int, default=42, help="generator seed (same seed, same records)")
    p.add_argument("--duplicates", type=float, default=0.05, help="share of events re-sent (default 0.05)")
    p.add_argument("--out-of-order", type=float, default=0.05, help="share of events sent late (default 0.05)")
    p.add_argument("--malformed", type=float, default=0.02, help="share of malformed records (default 0.02)")
    p.add_argument(
        "--extra-field-from",
        type=int,
        default=None,
        help="events from this index on carry a new optional field `channel` (schema evolution demo)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.bootstrap:
        print(
            "produce: error: Kafka bootstrap not set: pass --bootstrap or set DP_KAFKA_BOOTSTRAP",
            file=sys.stderr,
        )
        return 2
    from kafka.errors import KafkaError

    from datapipeline.preflight import PreflightError, check_kafka

    try:
        check_kafka(args.bootstrap)
        if kafka_admin.create_topic(args.bootstrap, args.topic, args.partitions):
            print(f"created topic {args.topic} ({args.partitions} partitions)", file=sys.stderr)
    except PreflightError as exc:
        print(f"produce: error: {exc}", file=sys.stderr)
        return 2
    except KafkaError as exc:  # reachable for the preflight, then failed or refused the topic
        print(f"produce: error: topic {args.topic} at {args.bootstrap}: {_one_line(exc)}", file=sys.stderr)
        return 2
    opts = GeneratorOptions(
        duplicate_rate=args.duplicates,
        out_of_order_rate=args.out_of_order,
        malformed_rate=args.malformed,
        extra_field_from=args.extra_field_from,
    )
    records = generate(args.count, seed=args.seed, options=opts)
    kinds = Counter(r.kind for r in records)
    try:
        res = produce(records, args.bootstrap, args.topic, rate=args.rate, on_progress=_progress_bar(len(records)))
    except KafkaError as exc:  # e.g. no broker answered the producer's bootstrap: nothing was sent
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(f"produce: error: sending to {args.topic} at {args.bootstrap}: {_one_line(exc)}", file=sys.stderr)
        return 1
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(
        f"sent {res.sent} records to {args.topic} in {res.seconds:.1f}s "
        f"({res.sent / max(res.seconds, 1e-6):,.0f} rec/s): {kinds['event']} events, "
        f"{kinds['duplicate']} duplicates, {kinds['malformed']} malformed; "
        f"{res.delivered} acknowledged, {res.failed} failed"
    )
    for err, n in res.errors.most_common(5):
        print(f"  delivery failure x{n}: {err}", file=sys.stderr)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
