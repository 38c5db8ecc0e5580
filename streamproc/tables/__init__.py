"""Rolling tables of the stream processor: pure aggregation functions and Faust tables.

Each module holds one table family: its pure functions (tested on literal inputs)
and, in :mod:`streamproc.tables.state`, the Faust tables that keep them.
"""
