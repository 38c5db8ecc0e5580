"""The nightly batch: export a snapshot, clean it with mrjob, analyse it with Spark.

* :mod:`batch.export` -- a consistent snapshot of the HBase tables (or the
  generator's files) as JSONL and Parquet under ``<out>/<YYYY-MM-DD>/``;
* :mod:`batch.mapreduce` -- the MapReduce ETL, one MRJob per file, runnable with
  ``-r inline``, ``-r local`` and ``-r hadoop``; the rules are pure functions in
  :mod:`batch.mapreduce.rules`;
* :mod:`batch.spark` -- EDA, analysis, statistics and MLlib models as functions
  from DataFrames to DataFrames;
* :mod:`batch.report` -- a static HTML report with PNG charts;
* :mod:`batch.reconcile` -- the batch figures against the real-time web views.
"""
