"""Reconciliation on the real stack: a stream run's HBase export, run through the batch
ETL, matches the running worker's web views exactly; one doctored figure is drift."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from click.testing import CliRunner

from batch import export, reconcile
from batch.cli import batch
from batch.mapreduce.pipeline import run_etl
from streamproc.generator import generate
from streamproc.supervise import start_worker, stop_worker, wait_ready
from tests.integration import stream_harness as h

pytestmark = pytest.mark.integration

DAY = date(2026, 1, 31)
WEB_PORT = 6466


def _records(data):
    names = ("customers", "products", "stock-updates", "orders")
    return [(name, raw) for name in names for raw in h.lines(data, name)]


def test_batch_over_the_hbase_export_reconciles_with_the_stream(stack, unique, tmp_path):
    data = tmp_path / "shop"
    generate(13, 1_000, 200, 5_000, data, fmt="jsonl", dirty_rate=0.01, progress=False)
    want = h.expected_views(data, [])  # pandas over the same files
    settings = h.isolated(stack, unique, park_timeout=5.0, web_port=WEB_PORT)
    url = f"http://127.0.0.1:{WEB_PORT}"
    out = tmp_path / "batch"
    args = ["reconcile", "--out", str(out), "--date", DAY.isoformat(), "--url", url]
    h.create(settings)
    proc = start_worker(settings, tmp_path / "worker.log")
    try:
        wait_ready(settings, proc)
        h.produce(settings, _records(data))
        h.wait_for(settings, want["revenue"]["orders"], want["revenue"]["rejected"], timeout=60)

        meta = export.export_hbase(settings, out, DAY)
        assert meta["counts"]["orders"]["records"] == want["revenue"]["orders"]
        summary = run_etl(out / DAY.isoformat(), "inline")
        # the stream stored only what it accepted: the batch rejects and repairs nothing
        assert summary["counters"]["orders"] == {"kept": want["revenue"]["orders"]}
        assert summary["total"]["revenue"] == want["revenue"]["total_revenue"]

        result = CliRunner().invoke(batch, args)
        assert result.exit_code == 0, result.output
        report = orjson.loads((out / DAY.isoformat() / "reconcile.json").read_bytes())
        assert report["ok"] is True and report["drifts"] == 0
        assert report["revenue"]["total_revenue"]["stream"] == want["revenue"]["total_revenue"]
        assert report["revenue"]["orders"]["stream"] > 4_500
        stream = reconcile.stream_figures(url)
        compared = [dim for dim, keys in stream["sales"].items() if keys]
        assert len(compared) == 8, compared
        assert sum(len(keys) for keys in stream["sales"].values()) > 1_000
        assert len(stream["top_customers"]) == len(stream["top_products"]) == 100

        # one month's revenue off by a cent is drift, and the CLI exits 1
        sales_path = out / DAY.isoformat() / "etl" / "sales.json"
        sales = orjson.loads(sales_path.read_bytes())
        month = max(sales["by"]["month"])
        sales["by"]["month"][month]["revenue"] += 1
        doctored = sales["by"]["month"][month]
        sales_path.write_bytes(orjson.dumps(sales))
        found = reconcile.drift(reconcile.batch_figures(sales), stream)
        assert found["ok"] is False and found["drifts"] == 1
        assert found["sales"] == {
            "month": {
                month: {
                    "batch": doctored,
                    "stream": stream["sales"]["month"][month],
                    "diff": {"revenue": 1, "orders": 0, "quantity": 0},
                }
            }
        }
        result = CliRunner().invoke(batch, args)
        assert result.exit_code == 1, result.output
        assert "drift" in result.output
    finally:
        stop_worker(proc)
        h.destroy(settings)
