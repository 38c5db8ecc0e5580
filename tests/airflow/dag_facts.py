"""Load a DAGs folder into a DagBag and print what the tests check, as JSON.

Run by ``.venv-airflow/bin/python`` (the project's virtualenv has no Airflow):

    dag_facts.py DAGS_FOLDER STATE_DIR

Variable and connection lookups are recorded (and find nothing) while the folder is
parsed; afterwards variables answer from ``VARIABLES`` so the tasks' commands can be
built, and the failure callback is called once with ``ECOM_STATE_DIR=STATE_DIR``. The
JSON is the last line of stdout (Airflow logs to stdout too).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from types import SimpleNamespace

from airflow.sdk.execution_time import context as sdk_context

LOOKUPS: list[str] = []
VARIABLES = {"mrjob_runner": "hadoop", "spark_master": "spark://m:7077"}
PARSING = True


def _not_found(key):
    from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse

    return AirflowRuntimeError(
        ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"message": key})
    )


def _variable(key, deserialize_json=False):
    if PARSING:
        LOOKUPS.append(f"variable:{key}")
    if PARSING or key not in VARIABLES:
        raise _not_found(key)
    return VARIABLES[key]


def _connection(conn_id):
    LOOKUPS.append(f"connection:{conn_id}")
    raise KeyError(conn_id)


sdk_context._get_variable = _variable
sdk_context._get_connection = _connection


def _seconds(value) -> float | None:
    return value.total_seconds() if isinstance(value, timedelta) else value


def main(dags_folder: str, state_dir: str) -> None:
    global PARSING
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=dags_folder)
    PARSING = False
    facts: dict = {
        "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
        "lookups": LOOKUPS,
        "dag_ids": sorted(bag.dag_ids),
    }
    dag = bag.dags.get("bda_pipeline")
    if dag is not None:
        facts["dag"] = {
            "schedule": str(dag.schedule),
            "timezone": str(dag.timezone),
            "start_date": dag.start_date.isoformat(),
            "catchup": dag.catchup,
            "tags": sorted(dag.tags),
            "doc_md": bool(dag.doc_md),
            "max_active_runs": dag.max_active_runs,
        }
        facts["tasks"] = {
            t.task_id: {
                "upstream": sorted(t.upstream_task_ids),
                "type": type(t).__name__,
                "retries": t.retries,
                "retry_delay": _seconds(t.retry_delay),
                "retry_exponential_backoff": t.retry_exponential_backoff,
                "max_retry_delay": _seconds(t.max_retry_delay),
                "doc_md": t.doc_md or "",
                "on_failure_callback": [f.__name__ for f in t.on_failure_callback or []],
            }
            for t in dag.tasks
        }
        day_dir = "/data/batch/2026-01-15"
        facts["commands"] = {
            t.task_id: (
                t.python_callable(ds="2026-01-15")
                if t.task_id == "export"
                else t.python_callable(day_dir=day_dir)
            )
            for t in dag.tasks
        }
        os.environ["ECOM_STATE_DIR"] = state_dir
        etl = dag.task_dict["etl"]
        ti = SimpleNamespace(dag_id=dag.dag_id, task_id="etl", run_id="manual__x", try_number=3)
        etl.on_failure_callback[0]({"ti": ti, "ds": "2026-01-15", "exception": OSError("boom")})
    print(json.dumps(facts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
