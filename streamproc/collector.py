"""Collect garbage that ``gc.freeze()`` kept out of Python's full collections.

A full (generation 2) collection walks every container object alive; in a process
with many long-lived objects it stops everything for a long while.
``gc.freeze()`` moves everything alive into the permanent generation, which
collections skip: they then walk only what was made since (the dashboard does this
for its session documents, see ``bokeh_server/collector.py``).  Frozen objects are
still freed by reference counting, but frozen garbage in reference cycles is not;
:func:`compact` frees it: one long pause now and then instead of one every few
seconds.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def compact(what: str) -> int:
    """Collect frozen garbage now (unfreeze, collect, freeze); return how much was found.

    Args:
        what: Whose garbage, for the log line.
    """
    started = time.monotonic()
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    log.info(
        "collected %d unreachable objects (%s) in %.0f ms",
        found,
        what,
        (time.monotonic() - started) * 1000,
    )
    return found
