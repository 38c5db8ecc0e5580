"""Structured, quiet-by-default logging: one ``key=value`` line per event."""

from __future__ import annotations

import logging
import sys
import time


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        msg = record.getMessage().replace("\n", "\\n")
        line = f"ts={ts}Z level={record.levelname.lower()} logger={record.name} msg={msg!r}"
        if record.exc_info:
            line += f" exc={self.formatException(record.exc_info)!r}"
        return line


def configure(verbose: int = 0) -> None:
    """Log warnings only by default; ``-v`` adds info, ``-vv`` debug."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    formatter = _KeyValueFormatter()
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kafka", "aiokafka", "happybase", "thriftpy2"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
