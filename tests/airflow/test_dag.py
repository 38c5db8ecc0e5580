"""The DAG as Airflow loads it: no import errors, no lookups while parsing, the tasks in
order, the schedule, retries, docs, the Variables in the commands, the failure record.

Airflow lives in its own virtualenv, so the DagBag is loaded by ``dag_facts.py`` run with
``.venv-airflow/bin/python``; ``make test`` creates that virtualenv first.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_PYTHON = REPO / ".venv-airflow" / "bin" / "python"
FACTS = Path(__file__).with_name("dag_facts.py")
ORDER = ["export", "etl", "analyze", "ml", "reconcile", "publish"]

needs_airflow = pytest.mark.skipif(
    not AIRFLOW_PYTHON.exists(), reason="no .venv-airflow: run `make airflow-venv`"
)


def _facts(tmp_path: Path, dags: Path) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ECOM_"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), str(FACTS), str(dags), str(tmp_path / "state")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def facts(tmp_path_factory) -> tuple[dict, Path]:
    tmp = tmp_path_factory.mktemp("dagbag")
    return _facts(tmp, REPO / "airflow" / "dags"), tmp


@needs_airflow
def test_dagbag_loads_without_errors_or_lookups(facts):
    got, _ = facts
    assert got["import_errors"] == {}
    assert got["dag_ids"] == ["bda_pipeline"]
    assert got["lookups"] == []


@needs_airflow
def test_a_variable_read_while_parsing_is_caught(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "eager.py").write_text(
        "import pendulum\n"
        "from airflow.sdk import Variable, dag, task\n"
        "RUNNER = Variable.get('mrjob_runner', default='local')\n"
        "@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz='UTC'))\n"
        "def eager():\n"
        "    @task\n"
        "    def noop():\n"
        "        return RUNNER\n"
        "    noop()\n"
        "eager()\n"
    )
    assert _facts(tmp_path, dags)["lookups"] == ["variable:mrjob_runner"]


@needs_airflow
def test_schedule_start_and_tags(facts):
    dag = facts[0]["dag"]
    assert dag["schedule"] == "0 2 * * *"
    assert dag["timezone"] == "UTC"
    assert dag["start_date"] == "2026-01-01T00:00:00+00:00"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["tags"] == ["batch", "nightly", "streamproc"]
    assert dag["doc_md"]


@needs_airflow
def test_tasks_run_in_order_and_all_take_the_export_directory(facts):
    tasks = facts[0]["tasks"]
    assert sorted(tasks) == sorted(ORDER)
    assert tasks["export"]["upstream"] == []
    for before, after in zip(ORDER, ORDER[1:], strict=False):
        # each task after the previous one, and every task gets export's XCom
        assert tasks[after]["upstream"] == sorted({before, "export"}), after


@needs_airflow
def test_every_task_retries_with_backoff_records_failures_and_is_documented(facts):
    for task_id, task in facts[0]["tasks"].items():
        assert task["retries"] == 2, task_id
        assert task["retry_delay"] == 120.0, task_id
        assert task["retry_exponential_backoff"] == 2.0, task_id
        assert task["max_retry_delay"] == 1200.0, task_id
        assert task["on_failure_callback"] == ["record_failure"], task_id
        assert "streamproc batch" in task["doc_md"], task_id


@needs_airflow
def test_commands_take_the_day_and_the_variables(facts):
    cli = str(REPO / ".venv" / "bin" / "streamproc")
    day = "--out /data/batch --date 2026-01-15"
    assert facts[0]["commands"] == {
        "export": f"{cli} batch export --date 2026-01-15",
        "etl": f"{cli} batch etl {day} -r hadoop",
        "analyze": f"{cli} batch analyze {day} --stage analysis --master spark://m:7077",
        "ml": f"{cli} batch analyze {day} --stage ml --master spark://m:7077",
        "reconcile": f"{cli} batch reconcile {day}",
        "publish": f"{cli} batch publish {day}",
    }


@needs_airflow
def test_failure_callback_appends_a_record(facts):
    _, tmp = facts
    lines = (tmp / "state" / "airflow" / "failures.jsonl").read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    record.pop("at")
    assert record == {
        "dag_id": "bda_pipeline",
        "task_id": "etl",
        "run_id": "manual__x",
        "ds": "2026-01-15",
        "try_number": 3,
        "error": "OSError: boom",
    }
