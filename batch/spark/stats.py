"""Statistics: order value per segment, chi-square of independence, Pearson correlation.

scipy is not a dependency: the chi-square test is MLlib's ``ChiSquareTest``; the
correlation is MLlib's ``Correlation`` and its p-value comes from Student's t
distribution, computed here with the regularized incomplete beta function.
"""

from __future__ import annotations

import math

from pyspark.ml.feature import StringIndexer, VectorAssembler
from pyspark.ml.stat import ChiSquareTest, Correlation
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def describe_order_value(orders: DataFrame, segment: str) -> DataFrame:
    """Return ``segment, orders, mean, stddev, min, p25, median, p75, max`` of order values.

    Values are ``total_amount`` in cents; quartiles are exact.
    """
    amount = F.col("total_amount")
    return (
        orders.groupBy(F.col(segment).cast("string").alias("segment"))
        .agg(
            F.count(F.lit(1)).alias("orders"),
            F.avg(amount).alias("mean"),
            F.stddev_samp(amount).alias("stddev"),
            F.min(amount).alias("min"),
            F.percentile(amount, F.lit(0.25)).alias("p25"),
            F.percentile(amount, F.lit(0.5)).alias("median"),
            F.percentile(amount, F.lit(0.75)).alias("p75"),
            F.max(amount).alias("max"),
        )
        .orderBy("segment")
    )


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Return the regularized incomplete beta function I_x(a, b) for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, dof: float) -> float:
    """Return the two-sided p-value of Student's ``t`` with ``dof`` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return betainc(dof / 2.0, 0.5, dof / (dof + t * t))


def chi_square(orders: DataFrame, a: str = "gender", b: str = "category") -> DataFrame:
    """Return one row ``a, b, n, statistic, dof, p_value``: a test that a, b are independent."""
    indexed = (
        StringIndexer(inputCols=[a, b], outputCols=["_a", "_b"], stringOrderType="alphabetAsc")
        .fit(orders)
        .transform(orders.select(a, b).dropna())
    )
    features = VectorAssembler(inputCols=["_b"], outputCol="_features").transform(indexed)
    result = ChiSquareTest.test(features, "_features", "_a").first()
    n = indexed.count()
    spark = orders.sparkSession
    return spark.createDataFrame(
        [
            (
                a,
                b,
                n,
                float(result.statistics[0]),
                int(result.degreesOfFreedom[0]),
                float(result.pValues[0]),
            )
        ],
        "a string, b string, n long, statistic double, dof int, p_value double",
    )


def pearson(orders: DataFrame, x: str = "age", y: str = "total_amount") -> DataFrame:
    """Return one row ``x, y, n, r, t, p_value``: Pearson's r with its two-sided p-value."""
    pairs = orders.select(F.col(x).cast("double"), F.col(y).cast("double")).dropna()
    n = pairs.count()
    vectors = VectorAssembler(inputCols=[x, y], outputCol="_v").transform(pairs)
    r = float(Correlation.corr(vectors, "_v", "pearson").first()[0][0, 1]) if n > 2 else math.nan
    if n > 2 and abs(r) < 1.0:
        t = r * math.sqrt((n - 2) / (1.0 - r * r))
        p = t_two_sided_p(t, n - 2)
    else:
        t, p = (math.copysign(math.inf, r), 0.0) if n > 2 else (math.nan, math.nan)
    return orders.sparkSession.createDataFrame(
        [(x, y, n, r, t, p)],
        "x string, y string, n long, r double, t double, p_value double",
    )


def statistics(orders: DataFrame) -> dict[str, DataFrame]:
    """Return every statistics table by name."""
    tables = {
        f"order_value_by_{segment}": describe_order_value(orders, segment)
        for segment in ("gender", "age_band", "category", "payment_method")
    }
    tables["chi_square_gender_category"] = chi_square(orders, "gender", "category")
    tables["pearson_age_order_value"] = pearson(orders, "age", "total_amount")
    return tables
