"""Parse dags/ with Airflow's DagBag in a clean process, with the network cut off.

Run by tests/dags/test_dag_integrity.py as a subprocess (so Airflow's configuration is
this probe's own, not whatever the test process imported first). Prints one JSON object.
Any attempt to open a socket while parsing (a database query, a connection lookup, an
HTTP call) raises, so it shows up as an import error.
"""

from __future__ import annotations

import json
import socket
import sys


class NetworkAtParseTime(RuntimeError):
    pass


def _refuse(*_args, **_kwargs):
    raise NetworkAtParseTime("DAG file opened a network connection while being parsed")


def main(dag_folder: str) -> None:
    from airflow.dag_processing.dagbag import DagBag

    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.create_connection = _refuse  # type: ignore[assignment]
    bag = DagBag(dag_folder=dag_folder)
    print(
        json.dumps(
            {
                "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
                "dags": {
                    dag_id: {
                        "fileloc": dag.fileloc,
                        "tags": sorted(dag.tags),
                        "tasks": sorted(t.task_id for t in dag.tasks),
                        "retries": [t.retries for t in dag.tasks],
                        "timeouts": [t.execution_timeout is not None for t in dag.tasks],
                        "doc_md": bool(dag.doc_md),
                        "catchup": dag.catchup,
                    }
                    for dag_id, dag in bag.dags.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
