"""Every DAG file imports cleanly, without network access, and follows the house rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datapipeline import paths

DAG_DIR = paths.PROJECT_ROOT / "dags"
DAG_FILES = sorted(p for p in DAG_DIR.glob("*.py") if not p.name.startswith("_"))
EXPECTED = {"ingest", "maintenance", "data_quality", "streaming_supervisor"}


@pytest.fixture(scope="module", params=["local", "kubernetes"])
def dagbag(request, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp(f"airflow-home-{request.param}")
    env = {
        **{k: v for k, v in os.environ.items() if k != "DP_TASK_RETRIES"},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Unreachable on purpose: parsing must not need the metadata database.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://nobody:nothing@127.0.0.1:1/none",
        "DP_RUNTIME": request.param,
        "DP_LAKE_ROOT": "s3a://lake/orders",  # as the local platform and the Airflow chart values set it
    }
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("dagbag_probe.py")), str(DAG_DIR)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_import_errors(dagbag):
    assert dagbag["import_errors"] == {}


def test_every_dag_file_defines_a_dag(dagbag):
    files_with_dags = {Path(d["fileloc"]).name for d in dagbag["dags"].values()}
    assert files_with_dags == {p.name for p in DAG_FILES}


def test_expected_dags_present(dagbag):
    assert set(dagbag["dags"]) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_house_rules(dagbag, dag_id):
    if dag_id not in dagbag["dags"]:
        pytest.fail(f"{dag_id} is missing from dags/")
    dag = dagbag["dags"][dag_id]
    assert "datapipeline" in dag["tags"]
    assert dag["doc_md"], "DAG docs (doc_md) are shown in the UI"
    assert dag["catchup"] is False
    assert all(r >= 1 for r in dag["retries"]), "every task retries"
    assert all(dag["timeouts"]), "every task has an execution_timeout"
