"""Fixtures of the batch tests: one SparkSession, one small generated shop and its ETL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

DAY = date(2026, 1, 31)


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the whole test session, four shuffle partitions."""
    from batch.spark.session import spark_session

    session = spark_session("local[2]", 4, "streamproc-batch-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Path:
    """A small generated shop (Parquet, 2% dirty rows) over 2024-07-01 .. 2025-12-31."""
    from streamproc.generator import generate

    out = tmp_path_factory.mktemp("shop")
    generate(
        seed=11,
        customers=400,
        products=100,
        orders=6000,
        out_dir=out,
        fmt="parquet",
        dirty_rate=0.02,
        start=date(2024, 7, 1),
        end=date(2025, 12, 31),
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def etl_day(shop, tmp_path_factory) -> Path:
    """The shop exported and run through the MapReduce ETL (inline runner)."""
    from batch.export import export_files
    from batch.mapreduce.pipeline import run_etl

    out = tmp_path_factory.mktemp("batch")
    export_files(shop, out, DAY)
    run_etl(out / DAY.isoformat(), "inline")
    return out / DAY.isoformat()
