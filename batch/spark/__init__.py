"""Spark jobs: functions from DataFrames to DataFrames, run together by :mod:`batch.spark.job`."""
