"""Hostile text travels unchanged: names, emails and locations with quotes, newlines,
``$(…)``, backticks, semicolons and non-Latin scripts go from the producer through
the worker to HBase, to the web views and the dashboard's columns, and through the
batch export and MapReduce ETL, byte for byte; and none of it runs as a command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from batch.export import export_hbase
from batch.mapreduce.pipeline import run_etl
from bokeh_server.feed import (
    Feed,
    Options,
    customer_columns,
    location_count_columns,
    product_columns,
    sales_columns,
)
from streamproc import hbase
from streamproc.sinks.hbase import row_key
from streamproc.supervise import start_worker, stop_worker, wait_ready
from tests.integration import stream_harness as h
from tests.reliability.figures import record

pytestmark = pytest.mark.integration


def hostile(canary: Path) -> list[str]:
    """Ten texts a shell, a query or a template would trip on (each under 256 chars)."""
    return [
        "Robert'); DROP TABLE customers;--",
        f"$(touch {canary})",
        f"`touch {canary}` & touch {canary}",
        f"\"double\" 'single' ; touch {canary} | cat /etc/passwd",
        "line one\nline two\r\n\ttabbed \\n not a newline",
        "O'Brien & Søn <script>alert(1)</script> %s %d {0} ${HOME}",
        "山田 太郎 · Иван Петров · محمد الأحمد",
        "Ἀριστοτέλης 😀 \u202eRTL override\u202c ﷽",
        '{"json": ["in", "a", "name"]} NULL None null',
        "\\x00 \\u0000 ..\\..\\etc; */ /* -- #",
    ]


def _customers(texts: list[str]) -> list[dict]:
    return [
        {
            "customer_id": i,
            "name": text,
            "email": f"o.brien+%{i}_x-y@exa-mple.co.uk",
            "phone": "+44 (0) 20-7946-0000",
            "age": 20 + 5 * i,
            "gender": "MFO"[i % 3],
            "location": f"{text}, {texts[-i]}",  # "City, Country": both hostile
        }
        for i, text in enumerate(texts, start=1)
    ]


def _products(texts: list[str]) -> list[dict]:
    return [
        {
            "product_id": i,
            "product_name": text,
            "category": texts[-i] + ' & "Media"; $(id)',
            "price": 1000 * i,
            "stock_quantity": 100,
        }
        for i, text in enumerate(texts, start=1)
    ]


def _orders(n: int) -> list[dict]:
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT12:00:00Z")
    return [
        {
            "order_id": 1000 + i,
            "customer_id": i,
            "product_id": i,
            "quantity": i,  # distinct totals: a fixed ranking
            "total_amount": 1000 * i * i,
            "transaction_date": day,
            "payment_method": 1 + i % 5,
        }
        for i in range(1, n + 1)
    ]


def _raw(rows: list[dict]) -> list[bytes]:
    return [json.dumps(r, ensure_ascii=False).encode() for r in rows]


def test_hostile_text_travels_unchanged_and_never_runs(stack, unique, tmp_path):
    canary = tmp_path / "pwned"
    texts = hostile(canary)
    customers, products, orders = _customers(texts), _products(texts), _orders(len(texts))
    settings = h.isolated(stack, unique, web_port=6174)
    h.create(settings)
    proc = start_worker(settings, tmp_path / "worker.log")
    try:
        wait_ready(settings, proc)
        records = [("customers", r) for r in _raw(customers)]
        records += [("products", r) for r in _raw(products)]
        h.produce(settings, records + [("orders", r) for r in _raw(orders)])
        h.wait_for(settings, len(orders), 0, timeout=120)

        # HBase: every column holds the UTF-8 bytes that were sent
        conn = hbase.connect(settings)
        try:
            table = conn.table(settings.table_name("customers"))
            for c in customers:
                row = table.row(row_key(c["customer_id"]))
                for field in ("name", "email", "location"):
                    assert row[b"info:" + field.encode()].decode() == c[field]
            table = conn.table(settings.table_name("products"))
            for p in products:
                row = table.row(row_key(p["product_id"]))
                assert row[b"details:product_name"].decode() == p["product_name"]
                assert row[b"details:category"].decode() == p["category"]
        finally:
            conn.close()

        # the web views, as the dashboard reads and shapes them
        feed = Feed(Options(worker_url=f"http://{settings.web_host}:{settings.web_port}"))
        try:
            snap = feed.poll()
        finally:
            feed.stop()
        assert snap.error is None
        views = snap.views
        by_revenue = sorted(customers, key=lambda c: -c["customer_id"])  # total = 1000 i²
        assert customer_columns(views["top_customers"])["name"] == [c["name"] for c in by_revenue]
        assert product_columns(views["top_products_revenue"])["product_name"] == [
            p["product_name"] for p in sorted(products, key=lambda p: -p["product_id"])
        ]
        locations = {c["location"] for c in customers}
        assert set(location_count_columns(views["customers_by_location"])["location"]) == (
            locations
        )
        assert set(sales_columns("location", views["sales_location"])["key"]) == locations
        categories = {p["category"] for p in products}
        assert set(sales_columns("category", views["sales_category"])["key"]) == categories

        # the batch: HBase export, then the MapReduce ETL
        day = datetime.now(UTC).date()
        export_hbase(settings, tmp_path / "batch", day)
        day_dir = tmp_path / "batch" / day.isoformat()
        summary = run_etl(day_dir, "inline")
        etl = day_dir / "etl"
        cleaned = [json.loads(line) for line in (etl / "customers.jsonl").read_text().splitlines()]
        assert sorted((c["name"], c["location"], c["email"]) for c in cleaned) == sorted(
            (c["name"], c["location"], c["email"]) for c in customers
        )
        cleaned = [json.loads(line) for line in (etl / "products.jsonl").read_text().splitlines()]
        assert sorted((p["product_name"], p["category"]) for p in cleaned) == sorted(
            (p["product_name"], p["category"]) for p in products
        )
        sales = json.loads((etl / "sales.json").read_text())["by"]
        assert set(sales["location"]) == locations
        assert set(sales["category"]) == categories
        assert summary["total"]["orders"] == len(orders)
    finally:
        stop_worker(proc)
        h.destroy(settings)
    assert not canary.exists(), "a hostile text ran as a command"
    record(
        settings,
        "injection",
        hostile_texts=len(texts),
        fields_checked=["name", "email", "location", "product_name", "category"],
        places=["HBase", "web views", "dashboard columns", "HBase export", "MapReduce ETL"],
        altered=0,
        commands_run=0,
    )
