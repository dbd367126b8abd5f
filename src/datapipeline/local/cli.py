"""Manage the local platform: ``python -m datapipeline.local {up,down,status,logs,env}``.

    up [SERVICE ...]       start (or adopt) services, each after what it needs, and wait until healthy
    down [SERVICE ...]     stop services (SIGTERM, then SIGKILL), data is kept
    status                 one table: service, state, pid, address, memory (RSS), log file
    logs [SERVICE] [-n N]  the last N lines of each service log
    env                    shell exports for clients (Kafka bootstrap, S3 endpoint, credentials)

Ports: DP_ZOOKEEPER_PORT, DP_KAFKA_PORT, DP_MINIO_PORT, DP_MINIO_CONSOLE_PORT, DP_POSTGRES_PORT,
DP_AIRFLOW_PORT.
State (data, logs, generated secrets): DP_PLATFORM_DIR, default .local/platform.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import deque

from datapipeline.local.platform import AIRFLOW, CORE, LocalPlatform
from datapipeline.local.service import ServiceError, ServiceStatus


def human_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return "-"


def status_table(rows: list[ServiceStatus]) -> str:
    header = ("SERVICE", "STATE", "PID", "ADDRESS", "RSS", "LOG")
    cells = [header] + [
        (r.name, r.state, str(r.pid or "-"), r.address, human_bytes(r.rss_bytes), str(r.log_file)) for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def platform_ok(rows: list[ServiceStatus]) -> bool:
    """Every service `up` starts is healthy; the supervised stream may be stopped, but not crashed."""
    return all(r.state == "healthy" if r.name in CORE + AIRFLOW else r.state != "crashed" for r in rows)


def access_lines(platform: LocalPlatform) -> str:
    user, password = platform.airflow_login
    return (
        f"\nAirflow UI:    {platform.airflow_url}  login: {user} / {password}"
        f"\nMinIO console: {platform.minio.console_url()}  login: {platform.s3_access_key} / {platform.s3_secret_key}"
        f"\nSecrets file:  {platform.cfg.secrets_file}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dp-local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down"):
        p = sub.add_parser(name, help=f"{name} services (all by default)")
        p.add_argument("services", nargs="*")
    sub.add_parser("status", help="one table of all services")
    logs = sub.add_parser("logs", help="tail service logs")
    logs.add_argument("services", nargs="*")
    logs.add_argument("-n", "--lines", type=int, default=40)
    sub.add_parser("env", help="shell exports for clients of the platform")
    args = parser.parse_args(argv)

    try:
        platform = LocalPlatform()
        if args.command == "up":
            platform.up(args.services)
            print()
            print(status_table(platform.status()))
            print(access_lines(platform))
        elif args.command == "down":
            platform.down(args.services)
        elif args.command == "status":
            rows = platform.status()
            print(status_table(rows))
            print(access_lines(platform))
            return 0 if platform_ok(rows) else 3
        elif args.command == "logs":
            for service in platform.select(args.services):
                print(f"==> {service.log_file} <==")
                if service.log_file.is_file():
                    with service.log_file.open(errors="replace") as fh:
                        sys.stdout.writelines(deque(fh, maxlen=args.lines))
                else:
                    print("(no log yet)")
        elif args.command == "env":
            for key, value in platform.client_env().items():
                print(f"export {key}={shlex.quote(value)}")
    except (ServiceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
