"""The batch figures over a generated shop against DuckDB over the same raw files.

DuckDB applies the documented rules itself: customers with an empty location or no
name are dropped, a missing gender is O, an age outside 18-120 is the lower median
of the valid ages; products with a negative price or stock are dropped; orders
with a negative quantity or no payment method are dropped, a negative amount is
price x quantity; orders of dropped customers or products are dropped.
"""

import duckdb
import orjson
import pytest
from pyspark.sql import functions as F

SQL = """
with c_raw as (select * from read_parquet('{shop}/customers.parquet')),
med as (
  select age from c_raw where age between 18 and 120 order by age
  limit 1 offset ((select count(*) from c_raw where age between 18 and 120) - 1) // 2
),
c as (
  select customer_id, coalesce(nullif(gender, ''), 'O') as gender, location,
         case when age between 18 and 120 then age else (select age from med) end as age
  from c_raw where location <> '' and name is not null and trim(name) <> ''
),
p as (
  select * from read_parquet('{shop}/products.parquet') where price >= 0 and stock_quantity >= 0
),
o as (
  select o.*, p.category,
         case when o.total_amount < 0 then p.price * o.quantity else o.total_amount end as amount,
         c.gender, c.location,
         case when c.age < 25 then '18-24' when c.age < 35 then '25-34'
              when c.age < 45 then '35-44' when c.age < 55 then '45-54'
              when c.age < 65 then '55-64' else '65+' end as age_band,
         substr(o.transaction_date, 1, 7) as month
  from read_parquet('{shop}/orders/*/*.parquet') o
  join p using (product_id) join c using (customer_id)
  where o.quantity > 0 and o.payment_method is not null
)
"""


@pytest.fixture(scope="module")
def expected(shop):
    con = duckdb.connect()
    base = SQL.format(shop=shop)

    def by(dim):
        rows = con.execute(
            base + f"select cast({dim} as varchar), sum(amount), count(*), sum(quantity) "  # noqa: S608 - a fixed column name
            f"from o group by 1"
        ).fetchall()
        return {k: {"revenue": r, "orders": n, "quantity": q} for k, r, n, q in rows}

    dims = ("month", "category", "gender", "age_band", "location", "payment_method", "customer_id")
    total_sql = base + "select sum(amount), count(*), sum(quantity) from o"  # noqa: S608
    total = con.execute(total_sql).fetchone()
    return {
        "total": {"revenue": total[0], "orders": total[1], "quantity": total[2]},
        "by": {d: by(d) for d in dims},
    }


def test_the_generated_shop_has_every_kind_of_dirt(shop):
    dirt = orjson.loads((shop / "manifest.json").read_bytes())["dirt"]
    assert all(n > 0 for kinds in dirt.values() for n in kinds.values())


def test_mapreduce_sales_match_duckdb(etl_day, expected):
    sales = orjson.loads((etl_day / "etl" / "sales.json").read_bytes())
    assert sales["total"] == expected["total"]
    for dim, figures in expected["by"].items():
        assert sales["by"][dim] == figures, dim


def test_mapreduce_counters_add_up(etl_day, shop):
    summary = orjson.loads((etl_day / "etl" / "summary.json").read_bytes())
    orders = summary["counters"]["orders"]
    manifest = orjson.loads((shop / "manifest.json").read_bytes())
    assert orders["kept"] + orders["repaired"] + orders["rejected"] == manifest["counts"]["orders"]
    assert orders["repaired"] > 0
    assert (
        summary["counters"]["order_rejects"]["negative_quantity"]
        == (manifest["dirt"]["orders"]["negative_quantity"])
    )


@pytest.fixture(scope="module")
def spark_results(spark, etl_day):
    from batch.spark.job import run_spark

    return run_spark(spark, etl_day)


def test_spark_analysis_matches_duckdb(spark_results, spark, etl_day, expected):
    out = etl_day / "spark"
    totals = spark.read.parquet(str(out / "totals.parquet")).first()
    assert (totals["revenue"], totals["orders"], totals["quantity"]) == tuple(
        expected["total"].values()
    )
    for dim in ("category", "gender", "age_band", "location", "payment_method"):
        got = {
            r["key"]: {"revenue": r["revenue"], "orders": r["orders"], "quantity": r["quantity"]}
            for r in spark.read.parquet(str(out / f"sales_by_{dim}.parquet")).collect()
        }
        assert got == expected["by"][dim], dim
    months = expected["by"]["month"]
    best = max(sorted(months), key=lambda m: months[m]["revenue"])
    assert spark_results["best_month"]["month"] == best
    top = spark.read.parquet(str(out / "top_customers.parquet")).orderBy("rank").collect()
    ranked = sorted(
        expected["by"]["customer_id"].items(), key=lambda kv: (-kv[1]["revenue"], int(kv[0]))
    )
    assert [(r["customer_id"], r["revenue"]) for r in top] == [
        (int(k), v["revenue"]) for k, v in ranked[:10]
    ]


def test_spark_writes_every_result_and_a_forecast_with_a_finite_mape(spark_results, etl_day):
    for name in spark_results["tables"]:
        assert (etl_day / "spark" / f"{name}.parquet").is_file()
    assert 2 <= spark_results["rfm_k"] <= 6
    assert 0 <= spark_results["forecast_mape"] < 1
    assert 0 <= spark_results["chi_square_gender_category"]["p_value"] <= 1


def test_report_has_charts_and_figures(spark_results, etl_day):
    from batch.report import build_report, euros

    index = build_report(etl_day / "spark")
    page = index.read_text()
    assert euros(spark_results["totals"]["revenue"]) in page
    for chart in ("monthly_sales.png", "forecast.png", "sales_by_category.png"):
        assert (index.parent / chart).stat().st_size > 1000
        assert chart in page


def test_report_feeds_the_dashboard_nightly_tab(spark_results, etl_day):
    from batch.report import build_report
    from bokeh_server import nightly

    build_report(etl_day / "spark")
    run = nightly.load(etl_day / "report" / "summary.json")
    assert run.error is None
    monthly = run.summary["monthly"]
    assert sum(m["revenue"] for m in monthly) == spark_results["totals"]["revenue"]
    best = max(monthly, key=lambda m: m["revenue"])
    assert best["month"] == spark_results["best_month"]["month"]
    assert (
        sum(s["customers"] for s in run.summary["segments"]) == spark_results["totals"]["customers"]
    )
    assert {f["month"] for f in run.summary["forecast"]} >= {m["month"] for m in monthly[-3:-1]}


def test_spark_profile_of_the_raw_export_shows_the_dirt(spark, spark_results, etl_day, shop):
    dirt = orjson.loads((shop / "manifest.json").read_bytes())["dirt"]
    profile = spark.read.parquet(str(etl_day / "spark" / "profile_raw.parquet"))
    row = profile.where((F.col("table") == "products") & (F.col("column") == "price")).first()
    assert row["negatives"] == dirt["products"]["negative_price"]
