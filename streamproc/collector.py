"""Keep Python's full garbage collections short in a long-running process.

A full (generation 2) collection walks every container object alive.  In the stream
worker that is its tables (customers, products, the seen orders, ...) and faust's
own objects: at 2,000 orders/s a full collection took 80 to 160 ms and came every 2
to 3 s, measured with ``gc.callbacks`` in the worker of ``bench/bench_stream.py``;
no record was processed meanwhile.  The dashboard's session documents did the same
(see ``bokeh_server/collector.py``).

``gc.freeze()`` moves everything alive into the permanent generation, which
collections skip: they then walk only what was made since.  Frozen objects are
still freed by reference counting, but frozen garbage in reference cycles is not; a
compaction (unfreeze, collect everything, freeze) frees it: one long pause now and
then instead of one every few seconds.
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


class Survivors:
    """Freezes what survives; compacts every ``compact_every`` seconds.

    Call :meth:`tick` every few seconds (the worker's timer does).  Objects that live
    a few seconds (a batch's events, a transaction's records) are frozen with the
    rest; those in cycles are freed by the next compaction.

    Args:
        compact_every: Seconds between two compactions.
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(self, compact_every: float = 120.0, clock=time.monotonic) -> None:
        self.compact_every = compact_every
        self._clock = clock
        self._next_compaction = clock() + compact_every
        self.compactions = 0

    def tick(self) -> None:
        """Freeze everything alive now, or compact when it is time to."""
        if self._clock() >= self._next_compaction:
            self._next_compaction = self._clock() + self.compact_every
            self.compactions += 1
            compact("worker")
        else:
            gc.freeze()
