"""The SparkSession and the typed readers of the export and ETL outputs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

_LOG4J2 = """\
rootLogger.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""

CUSTOMERS = T.StructType(
    [
        T.StructField("customer_id", T.LongType()),
        T.StructField("name", T.StringType()),
        T.StructField("email", T.StringType()),
        T.StructField("phone", T.StringType()),
        T.StructField("age", T.IntegerType()),
        T.StructField("gender", T.StringType()),
        T.StructField("location", T.StringType()),
        T.StructField("repairs", T.ArrayType(T.StringType())),
        T.StructField("flags", T.ArrayType(T.StringType())),
    ]
)
PRODUCTS = T.StructType(
    [
        T.StructField("product_id", T.LongType()),
        T.StructField("product_name", T.StringType()),
        T.StructField("category", T.StringType()),
        T.StructField("price", T.LongType()),
        T.StructField("stock_quantity", T.IntegerType()),
    ]
)
#: an enriched order of the ETL (``etl/orders.jsonl``); money in cents
ORDERS = T.StructType(
    [
        T.StructField("order_id", T.LongType()),
        T.StructField("customer_id", T.LongType()),
        T.StructField("product_id", T.LongType()),
        T.StructField("quantity", T.IntegerType()),
        T.StructField("total_amount", T.LongType()),
        T.StructField("transaction_date", T.StringType()),
        T.StructField("payment_method", T.IntegerType()),
        T.StructField("repairs", T.ArrayType(T.StringType())),
        T.StructField("product_name", T.StringType()),
        T.StructField("category", T.StringType()),
        T.StructField("price", T.LongType()),
        T.StructField("gender", T.StringType()),
        T.StructField("age", T.IntegerType()),
        T.StructField("age_band", T.StringType()),
        T.StructField("location", T.StringType()),
        T.StructField("month", T.StringType()),
    ]
)


def spark_session(
    master: str = "local[2]", shuffle_partitions: int = 4, app_name: str = "streamproc-batch"
) -> SparkSession:
    """Return a SparkSession that logs errors only, in UTC, with few shuffle partitions."""
    conf_dir = Path(tempfile.gettempdir()) / "streamproc-spark"
    conf_dir.mkdir(exist_ok=True)
    log4j = conf_dir / "log4j2.properties"
    log4j.write_text(_LOG4J2)
    java_opts = f"-Dlog4j2.configurationFile={log4j.as_uri()}"
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.sql.adaptive.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def with_time(orders: DataFrame) -> DataFrame:
    """Add ``ts`` (a UTC timestamp) and ``day`` (a date) from ``transaction_date``."""
    ts = F.to_timestamp("transaction_date", "yyyy-MM-dd'T'HH:mm:ss'Z'")
    return orders.withColumn("ts", ts).withColumn("day", F.to_date(ts))


def load_etl(spark: SparkSession, etl_dir: Path) -> dict[str, DataFrame]:
    """Read the ETL's clean ``customers``, ``products`` and enriched ``orders``."""
    return {
        "customers": spark.read.schema(CUSTOMERS).json(str(etl_dir / "customers.jsonl")),
        "products": spark.read.schema(PRODUCTS).json(str(etl_dir / "products.jsonl")),
        "orders": with_time(spark.read.schema(ORDERS).json(str(etl_dir / "orders.jsonl"))),
    }


def load_export(spark: SparkSession, day_dir: Path) -> dict[str, DataFrame]:
    """Read the export's raw Parquet files (before any cleaning)."""
    return {
        name: spark.read.parquet(str(day_dir / f"{name}.parquet"))
        for name in ("customers", "products", "orders")
    }
