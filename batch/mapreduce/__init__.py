"""MapReduce ETL with mrjob: clean customers and products, clean and enrich orders, sum sales.

Each job reads and writes JSON lines; :mod:`batch.mapreduce.pipeline` chains them.
"""
