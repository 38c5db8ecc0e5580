"""Spark functions on literal DataFrames; expected values computed by hand or numpy."""

import math
from datetime import date

import numpy as np
import pytest

from batch.spark import analysis, eda, ml, stats

ORDER_COLS = (
    "order_id long, customer_id long, product_id long, product_name string, "
    "category string, quantity int, total_amount long, payment_method int, gender string, "
    "age int, age_band string, location string, month string, day date"
)


@pytest.fixture(scope="module")
def orders(spark):
    rows = [
        (
            1,
            1,
            10,
            "A",
            "Books",
            1,
            1000,
            1,
            "F",
            30,
            "25-34",
            "Oslo, Norway",
            "2025-01",
            date(2025, 1, 5),
        ),
        (
            2,
            1,
            11,
            "B",
            "Garden",
            2,
            3000,
            2,
            "F",
            30,
            "25-34",
            "Oslo, Norway",
            "2025-02",
            date(2025, 2, 1),
        ),
        (
            3,
            2,
            10,
            "A",
            "Books",
            3,
            3000,
            1,
            "M",
            50,
            "45-54",
            "Rome, Italy",
            "2025-02",
            date(2025, 2, 9),
        ),
        (
            4,
            3,
            12,
            "C",
            "Books",
            1,
            500,
            3,
            "O",
            70,
            "65+",
            "Rome, Italy",
            "2025-01",
            date(2025, 1, 20),
        ),
    ]
    return spark.createDataFrame(rows, ORDER_COLS)


def test_distribution_counts_and_shares(orders):
    got = [
        (r["value"], r["count"], r["share"]) for r in eda.distribution(orders, "category").collect()
    ]
    assert got == [("Books", 3, 0.75), ("Garden", 1, 0.25)]


def test_age_histogram_bins_valid_ages_only(spark):
    customers = spark.createDataFrame([(18,), (22,), (23,), (40,), (-1,)], "age int")
    got = [(r["age_from"], r["age_to"], r["count"]) for r in eda.age_histogram(customers).collect()]
    assert got == [(15, 19, 1), (20, 24, 2), (40, 44, 1)]


def test_profile_counts_nulls_and_negatives(spark):
    df = spark.createDataFrame([(1, None), (-2, "x"), (None, "y")], "price long, name string")
    rows = {r["column"]: r for r in eda.profile(df, "t").collect()}
    assert (rows["price"]["nulls"], rows["price"]["negatives"], rows["price"]["min"]) == (
        1,
        1,
        "-2",
    )
    assert rows["name"]["nulls"] == 1 and rows["name"]["negatives"] is None


def test_totals_months_and_best_month(orders):
    t = analysis.totals(orders).first()
    assert (t["revenue"], t["orders"], t["quantity"], t["customers"]) == (7500, 4, 7, 3)
    monthly = analysis.monthly_sales(orders)
    assert [(r["month"], r["revenue"]) for r in monthly.collect()] == [
        ("2025-01", 1500),
        ("2025-02", 6000),
    ]
    assert analysis.best_month(monthly).first()["month"] == "2025-02"


def test_sales_by_dimension_with_shares(orders):
    rows = analysis.sales_by(orders, "location").collect()
    assert [(r["key"], r["revenue"], r["orders"], r["revenue_share"]) for r in rows] == [
        ("Oslo, Norway", 4000, 2, 4000 / 7500),
        ("Rome, Italy", 3500, 2, 3500 / 7500),
    ]


def test_top_products_and_customers_break_ties_by_the_lower_id(orders, spark):
    by_qty = analysis.top_products(orders, "quantity", 2).collect()
    assert [(r["product_id"], r["quantity"]) for r in by_qty] == [(10, 4), (11, 2)]
    by_rev = analysis.top_products(orders, "revenue", 3).collect()
    assert [(r["product_id"], r["revenue"]) for r in by_rev] == [(10, 4000), (11, 3000), (12, 500)]
    customers = spark.createDataFrame(
        [(1, "Ann", "Oslo, Norway"), (2, "Bo", "Rome, Italy"), (3, "Cy", "Rome, Italy")],
        "customer_id long, name string, location string",
    )
    top = analysis.top_customers(orders, customers, 2).collect()
    assert [(r["customer_id"], r["name"], r["revenue"], r["orders"]) for r in top] == [
        (1, "Ann", 4000, 2),
        (2, "Bo", 3000, 1),
    ]
    with pytest.raises(ValueError, match="by must be quantity or revenue, got 'price'"):
        analysis.top_products(orders, "price")


def test_customers_by_location(spark):
    df = spark.createDataFrame([("A, X",), ("B, Y",), ("A, X",)], "location string")
    assert [tuple(r) for r in analysis.customers_by_location(df).collect()] == [
        ("A, X", 2),
        ("B, Y", 1),
    ]


def test_describe_order_value_per_segment(orders):
    rows = {r["segment"]: r for r in stats.describe_order_value(orders, "category").collect()}
    books = rows["Books"]
    values = np.array([1000, 3000, 500])
    assert books["orders"] == 3 and books["mean"] == pytest.approx(values.mean())
    assert books["stddev"] == pytest.approx(values.std(ddof=1))
    assert (books["min"], books["median"], books["max"]) == (500, 1000, 3000)


def test_t_distribution_p_values():
    assert stats.t_two_sided_p(2.228, 10) == pytest.approx(0.05, abs=1e-4)
    assert stats.t_two_sided_p(1.0, 1) == pytest.approx(0.5)
    assert stats.t_two_sided_p(0.0, 7) == pytest.approx(1.0)
    assert stats.t_two_sided_p(-3.5, 30) == pytest.approx(0.001477, abs=2e-6)


def test_pearson_matches_numpy_with_its_p_value(spark):
    x = [18, 25, 33, 41, 47, 52, 60, 68, 75, 80]
    y = [1200, 900, 1500, 1800, 1300, 2100, 1900, 2500, 2200, 2600]
    df = spark.createDataFrame(list(zip(x, y, strict=True)), "age int, total_amount long")
    got = stats.pearson(df).first()
    r = np.corrcoef(x, y)[0, 1]
    t = r * math.sqrt(8 / (1 - r * r))
    assert got["r"] == pytest.approx(r) and got["t"] == pytest.approx(t)
    assert got["p_value"] == pytest.approx(stats.t_two_sided_p(t, 8))
    assert got["p_value"] < 0.01


def test_chi_square_matches_a_hand_computed_statistic(spark):
    # gender x category counts: F: Books 30, Garden 10; M: Books 10, Garden 30
    rows = (
        [("F", "Books")] * 30
        + [("F", "Garden")] * 10
        + [("M", "Books")] * 10
        + [("M", "Garden")] * 30
    )
    got = stats.chi_square(spark.createDataFrame(rows, "gender string, category string")).first()
    observed = np.array([[30, 10], [10, 30]])
    expected = observed.sum(1, keepdims=True) * observed.sum(0, keepdims=True) / observed.sum()
    assert got["statistic"] == pytest.approx(((observed - expected) ** 2 / expected).sum())
    assert got["dof"] == 1 and got["n"] == 80 and got["p_value"] < 1e-4


def test_rfm_and_kmeans_find_the_obvious_segments(spark):
    rows = []
    for cid in range(1, 21):  # 10 loyal big spenders, 10 one-off small buyers long ago
        loyal = cid <= 10
        for i in range(12 if loyal else 1):
            day = date(2025, 6, 28 - i) if loyal else date(2024, 7, 1 + cid)
            rows.append((cid, 50_000 + 100 * cid if loyal else 900 + cid, day))
    orders = spark.createDataFrame(rows, "customer_id long, total_amount long, day date")
    table = ml.rfm(orders)
    first = {r["customer_id"]: r for r in table.collect()}[1]
    assert (first["recency_days"], first["frequency"]) == (1, 12)
    result = ml.segment_customers(table, range(2, 5))
    assert result["k"] == 2
    profiles = sorted(result["profiles"].collect(), key=lambda r: r["monetary"])
    assert [p["customers"] for p in profiles] == [10, 10]
    assert profiles[1]["description"] == "recent, frequent, high-spend"
    assert profiles[0]["description"] == "lapsed, occasional, low-spend"


def test_complete_months_drops_partial_ends(spark):
    monthly = spark.createDataFrame([("2024-11",), ("2024-12",), ("2025-01",)], "month string")
    kept = ml.complete_months(monthly, date(2024, 11, 27), date(2025, 1, 31))
    assert [r["month"] for r in kept.collect()] == ["2024-12", "2025-01"]


def test_forecast_recovers_a_trend_with_seasonality(spark):
    months = [f"{2023 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]
    revenue = [100_000 + 1_000 * i + (30_000 if i % 12 == 11 else 0) for i in range(24)]
    monthly = spark.createDataFrame(
        list(zip(months, revenue, strict=True)), "month string, revenue long"
    )
    result = ml.forecast_revenue(monthly, holdout=3, horizon=2)
    assert result["mape"] < 0.02
    rows = {r["month"]: r for r in result["predictions"].collect()}
    assert rows["2024-12"]["split"] == "test"
    assert rows["2025-01"]["split"] == "forecast" and rows["2025-01"]["actual"] is None
    assert rows["2025-01"]["predicted"] == pytest.approx(124_000, rel=0.02)
    with pytest.raises(ValueError, match="at least 6 complete months, got 2"):
        ml.forecast_revenue(monthly.limit(2))
