"""Sales analysis: totals, months, dimensions, locations and the top-N rankings."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

#: the dimensions the report breaks sales down by (columns of the enriched orders)
DIMENSIONS = ("category", "gender", "age_band", "location", "payment_method")


def _sums(grouped) -> DataFrame:  # noqa: ANN001 - a GroupedData
    return grouped.agg(
        F.sum("total_amount").alias("revenue"),
        F.count(F.lit(1)).alias("orders"),
        F.sum("quantity").alias("quantity"),
    )


def totals(orders: DataFrame) -> DataFrame:
    """Return one row: ``revenue, orders, quantity, customers, avg_order_value`` (cents)."""
    return orders.agg(
        F.coalesce(F.sum("total_amount"), F.lit(0)).alias("revenue"),
        F.count(F.lit(1)).alias("orders"),
        F.coalesce(F.sum("quantity"), F.lit(0)).alias("quantity"),
        F.countDistinct("customer_id").alias("customers"),
        F.avg("total_amount").alias("avg_order_value"),
    )


def monthly_sales(orders: DataFrame) -> DataFrame:
    """Return ``month, revenue, orders, quantity`` by ``YYYY-MM``, oldest first."""
    return _sums(orders.groupBy("month")).orderBy("month")


def best_month(monthly: DataFrame) -> DataFrame:
    """Return the month with the highest revenue (the earlier one on a tie)."""
    return monthly.orderBy(F.desc("revenue"), F.asc("month")).limit(1)


def sales_by(orders: DataFrame, dimension: str) -> DataFrame:
    """Return ``key, revenue, orders, quantity, revenue_share`` of one dimension."""
    everything = Window.partitionBy()
    return (
        _sums(orders.groupBy(F.col(dimension).cast("string").alias("key")))
        .withColumn("revenue_share", F.col("revenue") / F.sum("revenue").over(everything))
        .orderBy(F.desc("revenue"), F.asc("key"))
    )


def customers_by_location(customers: DataFrame) -> DataFrame:
    """Return ``location, customers``, most customers first."""
    return (
        customers.groupBy("location")
        .agg(F.count(F.lit(1)).alias("customers"))
        .orderBy(F.desc("customers"), F.asc("location"))
    )


def top_products(orders: DataFrame, by: str = "quantity", n: int = 10) -> DataFrame:
    """Return the top ``n`` products by ``quantity`` or ``revenue`` (ties: lower id).

    Raises:
        ValueError: ``by`` is neither.
    """
    if by not in ("quantity", "revenue"):
        raise ValueError(f"by must be quantity or revenue, got {by!r}")
    other = "revenue" if by == "quantity" else "quantity"
    ranked = orders.groupBy("product_id", "product_name", "category").agg(
        F.sum("quantity").alias("quantity"), F.sum("total_amount").alias("revenue")
    )
    order = [F.desc(by), F.asc("product_id")]
    return (
        ranked.withColumn("rank", F.row_number().over(Window.orderBy(*order)))
        .where(F.col("rank") <= n)
        .select("rank", "product_id", "product_name", "category", by, other)
        .orderBy("rank")
    )


def top_customers(orders: DataFrame, customers: DataFrame, n: int = 10) -> DataFrame:
    """Return the top ``n`` customers by revenue (ties: lower id) with name and orders."""
    ranked = orders.groupBy("customer_id").agg(
        F.sum("total_amount").alias("revenue"), F.count(F.lit(1)).alias("orders")
    )
    order = [F.desc("revenue"), F.asc("customer_id")]
    return (
        ranked.withColumn("rank", F.row_number().over(Window.orderBy(*order)))
        .where(F.col("rank") <= n)
        .join(customers.select("customer_id", "name", "location"), "customer_id", "left")
        .select("rank", "customer_id", "name", "location", "revenue", "orders")
        .orderBy("rank")
    )


def analysis(orders: DataFrame, customers: DataFrame, n: int = 10) -> dict[str, DataFrame]:
    """Return every analysis table by name."""
    monthly = monthly_sales(orders)
    tables = {
        "totals": totals(orders),
        "monthly_sales": monthly,
        "best_month": best_month(monthly),
        "customers_by_location": customers_by_location(customers),
        "top_products_quantity": top_products(orders, "quantity", n),
        "top_products_revenue": top_products(orders, "revenue", n),
        "top_customers": top_customers(orders, customers, n),
    }
    for dimension in DIMENSIONS:
        tables[f"sales_by_{dimension}"] = sales_by(orders, dimension)
    return tables
