"""Batch benchmark: the nightly batch over a generated shop against DuckDB, same files.

Generates a shop as Parquet (``--size`` of order files, 1% dirt), then times
  * duckdb: the sales figures (total and by month, day, hour, category, gender, age
    band, location, payment method, customer and product) in one DuckDB session over
    the raw Parquet, applying the batch's documented cleaning rules in SQL;
  * export: ``batch export --from-files`` (JSONL for mrjob, Parquet for Spark);
  * etl: the four MapReduce jobs with each ``--runners`` runner, whose ``sales.json``
    must equal DuckDB's figures;
  * analyze and report: Spark (local[2]) and the HTML report, over the last ETL.
Prints one JSON object. Usage: python bench/bench_batch.py [--size 100MB] [--runners inline]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import orjson
import pyarrow.parquet as pq

from batch.export import export_files
from batch.mapreduce.pipeline import HadoopOptions, run_etl
from batch.report import build_report
from batch.spark.job import run_spark
from batch.spark.session import spark_session
from streamproc.generator import generate
from streamproc.settings import get_settings

DAY = date(2026, 1, 31)
DIMENSIONS = ("month", "day", "hour", "category", "gender", "age_band", "location")
DIMENSIONS += ("payment_method", "customer_id", "product_id")

# the batch's rules (README, Batch > ETL): customers without a name or location are
# dropped, a missing gender is O, an invalid age is the lower median of the kept
# customers' valid ages; products with a negative price or stock are dropped; orders
# with a quantity <= 0 or no payment method are dropped, a negative amount is price x
# quantity; orders of unknown customers or products are dropped
CLEAN_SQL = """
create temp table c as
with kept as (
  select * from read_parquet('{shop}/customers.parquet')
  where location <> '' and name is not null and trim(name) <> ''
),
med as (
  select age from kept where age between 18 and 120 order by age
  limit 1 offset ((select count(*) from kept where age between 18 and 120) - 1) // 2
)
select customer_id, coalesce(nullif(gender, ''), 'O') as gender, location,
       case when age between 18 and 120 then age else (select age from med) end as age
from kept;
create temp table o as
select o.order_id, o.customer_id, o.product_id, o.quantity, o.payment_method,
       case when o.total_amount < 0 then p.price * o.quantity else o.total_amount end
         as amount,
       substr(o.transaction_date, 1, 7) as month, substr(o.transaction_date, 1, 10) as day,
       substr(o.transaction_date, 1, 13) as hour, p.category, c.gender, c.location,
       case when c.age < 25 then '18-24' when c.age < 35 then '25-34'
            when c.age < 45 then '35-44' when c.age < 55 then '45-54'
            when c.age < 65 then '55-64' else '65+' end as age_band
from read_parquet('{shop}/orders/*/*.parquet') o
join (select * from read_parquet('{shop}/products.parquet')
      where price >= 0 and stock_quantity >= 0) p using (product_id)
join c using (customer_id)
where o.quantity > 0 and o.payment_method between 1 and 5;
"""


def duckdb_sales(shop: Path) -> dict:
    """Return the figures of ``etl/sales.json`` computed by DuckDB over the raw files."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(CLEAN_SQL.format(shop=shop))
    revenue, orders, quantity = con.execute(
        "select sum(amount), count(*), sum(quantity) from o"
    ).fetchone()
    by = {}
    for dim in DIMENSIONS:
        rows = con.execute(
            f"select cast({dim} as varchar), sum(amount), count(*), sum(quantity) "  # noqa: S608 - a fixed column name
            "from o group by 1"
        ).fetchall()
        by[dim] = {k: {"revenue": r, "orders": n, "quantity": q} for k, r, n, q in rows}
    con.close()
    return {"total": {"revenue": revenue, "orders": orders, "quantity": quantity}, "by": by}


def timed(func, *args, **kwargs):
    t0 = time.perf_counter()
    result = func(*args, **kwargs)
    return result, round(time.perf_counter() - t0, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="100MB", help="bytes of Parquet order files")
    parser.add_argument("--orders", type=int, default=None, help="order count (overrides --size)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runners", default="inline,local,hadoop", help="comma-separated")
    parser.add_argument("--work", type=Path, default=None, help="[$ECOM_DATA_DIR/bench-batch]")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    logging.getLogger("mrjob").setLevel(logging.ERROR)
    settings = get_settings()
    work = args.work or settings.data_dir / "bench-batch"
    shop, out = work / "shop", work / "batch"
    shutil.rmtree(work, ignore_errors=True)

    manifest, gen_s = timed(
        generate,
        args.seed,
        10_000,
        1_000,
        args.orders,
        shop,
        fmt="parquet",
        dirty_rate=0.01,
        size=None if args.orders else args.size,
        progress=False,
    )
    order_bytes = sum(p.stat().st_size for p in (shop / "orders").rglob("*.parquet"))
    expected, duckdb_s = timed(duckdb_sales, shop)
    _, export_s = timed(export_files, shop, out, DAY)
    folder = out / DAY.isoformat()
    etl = {}
    for runner in args.runners.split(","):
        hadoop = None
        if runner == "hadoop":
            hadoop = HadoopOptions.local_stack(settings.cache_dir, folder / "etl-hadoop-tmp")
        summary, seconds = timed(run_etl, folder, runner, hadoop=hadoop)
        sales = orjson.loads((folder / "etl" / "sales.json").read_bytes())
        etl[runner] = {
            "seconds": seconds,
            "jobs": summary["seconds"],
            "orders_per_s": round(manifest["counts"]["orders"] / seconds),
            "matches_duckdb": sales == expected,
        }
    spark = spark_session("local[2]", 4, "bench-batch")
    try:
        results, analyze_s = timed(run_spark, spark, folder)
    finally:
        spark.stop()
    index, report_s = timed(build_report, folder / "spark")
    silhouettes = pq.read_table(folder / "spark" / "rfm_silhouettes.parquet").sort_by("k")
    figures = {
        "orders": manifest["counts"]["orders"],
        "order_parquet_mb": round(order_bytes / 1e6, 1),
        "orders_jsonl_mb": round((folder / "orders.jsonl").stat().st_size / 1e6, 1),
        "kept_orders": expected["total"]["orders"],
        "seconds": {
            "generate": gen_s,
            "duckdb": duckdb_s,
            "export": export_s,
            "analyze": analyze_s,
            "report": report_s,
        },
        "etl": etl,
        "rfm_k": results["rfm_k"],
        "silhouettes": {r["k"]: round(r["silhouette"], 4) for r in silhouettes.to_pylist()},
        "forecast_mape": round(results["forecast_mape"], 4),
        "report": str(index),
    }
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
