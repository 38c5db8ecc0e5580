"""The batch against the real local stack: mrjob on Hadoop streaming, HBase export."""

from datetime import date
from pathlib import Path

import orjson
import pytest

from batch.mapreduce.clean_products import MRCleanProducts
from batch.mapreduce.pipeline import HadoopOptions, job_args, read_output, run_job

pytestmark = pytest.mark.integration


def test_clean_products_runs_on_hadoop_streaming(stack, tmp_path: Path):
    lines = [
        {
            "product_id": i,
            "product_name": f"P{i}",
            "category": "Books",
            "price": -i if i % 5 == 0 else 100 * i,
            "stock_quantity": 3,
        }
        for i in range(1, 41)
    ]
    src = tmp_path / "products.jsonl"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
    hadoop = HadoopOptions.local_stack(stack.cache_dir, tmp_path / "mrtmp")
    out = tmp_path / "out"
    counters = run_job(MRCleanProducts, job_args([src], out, "hadoop", hadoop=hadoop))
    kept = sorted(v["product_id"] for k, v in read_output(out) if k == "product")
    assert kept == [i for i in range(1, 41) if i % 5]
    assert counters["products"] == {"kept": 32, "rejected": 8}
    assert counters["product_rejects"] == {"negative_price": 8}


def test_export_hbase_snapshot_and_sales_summary(prefixed, tmp_path: Path):
    from batch import export
    from batch.spark.job import write_sales_summary
    from streamproc import hbase
    from streamproc.sinks.hbase import row_key

    conn = hbase.connect(prefixed)
    try:
        hbase.ensure_tables(conn, prefixed)
        conn.table(prefixed.table_name("orders")).put(
            row_key(5),
            {
                b"info:order_id": b"5",
                b"info:customer_id": b"1",
                b"info:product_id": b"2",
                b"info:quantity": b"3",
                b"info:total_amount": b"2997",
                b"info:transaction_date": b"2025-03-04T12:00:00Z",
                b"info:payment_method": b"4",
            },
        )
        conn.table(prefixed.table_name("products")).put(
            row_key(2),
            {
                b"details:product_id": b"2",
                b"details:product_name": b"Mug",
                b"details:category": b"Home & Kitchen",
                b"inventory:price": b"999",
                b"inventory:stock_quantity": b"4",
            },
        )
    finally:
        conn.close()
    meta = export.export_hbase(prefixed, tmp_path, date(2025, 3, 5), batch_size=2)
    assert {k: v["records"] for k, v in meta["counts"].items()} == {
        "customers": 0,
        "products": 1,
        "orders": 1,
    }
    folder = tmp_path / "2025-03-05"
    order = orjson.loads((folder / "orders.jsonl").read_bytes())
    assert order == {
        "order_id": 5,
        "customer_id": 1,
        "product_id": 2,
        "quantity": 3,
        "total_amount": 2997,
        "transaction_date": "2025-03-04T12:00:00Z",
        "payment_method": 4,
    }
    assert write_sales_summary(prefixed, {b"total|all": {b"batch:revenue": b"2997"}}) == 1
    conn = hbase.connect(prefixed)
    try:
        row = conn.table(prefixed.table_name("sales_summary")).row(b"total|all")
    finally:
        conn.close()
    assert row == {b"batch:revenue": b"2997"}
