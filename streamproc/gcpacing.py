"""Pace Python's garbage collector in the stream worker.

With Python's defaults the collector took about a quarter of a worker's CPU: with
:func:`pace` one worker used 137/122/148 µs of CPU per order where it used
194/204/192 with the defaults, and drained 6,586/7,065/6,139 orders/s instead of
4,868/4,673/4,970 (60,000 orders, the two alternating on the dev stack, the
worker's ``/proc`` CPU time from ready to the last order counted).
Two costs add up:

* full (generation 2) collections walk every container alive: faust's and the
  libraries' own objects and the tables' values.  Python starts one when the
  objects promoted since the last one reach a quarter of those it kept, which a
  stream of replaced table values reaches quickly: at 2,000 orders/s one came every
  3 s and took 100 to 225 ms as the tables grew (``gc.callbacks`` in the worker of
  ``bench/bench_dashboard.py``), and no record was processed meanwhile;
* young collections every 700 net allocations: a batch of 2,000 orders keeps
  hundreds of thousands of objects alive until it is applied, so each was walked
  again and again before it died.

:func:`pace` freezes what the start-up made (modules, classes, the app: they live as
long as the process, so collections skip them), collects the young generation every
:data:`YOUNG` allocations instead of 700, and leaves full collections to
:class:`Collector`, which a worker timer runs every :data:`FULL_EVERY` seconds.
It freezes what survived, so the next one walks only what was made since, not the
whole tables again.  Frozen objects are still freed by reference counting; frozen
garbage in reference cycles (rare here: the tables hold plain lists) is freed by a
compaction (unfreeze, collect everything, freeze) every :data:`COMPACT_EVERY` seconds:
one long pause now and then instead of one every few seconds.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: net allocations between two young collections (Python's default: 700)
YOUNG = 50_000
#: seconds between two full collections
FULL_EVERY = 30.0
#: seconds between two compactions (a full collection of the frozen objects too)
COMPACT_EVERY = 600.0


def compact() -> int:
    """Collect every object, frozen ones too, then freeze the survivors again.

    The only way frozen garbage in reference cycles is freed; it walks everything
    alive, so it is a long pause.  Returns how many objects were unreachable.
    """
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    return found


def pace() -> None:
    """Freeze what exists now and switch off Python's own full collections."""
    gc.collect()
    gc.freeze()
    _young, middle, _old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, 2**31 - 1)  # never reached: no automatic full ones


class Collector:
    """Runs the full collections and the compactions; keeps their figures.

    Args:
        compact_every: Seconds between two compactions.
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(
        self, compact_every: float = COMPACT_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self.compact_every = compact_every
        self._next_compaction = clock() + compact_every
        #: runs and the longest one in ms, for /api/health
        self.stats: dict[str, float] = {
            "full_collections": 0,
            "longest_full_ms": 0.0,
            "compactions": 0,
            "longest_compaction_ms": 0.0,
        }

    def collect(self) -> int:
        """Collect what is not frozen, or everything when a compaction is due.

        The survivors are frozen.  Returns how many unreachable objects were found.
        """
        now, started = self._clock(), time.monotonic()
        compaction = now >= self._next_compaction
        if compaction:
            self._next_compaction = now + self.compact_every
            found = compact()
        else:
            found = gc.collect()
            gc.freeze()
        ms = (time.monotonic() - started) * 1000
        kind = "compaction" if compaction else "full"
        runs = "compactions" if compaction else "full_collections"
        self.stats[runs] += 1
        self.stats[f"longest_{kind}_ms"] = round(max(self.stats[f"longest_{kind}_ms"], ms), 1)
        log.debug("%s collection: %d unreachable in %.0f ms", kind, found, ms)
        return found


#: the worker's one collector (the gc module is process-wide too)
COLLECTOR = Collector()
