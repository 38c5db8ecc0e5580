"""The Spark stages the nightly DAG runs apart: analysis, then ML, then publish.

Each stage replaces its own tables and leaves the other's; together they write what the
report needs; the ``sales_summary`` rows read back from the files are those of the run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pandas as pd
import pytest

from batch.report import build_report
from batch.spark.job import ML_TABLES, run_analysis, run_ml, summary_rows_from_files


@pytest.fixture(scope="module")
def staged(spark, etl_day, tmp_path_factory) -> Path:
    day = tmp_path_factory.mktemp("staged") / etl_day.name
    shutil.copytree(etl_day, day, ignore=shutil.ignore_patterns("spark", "report"))
    run_analysis(spark, day)
    run_ml(spark, day)
    return day


def _bytes(folder: Path, names) -> dict[str, bytes]:
    return {n: (folder / f"{n}.parquet").read_bytes() for n in names}


def test_both_stages_write_every_table_and_the_report(staged):
    spark_dir = staged / "spark"
    results = orjson.loads((spark_dir / "results.json").read_bytes())
    on_disk = sorted(p.stem for p in spark_dir.glob("*.parquet"))
    assert results["tables"] == on_disk
    assert set(ML_TABLES) < set(on_disk)
    assert {"totals", "monthly_sales", "profile_raw", "chi_square_gender_category"} < set(on_disk)
    assert results["date"] == staged.name
    assert {"totals", "best_month", "rfm_k", "forecast_mape"} <= set(results)
    assert build_report(spark_dir).is_file()


def test_a_stage_rerun_leaves_the_other_stage_alone(spark, staged):
    spark_dir = staged / "spark"
    analysis_tables = [p.stem for p in spark_dir.glob("*.parquet") if p.stem not in ML_TABLES]
    ml_before = _bytes(spark_dir, ML_TABLES)
    results_before = orjson.loads((spark_dir / "results.json").read_bytes())
    (spark_dir / "totals.parquet").write_bytes(b"stale")

    run_analysis(spark, staged)
    assert _bytes(spark_dir, ML_TABLES) == ml_before
    assert pd.read_parquet(spark_dir / "totals.parquet").shape[0] == 1  # rewritten
    analysis_before = _bytes(spark_dir, analysis_tables)

    run_ml(spark, staged)
    assert _bytes(spark_dir, analysis_tables) == analysis_before
    assert orjson.loads((spark_dir / "results.json").read_bytes()) == results_before


def test_summary_rows_from_files_sum_the_etl_orders(staged):
    rows = summary_rows_from_files(staged / "spark")
    orders = pd.read_json(staged / "etl" / "orders.jsonl", lines=True)
    assert rows[b"total|all"] == {
        b"batch:revenue": str(orders["total_amount"].sum()).encode(),
        b"batch:orders": str(len(orders)).encode(),
        b"batch:quantity": str(orders["quantity"].sum()).encode(),
        b"batch:date": staged.name.encode(),
    }
    by_month = orders.groupby(orders["transaction_date"].str[:7])["total_amount"].sum()
    assert {
        k.decode().removeprefix("month|"): int(v[b"batch:revenue"])
        for k, v in rows.items()
        if k.startswith(b"month|")
    } == {m: int(r) for m, r in by_month.items()}
    by_category = orders.groupby("category")["total_amount"].sum()
    assert {
        k.decode().removeprefix("category|"): int(v[b"batch:revenue"])
        for k, v in rows.items()
        if k.startswith(b"category|")
    } == {c: int(r) for c, r in by_category.items()}
