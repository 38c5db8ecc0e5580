"""Exploratory data analysis: distributions and a data-quality profile."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T


def distribution(df: DataFrame, column: str) -> DataFrame:
    """Return ``value, count, share`` of ``column`` (nulls included), largest first."""
    total = Window.partitionBy()
    return (
        df.groupBy(F.col(column).cast("string").alias("value"))
        .count()
        .withColumn("share", F.col("count") / F.sum("count").over(total))
        .orderBy(F.desc("count"), F.asc("value"))
    )


def age_histogram(customers: DataFrame, width: int = 5) -> DataFrame:
    """Return ``age_from, age_to, count, share`` in bins of ``width`` years (valid ages only)."""
    total = Window.partitionBy()
    start = (F.floor(F.col("age") / width) * width).cast("int")
    return (
        customers.where(F.col("age").between(18, 120))
        .groupBy(start.alias("age_from"))
        .count()
        .withColumn("age_to", F.col("age_from") + width - 1)
        .withColumn("share", F.col("count") / F.sum("count").over(total))
        .select("age_from", "age_to", "count", "share")
        .orderBy("age_from")
    )


def profile(df: DataFrame, table: str) -> DataFrame:
    """Return ``table, column, rows, nulls, distinct, min, max, negatives`` per column.

    ``distinct`` is approximate (HyperLogLog++, 5% relative error).

    Meant for the raw export: it shows the defects (nulls, ``-1`` ages, negative
    prices) before the ETL repairs or rejects them.
    """
    aggs = [F.count(F.lit(1)).alias("rows")]
    for field in df.schema:
        c = F.col(field.name)
        numeric = isinstance(field.dataType, T.IntegerType | T.LongType)
        aggs += [
            F.sum(c.isNull().cast("long")).alias(f"{field.name}__nulls"),
            F.approx_count_distinct(c).alias(f"{field.name}__distinct"),
            F.min(c).cast("string").alias(f"{field.name}__min"),
            F.max(c).cast("string").alias(f"{field.name}__max"),
            (F.sum((c < 0).cast("long")) if numeric else F.lit(None).cast("long")).alias(
                f"{field.name}__negatives"
            ),
        ]
    row = df.agg(*aggs).first()
    records = [
        (
            table,
            f.name,
            row["rows"],
            row[f"{f.name}__nulls"],
            row[f"{f.name}__distinct"],
            row[f"{f.name}__min"],
            row[f"{f.name}__max"],
            row[f"{f.name}__negatives"],
        )
        for f in df.schema
    ]
    schema = (
        "table string, column string, rows long, nulls long, distinct long, "
        "min string, max string, negatives long"
    )
    return df.sparkSession.createDataFrame(records, schema)


def eda(customers: DataFrame, products: DataFrame, orders: DataFrame) -> dict[str, DataFrame]:
    """Return the distributions of the clean data by name.

    ``age`` (5-year bins), ``gender`` and ``location`` of customers, ``category`` of
    products (catalogue) and of orders, and ``payment_method`` of orders.
    """
    return {
        "eda_age": age_histogram(customers),
        "eda_gender": distribution(customers, "gender"),
        "eda_location": distribution(customers, "location"),
        "eda_category_catalogue": distribution(products, "category"),
        "eda_category_orders": distribution(orders, "category"),
        "eda_payment_method": distribution(orders, "payment_method"),
    }
