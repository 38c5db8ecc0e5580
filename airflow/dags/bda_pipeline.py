"""The nightly batch, ``bda_pipeline``: a DAG of `streamproc batch` commands.

Every night at 02:00 UTC, for the run's logical date (`ds`):

export HBase snapshot → MapReduce ETL → Spark analysis → Spark ML → reconcile with the
real-time views → publish (HBase `sales_summary`, HTML report).

Each task runs one `streamproc batch` command in the project's virtualenv and holds no
logic of its own. All of a day's files live in one directory, `<out>/<ds>/`: the export
task returns it (XCom) and the other tasks take it. Each task replaces its own outputs
for that day and nothing else, so any task can be cleared and rerun.

The task processes inherit the environment of the Airflow worker: the project's settings
(`ECOM_*`: HBase, web views, `ECOM_DATA_DIR`) come from there.

**Airflow Variables** (all optional, read when a task runs, never while parsing):

| Variable | Default | Meaning |
| --- | --- | --- |
| `mrjob_runner` | `local` | mrjob runner: `inline`, `local`, or `hadoop` (the stack's launcher) |
| `spark_master` | `local[2]` | Spark master URL |
| `streamproc_bin` | `<repo>/.venv/bin/streamproc` | the project's CLI |
| `batch_out` | `$ECOM_DATA_DIR/batch` | parent of the day directories |

A task that fails for good logs one `bda_pipeline FAILED ...` line and appends a JSON
record to `$ECOM_STATE_DIR/airflow/failures.jsonl` (`$AIRFLOW_HOME` when that is unset).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Variable, dag, task

log = logging.getLogger(__name__)

#: the repository: this file is ``<repo>/airflow/dags/bda_pipeline.py``
REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> str:
    """Return the shell command running ``streamproc batch ARGS`` (called by the tasks)."""
    binary = Variable.get("streamproc_bin", default=str(REPO / ".venv" / "bin" / "streamproc"))
    return shlex.join([binary, "batch", *args])


def _day(day_dir: str) -> list[str]:
    """Return the ``--out``/``--date`` options naming the day directory ``day_dir``."""
    path = Path(day_dir)
    return ["--out", str(path.parent), "--date", path.name]


def record_failure(context: dict[str, Any]) -> None:
    """Log a task's final failure and append it to ``failures.jsonl`` (on_failure_callback)."""
    ti = context["ti"]
    error = context.get("exception")
    record = {
        "at": datetime.now(UTC).isoformat(),
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "ds": context.get("ds"),
        "try_number": ti.try_number,
        "error": f"{type(error).__name__}: {error}" if error else None,
    }
    log.error(
        "bda_pipeline FAILED task=%s ds=%s run_id=%s try=%s: %s",
        record["task_id"],
        record["ds"],
        record["run_id"],
        record["try_number"],
        record["error"],
    )
    home = os.environ.get("ECOM_STATE_DIR")
    folder = Path(home) / "airflow" if home else Path(os.environ.get("AIRFLOW_HOME", "."))
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "failures.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


DEFAULT_ARGS = {
    "owner": "streamproc",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=2),
    "on_failure_callback": record_failure,
}


@dag(
    dag_id="bda_pipeline",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["streamproc", "batch", "nightly"],
    doc_md=__doc__,
)
def bda_pipeline() -> None:
    """Nightly batch over the day's HBase snapshot (see the module's doc)."""

    @task.bash
    def export(ds: str | None = None) -> str:
        """Export the day's HBase snapshot.

        `streamproc batch export --date {{ ds }}`: scans customers, products and orders
        with one upper time bound into `<out>/<ds>/` as JSONL and Parquet. The directory
        is rebuilt aside and swapped in. Its path, printed last on stdout, is this task's
        XCom, the input of every other task.
        """
        out = Variable.get("batch_out", default="")
        return _cli("export", "--date", str(ds), *(["--out", out] if out else []))

    @task.bash
    def etl(day_dir: str) -> str:
        """Run the MapReduce ETL.

        `streamproc batch etl -r <mrjob_runner>`: the mrjob jobs clean customers and
        products, enrich the orders and sum the sales into `<day>/etl/` (clean records,
        rejects with reasons, `sales.json`, `summary.json`). Variable `mrjob_runner`
        (default `local`; `hadoop` runs on the stack's Hadoop).
        """
        return _cli("etl", *_day(day_dir), "-r", Variable.get("mrjob_runner", default="local"))

    @task.bash
    def analyze(day_dir: str) -> str:
        """Run the Spark analysis.

        `streamproc batch analyze --stage analysis`: EDA, raw data profile, sales
        analysis and statistics into `<day>/spark/*.parquet` and `results.json`.
        Variable `spark_master` (default `local[2]`).
        """
        master = Variable.get("spark_master", default="local[2]")
        return _cli("analyze", *_day(day_dir), "--stage", "analysis", "--master", master)

    @task.bash
    def ml(day_dir: str) -> str:
        """Fit the Spark ML models.

        `streamproc batch analyze --stage ml`: RFM customer segments (k-means, k by
        silhouette) and the monthly revenue forecast into `<day>/spark/`, next to the
        analysis tables. Variable `spark_master` (default `local[2]`).
        """
        master = Variable.get("spark_master", default="local[2]")
        return _cli("analyze", *_day(day_dir), "--stage", "ml", "--master", master)

    @task.bash
    def reconcile(day_dir: str) -> str:
        """Reconcile the batch figures with the real-time views.

        `streamproc batch reconcile`: compares the ETL's figures with the stream
        processor's web views (`ECOM_WEB_HOST:ECOM_WEB_PORT`), exactly, in cents, and
        writes `<day>/reconcile.json`. **Any drift fails the task** (after its retries,
        like any failure: the views may be unreachable while a worker restarts) **and so
        the run**: drifting figures are not published.
        """
        return _cli("reconcile", *_day(day_dir))

    @task.bash
    def publish(day_dir: str) -> str:
        """Publish the day's figures and report.

        `streamproc batch publish`: the Spark sales figures into HBase `sales_summary`
        (family `batch`, rows `<dimension>|<key>`, overwritten for the day) and the HTML
        report with its charts into `<day>/report/`.
        """
        return _cli("publish", *_day(day_dir))

    day_dir = export()
    etl(day_dir) >> analyze(day_dir) >> ml(day_dir) >> reconcile(day_dir) >> publish(day_dir)


bda_pipeline()
