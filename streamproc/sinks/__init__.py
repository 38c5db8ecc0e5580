"""Sinks: buffer rows with ``add()``, write them with ``flush()``."""
