"""``airflow dags test bda_pipeline DAY`` on the real stack (what ``make dag-test`` runs):
a small shop streamed through a worker, then every task succeeds, the day's outputs
match pandas and the stream, and a second run for the same day leaves the same outputs.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest

from streamproc import hbase
from streamproc.generator import generate
from streamproc.supervise import airflow_env, start_worker, stop_worker, wait_ready
from tests.integration import stream_harness as h

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = REPO / ".venv-airflow" / "bin" / "airflow"
DAY = "2026-01-15"
WEB_PORT = 6566
#: files whose bytes must not change between two runs for the same day
STABLE = (
    "customers.jsonl",
    "products.jsonl",
    "orders.jsonl",
    "etl/customers.jsonl",
    "etl/products.jsonl",
    "etl/orders.jsonl",
    "etl/rejects.jsonl",
    "etl/sales.json",
    "reconcile.json",
)
#: Spark tables compared by content (row order is Spark's business)
SALES_TABLES = ("totals", "monthly_sales", *(f"sales_by_{d}" for d in h.DIMENSIONS[3:]))


def _records(data: Path) -> list[tuple[str, bytes]]:
    names = ("customers", "products", "stock-updates", "orders")
    return [(name, raw) for name in names for raw in h.lines(data, name)]


def _airflow(env: dict, log: Path, *args: str) -> float:
    t0 = time.monotonic()
    with log.open("ab") as out:
        done = subprocess.run(
            [str(AIRFLOW), *args], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=420
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-6000:]
        raise AssertionError(f"airflow {' '.join(args)} exited {done.returncode}:\n{tail}")
    return time.monotonic() - t0


def _snapshot(day_dir: Path) -> dict:
    files = sorted(str(p.relative_to(day_dir)) for p in day_dir.rglob("*") if p.is_file())
    digests = {name: hashlib.sha256((day_dir / name).read_bytes()).hexdigest() for name in STABLE}
    tables = {}
    for name in SALES_TABLES:
        df = pd.read_parquet(day_dir / "spark" / f"{name}.parquet")
        tables[name] = df.sort_values(list(df.columns)).to_dict("records")
    return {"files": files, "digests": digests, "tables": tables}


def _sales_summary(settings) -> dict[bytes, dict[bytes, bytes]]:
    conn = hbase.connect(settings)
    try:
        return dict(conn.table(settings.table_name("sales_summary")).scan())
    finally:
        conn.close()


@pytest.mark.timeout(900)
@pytest.mark.skipif(not AIRFLOW.exists(), reason="no .venv-airflow: run `make airflow-venv`")
def test_dag_runs_every_task_and_a_rerun_leaves_the_same_outputs(stack, unique, tmp_path):
    data = tmp_path / "shop"
    generate(17, 300, 60, 2_000, data, fmt="jsonl", dirty_rate=0.01, progress=False)
    want = h.expected_views(data, [])  # pandas over the same files
    settings = h.isolated(stack, unique, park_timeout=5.0, web_port=WEB_PORT)
    # mrjob's inline runner (an Airflow Variable from the environment) saves ~20 s a run
    env = airflow_env(settings, tmp_path, "inline")
    log = tmp_path / "airflow.log"
    day_dir = tmp_path / "data" / "batch" / DAY
    h.create(settings)
    proc = start_worker(settings, tmp_path / "worker.log")
    try:
        wait_ready(settings, proc)
        h.produce(settings, _records(data))
        h.wait_for(settings, want["revenue"]["orders"], want["revenue"]["rejected"], timeout=60)

        _airflow(env, log, "db", "migrate")
        first = _airflow(env, log, "dags", "test", "bda_pipeline", DAY)
        assert "-r inline" in log.read_text(errors="replace")  # the Variable reached etl
        print(f"\nbda_pipeline, first run: {first:.1f} s")
        before = _snapshot(day_dir)
        summary = _sales_summary(settings)

        reconciled = orjson.loads((day_dir / "reconcile.json").read_bytes())
        assert reconciled["ok"] is True and reconciled["drifts"] == 0
        sales = orjson.loads((day_dir / "etl" / "sales.json").read_bytes())
        assert sales["total"]["revenue"] == want["revenue"]["total_revenue"]
        results = orjson.loads((day_dir / "spark" / "results.json").read_bytes())
        assert results["date"] == DAY
        assert results["totals"]["revenue"] == want["revenue"]["total_revenue"]
        assert results["totals"]["orders"] == want["revenue"]["orders"]
        assert {"rfm_k", "forecast_mape"} <= set(results)
        for name in ("rfm_segments", "rfm_profiles", "forecast", "eda_age", "profile_raw"):
            assert f"spark/{name}.parquet" in before["files"], name
        assert "report/index.html" in before["files"]
        assert summary[b"total|all"] == {
            b"batch:revenue": str(want["revenue"]["total_revenue"]).encode(),
            b"batch:orders": str(want["revenue"]["orders"]).encode(),
            b"batch:quantity": str(
                sum(r["quantity"] for r in want["sales"]["month"].values())
            ).encode(),
            b"batch:date": DAY.encode(),
        }
        months = {k.decode().split("|", 1)[1] for k in summary if k.startswith(b"month|")}
        assert months == set(want["sales"]["month"])

        second = _airflow(env, log, "dags", "test", "bda_pipeline", DAY)
        print(f"bda_pipeline, second run: {second:.1f} s")
        after = _snapshot(day_dir)
        assert after["files"] == before["files"]
        assert after["digests"] == before["digests"]
        assert after["tables"] == before["tables"]
        assert _sales_summary(settings) == summary
        assert not (tmp_path / "state" / "airflow" / "failures.jsonl").exists()
    finally:
        stop_worker(proc)
        h.destroy(settings)
