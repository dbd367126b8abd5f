"""``airflow <command>`` with every server it starts on loopback (the local platform's Airflow).

    python -m datapipeline.local.airflow_loopback scheduler

Airflow 3.3's scheduler and triggerer each start a log server (``airflow.utils.serve_logs``; the
scheduler's on ``[logging] worker_log_server_port``, 8793, the triggerer's on
``[logging] trigger_log_server_port``, 8794). It runs uvicorn with ``host=""``: every interface,
IPv4 and IPv6, and no Airflow option moves it. The local platform listens on 127.0.0.1 only, so
importing this module makes a uvicorn server asked for a wildcard host bind :data:`LOOPBACK`
instead. The patch is made at import, so the log server's process has it whether
``multiprocessing`` forks it from this one or spawns it (a spawned child imports this module
again as its ``__main__``).

The api-server's own host is given on its command line; the log servers are fetched by the
api-server at ``http://<task's hostname>:<port>``, so the platform's Airflow also names its
hostname :data:`LOOPBACK` (``[core] hostname_callable`` = :func:`hostname`).
"""

from __future__ import annotations

import sys

import uvicorn

LOOPBACK = "127.0.0.1"
WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # noqa: S104 - names the addresses replaced, binds nothing

_uvicorn_run = uvicorn.run


def _run_on_loopback(app, *args, **kwargs):
    if kwargs.get("host", LOOPBACK) in WILDCARD_HOSTS:
        kwargs["host"] = LOOPBACK
    return _uvicorn_run(app, *args, **kwargs)


uvicorn.run = _run_on_loopback


def hostname() -> str:
    """The hostname of this Airflow's components and tasks (``[core] hostname_callable``)."""
    return LOOPBACK


def main(argv: list[str]) -> None:
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *argv]
    airflow_main()


if __name__ == "__main__":
    main(sys.argv[1:])
