"""MLlib models: RFM segments with k-means, and a monthly revenue forecast.

* Segments: recency (days since the last order), frequency (orders) and monetary
  value (cents) per customer; ``log1p`` of frequency and money (both heavy-tailed),
  standardised; k-means for k = 2..6, the k with the best silhouette kept; each
  segment described against the average customer.
* Forecast: linear regression of monthly revenue on a trend (month index) and the
  month of the year (one-hot), trained on all complete months but the last
  ``holdout`` and scored on those with MAPE; then refitted on every complete month
  to forecast the next ``horizon`` months.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pyspark.ml import Pipeline
from pyspark.ml.clustering import KMeans
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import StandardScaler, VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def rfm(orders: DataFrame, as_of: str | None = None) -> DataFrame:
    """Return ``customer_id, recency_days, frequency, monetary`` per customer.

    Args:
        orders: Enriched orders with ``day`` (see :func:`batch.spark.session.with_time`).
        as_of: ``YYYY-MM-DD`` the recency counts from; default the day after the last order.
    """
    last = orders.agg(F.max("day")).first()[0]
    reference = F.lit(as_of).cast("date") if as_of else F.lit(last) + F.expr("INTERVAL 1 DAY")
    return orders.groupBy("customer_id").agg(
        F.datediff(reference, F.max("day")).alias("recency_days"),
        F.count(F.lit(1)).alias("frequency"),
        F.sum("total_amount").alias("monetary"),
    )


def describe_segment(means: dict[str, float], overall: dict[str, float]) -> str:
    """Return words for a segment's mean R, F and M against the average customer."""
    recency = "recent" if means["recency_days"] <= overall["recency_days"] else "lapsed"
    frequency = "frequent" if means["frequency"] >= overall["frequency"] else "occasional"
    spend = "high-spend" if means["monetary"] >= overall["monetary"] else "low-spend"
    return f"{recency}, {frequency}, {spend}"


def segment_customers(table: DataFrame, ks: range = range(2, 7), seed: int = 1) -> dict[str, Any]:
    """Cluster RFM rows with k-means, choosing k by silhouette.

    Returns:
        ``{"k": chosen k, "silhouettes": DataFrame[k, silhouette], "segments":
        DataFrame[customer_id, segment, ...], "profiles": DataFrame[segment,
        customers, recency_days, frequency, monetary, description]}``.

    Raises:
        ValueError: Fewer customers than the largest k.
    """
    n = table.count()
    if n <= max(ks):
        raise ValueError(
            f"k-means over k={ks.start}..{ks.stop - 1} needs more than {max(ks)} customers, got {n}"
        )
    features = (
        table.withColumn("_log_f", F.log1p("frequency"))
        .withColumn("_log_m", F.log1p("monetary"))
        .withColumn("_r", F.col("recency_days").cast("double"))
    )
    prepare = Pipeline(
        stages=[
            VectorAssembler(inputCols=["_r", "_log_f", "_log_m"], outputCol="_raw"),
            StandardScaler(inputCol="_raw", outputCol="features", withMean=True, withStd=True),
        ]
    ).fit(features)
    scaled = prepare.transform(features).cache()
    evaluator = ClusteringEvaluator(featuresCol="features", predictionCol="segment")
    scores, models = [], {}
    for k in ks:
        model = KMeans(k=k, seed=seed, featuresCol="features", predictionCol="segment").fit(scaled)
        scores.append((k, float(evaluator.evaluate(model.transform(scaled)))))
        models[k] = model
    best_k = max(scores, key=lambda s: (s[1], -s[0]))[0]
    segments = (
        models[best_k]
        .transform(scaled)
        .select("customer_id", "segment", "recency_days", "frequency", "monetary")
    )
    scaled.unpersist()
    cols = ("recency_days", "frequency", "monetary")
    overall = segments.agg(*(F.avg(c).alias(c) for c in cols)).first().asDict()
    rows = (
        segments.groupBy("segment")
        .agg(F.count(F.lit(1)).alias("customers"), *(F.avg(c).alias(c) for c in cols))
        .orderBy("segment")
        .collect()
    )
    spark = table.sparkSession
    profiles = spark.createDataFrame(
        [
            (
                r["segment"],
                r["customers"],
                r["recency_days"],
                r["frequency"],
                r["monetary"],
                describe_segment(r.asDict(), overall),
            )
            for r in rows
        ],
        "segment int, customers long, recency_days double, frequency double, "
        "monetary double, description string",
    )
    silhouettes = spark.createDataFrame(scores, "k int, silhouette double")
    return {"k": best_k, "silhouettes": silhouettes, "segments": segments, "profiles": profiles}


def complete_months(monthly: DataFrame, first_day: date, last_day: date) -> DataFrame:
    """Drop the first and last month when the data covers them only in part."""
    first_month = first_day.strftime("%Y-%m") if first_day.day != 1 else None
    next_day = date.fromordinal(last_day.toordinal() + 1)
    last_month = last_day.strftime("%Y-%m") if next_day.day != 1 else None
    return monthly.where(~F.col("month").isin([m for m in (first_month, last_month) if m]))


def _month_features(df: DataFrame, first_month: str) -> DataFrame:
    """Add ``t`` (months since ``first_month``) and ``m1``..``m11`` (month-of-year dummies)."""
    year, month = F.substring("month", 1, 4).cast("int"), F.substring("month", 6, 2).cast("int")
    y0, m0 = int(first_month[:4]), int(first_month[5:7])
    df = df.withColumn("t", ((year - y0) * 12 + month - m0).cast("double"))
    for m in range(1, 12):  # December is the baseline
        df = df.withColumn(f"m{m}", (month == m).cast("double"))
    return df


def _next_months(last: str, horizon: int) -> list[str]:
    year, month = int(last[:4]), int(last[5:7])
    out = []
    for _ in range(horizon):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        out.append(f"{year:04d}-{month:02d}")
    return out


def forecast_revenue(monthly: DataFrame, holdout: int = 3, horizon: int = 3) -> dict[str, Any]:
    """Fit, score and forecast monthly revenue.

    Args:
        monthly: ``month, revenue`` of complete months only.
        holdout: The last months kept out of training and scored.
        horizon: Months forecast after the last one.

    Returns:
        ``{"mape": float, "predictions": DataFrame[month, actual, predicted, split]}``
        where ``split`` is ``train``, ``test`` or ``forecast`` (no ``actual``).

    Raises:
        ValueError: Fewer than ``holdout + 3`` months.
    """
    months = [r["month"] for r in monthly.select("month").orderBy("month").collect()]
    if len(months) < holdout + 3:
        raise ValueError(
            f"a forecast needs at least {holdout + 3} complete months, got {len(months)}"
        )
    data = _month_features(
        monthly.select("month", F.col("revenue").cast("double").alias("actual")), months[0]
    )
    assembler = VectorAssembler(
        inputCols=["t"] + [f"m{m}" for m in range(1, 12)], outputCol="features"
    )
    data = assembler.transform(data).cache()
    cut = months[-holdout]
    train, test = data.where(F.col("month") < cut), data.where(F.col("month") >= cut)
    lr = LinearRegression(featuresCol="features", labelCol="actual", regParam=0.01)
    scored = (
        lr.fit(train)
        .transform(data)
        .withColumn("split", F.when(F.col("month") < cut, "train").otherwise("test"))
    )
    mape = (
        test.join(scored.select("month", "prediction"), "month")
        .agg(F.avg(F.abs(F.col("actual") - F.col("prediction")) / F.col("actual")))
        .first()[0]
    )
    spark = monthly.sparkSession
    future = spark.createDataFrame(
        [(m,) for m in _next_months(months[-1], horizon)], "month string"
    )
    future = assembler.transform(_month_features(future, months[0]))
    ahead = lr.fit(data).transform(future).withColumn("split", F.lit("forecast"))
    predictions = (
        scored.select("month", "actual", "prediction", "split")
        .unionByName(
            ahead.select("month", F.lit(None).cast("double").alias("actual"), "prediction", "split")
        )
        .withColumnRenamed("prediction", "predicted")
        .orderBy("month")
    )
    data.unpersist()
    return {"mape": float(mape), "predictions": predictions}
