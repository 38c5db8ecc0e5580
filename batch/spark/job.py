"""Run every Spark analysis over one day's ETL output and write the results.

Results: one Parquet file per table, ``<day>/spark/<name>.parquet``, the headline
figures in ``<day>/spark/results.json``, and -- when HBase settings are given --
the sales figures in the ``batch`` family of ``sales_summary``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from batch.spark.analysis import DIMENSIONS, analysis, monthly_sales
from batch.spark.eda import eda, profile
from batch.spark.ml import complete_months, forecast_revenue, rfm, segment_customers
from batch.spark.session import load_etl, load_export
from batch.spark.stats import statistics
from streamproc.settings import Settings


def _summary_row(revenue: Any, orders: Any, quantity: Any, day: str) -> dict[bytes, bytes]:
    return {
        b"batch:revenue": str(revenue).encode(),
        b"batch:orders": str(orders).encode(),
        b"batch:quantity": str(quantity).encode(),
        b"batch:date": day.encode(),
    }


def summary_rows(tables: dict[str, DataFrame], day: str) -> dict[bytes, dict[bytes, bytes]]:
    """Return the ``sales_summary`` rows of the sales tables: ``<dimension>|<key>``.

    Columns ``batch:revenue``, ``batch:orders``, ``batch:quantity`` (decimal text,
    revenue in cents) and ``batch:date`` (the export's day); the totals are the row
    ``total|all`` and the months ``month|YYYY-MM``.
    """
    sources = {
        "total": tables["totals"].withColumn("key", F.lit("all")),
        "month": tables["monthly_sales"].withColumnRenamed("month", "key"),
    }
    sources.update({d: tables[f"sales_by_{d}"] for d in DIMENSIONS})
    rows: dict[bytes, dict[bytes, bytes]] = {}
    for dimension, df in sources.items():
        for r in df.select("key", "revenue", "orders", "quantity").collect():
            rows[f"{dimension}|{r['key']}".encode()] = _summary_row(
                r["revenue"], r["orders"], r["quantity"], day
            )
    return rows


def summary_rows_from_files(spark_dir: Path) -> dict[bytes, dict[bytes, bytes]]:
    """Return the rows of :func:`summary_rows` from the Parquet tables in ``spark_dir``.

    The day is the name of ``spark_dir``'s parent, the export's directory.
    """
    day = spark_dir.parent.name
    sources = {"total": ("totals", None), "month": ("monthly_sales", "month")}
    sources.update({d: (f"sales_by_{d}", "key") for d in DIMENSIONS})
    rows: dict[bytes, dict[bytes, bytes]] = {}
    for dimension, (name, key) in sources.items():
        for r in pq.read_table(spark_dir / f"{name}.parquet").to_pylist():
            label = "all" if key is None else r[key]
            rows[f"{dimension}|{label}".encode()] = _summary_row(
                r["revenue"], r["orders"], r["quantity"], day
            )
    return rows


def write_sales_summary(settings: Settings, rows: dict[bytes, dict[bytes, bytes]]) -> int:
    """Put ``rows`` into the ``sales_summary`` table; return how many."""
    from streamproc import hbase

    conn = hbase.connect(settings)
    try:
        hbase.ensure_tables(conn, settings)
        with conn.table(settings.table_name("sales_summary")).batch(batch_size=1000) as batch:
            for key, data in rows.items():
                batch.put(key, data)
    finally:
        conn.close()
    return len(rows)


def write_table(df: DataFrame, path: Path) -> None:
    """Write a (small, aggregated) result table to one Parquet file through Arrow.

    One file per table is what the report and the dashboard read; a Spark writer
    would run a job and a commit per table for a few rows each.
    """
    pq.write_table(df.toArrow(), path)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _first(df: DataFrame) -> dict[str, Any]:
    row = df.first()
    return {k: _plain(v) for k, v in row.asDict().items()} if row else {}


#: the tables written by :func:`run_ml`; :func:`run_analysis` writes the others
ML_TABLES = ("rfm_silhouettes", "rfm_segments", "rfm_profiles", "forecast")


def _etl_or_fail(day_dir: Path) -> Path:
    etl = day_dir / "etl"
    if not (etl / "orders.jsonl").is_file():
        raise FileNotFoundError(f"{etl / 'orders.jsonl'} is missing: run `streamproc batch etl`")
    return etl


def _write(out: Path, tables: dict[str, DataFrame], results: dict[str, Any]) -> dict[str, Any]:
    """Write ``tables`` and merge ``results`` into ``out/results.json``; return the merge.

    Only the keys and tables given are replaced, so each stage overwrites its own
    outputs and leaves the other stage's.
    """
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        write_table(df, out / f"{name}.parquet")
    path = out / "results.json"
    merged = orjson.loads(path.read_bytes()) if path.is_file() else {}
    merged.update(results)
    merged["tables"] = sorted(set(merged.get("tables", [])) | set(tables))
    path.write_bytes(orjson.dumps(merged, option=orjson.OPT_INDENT_2))
    return merged


def _analysis_tables(
    spark: SparkSession,
    day_dir: Path,
    data: dict[str, DataFrame],
    top_n: int,
    report: Callable[[str], None],
) -> dict[str, DataFrame]:
    tables: dict[str, DataFrame] = {}
    report("spark: EDA")
    raw = load_export(spark, day_dir)
    profiles = [profile(df, name) for name, df in raw.items()]
    tables["profile_raw"] = profiles[0].unionByName(profiles[1]).unionByName(profiles[2])
    tables.update(eda(data["customers"], data["products"], data["orders"]))
    report("spark: analysis")
    tables.update(analysis(data["orders"], data["customers"], top_n))
    report("spark: statistics")
    tables.update(statistics(data["orders"]))
    return tables


def _analysis_results(day: str, tables: dict[str, DataFrame]) -> dict[str, Any]:
    return {
        "date": day,
        "totals": _first(tables["totals"]),
        "best_month": _first(tables["best_month"]),
        "chi_square_gender_category": _first(tables["chi_square_gender_category"]),
        "pearson_age_order_value": _first(tables["pearson_age_order_value"]),
    }


def _ml_tables(
    orders: DataFrame, monthly: DataFrame, report: Callable[[str], None]
) -> tuple[dict[str, DataFrame], dict[str, Any]]:
    report("spark: RFM segments (k-means)")
    segments = segment_customers(rfm(orders))
    report("spark: revenue forecast")
    first_day, last_day = orders.agg(F.min("day"), F.max("day")).first()
    forecast = forecast_revenue(complete_months(monthly, first_day, last_day))
    tables = {
        "rfm_silhouettes": segments["silhouettes"],
        "rfm_segments": segments["segments"],
        "rfm_profiles": segments["profiles"],
        "forecast": forecast["predictions"],
    }
    return tables, {"rfm_k": segments["k"], "forecast_mape": forecast["mape"]}


def run_analysis(
    spark: SparkSession,
    day_dir: Path,
    *,
    top_n: int = 10,
    report: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Run EDA, analysis and statistics over ``day_dir``; write them to ``day_dir/spark``.

    The ML tables (:data:`ML_TABLES`) already there are left alone.

    Returns:
        The merged ``spark/results.json``.

    Raises:
        FileNotFoundError: The ETL output is missing.
    """
    data = load_etl(spark, _etl_or_fail(day_dir))
    data["orders"] = data["orders"].cache()
    tables = _analysis_tables(spark, day_dir, data, top_n, report)
    report(f"spark: writing {len(tables)} tables")
    results = _write(day_dir / "spark", tables, _analysis_results(day_dir.name, tables))
    data["orders"].unpersist()
    return results


def run_ml(
    spark: SparkSession,
    day_dir: Path,
    *,
    report: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Fit the MLlib models (RFM k-means, revenue forecast) over ``day_dir``'s ETL output.

    Writes :data:`ML_TABLES` to ``day_dir/spark`` and leaves the analysis tables alone.

    Returns:
        The merged ``spark/results.json``.

    Raises:
        FileNotFoundError: The ETL output is missing.
    """
    orders = load_etl(spark, _etl_or_fail(day_dir))["orders"].cache()
    tables, figures = _ml_tables(orders, monthly_sales(orders), report)
    report(f"spark: writing {len(tables)} tables")
    results = _write(day_dir / "spark", tables, {"date": day_dir.name, **figures})
    orders.unpersist()
    return results


def publish_summary(settings: Settings, spark_dir: Path) -> int:
    """Write the sales figures of ``spark_dir`` to HBase ``sales_summary``; return the rows.

    Raises:
        FileNotFoundError: A sales table is missing: run the analysis first.
    """
    return write_sales_summary(settings, summary_rows_from_files(spark_dir))


def run_spark(
    spark: SparkSession,
    day_dir: Path,
    *,
    settings: Settings | None = None,
    top_n: int = 10,
    report: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Run EDA, analysis, statistics and ML over ``day_dir``; write ``day_dir/spark``.

    Args:
        spark: The session.
        day_dir: An export directory whose ETL has run (``etl/*.jsonl``).
        settings: When given, the sales figures also go to HBase ``sales_summary``.
        top_n: Length of the top-N tables.
        report: Called with a line of progress per stage.

    Returns:
        The headline figures also written to ``spark/results.json``.

    Raises:
        FileNotFoundError: The ETL output is missing.
    """
    etl = _etl_or_fail(day_dir)
    out = day_dir / "spark"
    shutil.rmtree(out, ignore_errors=True)
    data = load_etl(spark, etl)
    data["orders"] = data["orders"].cache()
    tables = _analysis_tables(spark, day_dir, data, top_n, report)
    ml_tables, figures = _ml_tables(data["orders"], tables["monthly_sales"], report)
    tables.update(ml_tables)
    report(f"spark: writing {len(tables)} tables")
    results = {**_analysis_results(day_dir.name, tables), **figures}
    if settings is not None:
        report("spark: sales_summary -> HBase")
        results["hbase_rows"] = write_sales_summary(settings, summary_rows(tables, day_dir.name))
    results = _write(out, tables, results)
    data["orders"].unpersist()
    return results
