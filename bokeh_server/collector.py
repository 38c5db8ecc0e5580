"""Keep Python's full garbage collections from freezing every page for most of a second.

A session's document is some 460 Bokeh models and many more dicts and lists, all
long-lived.  With 50 sessions open and orders streaming at 2,000/s, a full
(generation 2) collection walked all of them, took 460 to 1,090 ms, and came about
every 10 s (measured with ``gc.callbacks`` in the dashboard process of
``bench/bench_dashboard.py --sessions 50 --rate 2000``); no page was updated meanwhile.

After a session's document is built, :meth:`Collector.session_built` moves everything
alive into the permanent generation (``gc.freeze()``), which collections skip: they
walk only what was made since (21 to 71 ms in the same run).  Frozen objects are
still freed by reference counting, but a closed session's document, full of reference
cycles, is not; so :meth:`Collector.session_closed` schedules one compaction
(unfreeze, collect, freeze) a few seconds after the last session closed: one pause
per wave of closings instead of one every 10 s.
"""

from __future__ import annotations

import gc
import logging
import time

from tornado.ioloop import IOLoop

from streamproc.gcpacing import compact

log = logging.getLogger(__name__)


class Collector:
    """Freezes what sessions build; compacts after sessions close.

    Args:
        compact_after: Seconds after the last closing before the compaction.
    """

    def __init__(self, compact_after: float = 5.0) -> None:
        self.compact_after = compact_after
        self._timeout: object | None = None
        self._loop: IOLoop | None = None

    def session_built(self) -> None:
        """Freeze every object alive now (call when a session's document is built)."""
        gc.freeze()

    def session_closed(self) -> None:
        """Schedule a compaction on the current loop, moving a pending one later."""
        loop = IOLoop.current()
        if self._timeout is not None and self._loop is not None:
            self._loop.remove_timeout(self._timeout)
        self._loop = loop
        self._timeout = loop.call_later(self.compact_after, self.compact)

    def compact(self) -> int:
        """Collect the frozen garbage now; return how many objects were unreachable."""
        self._timeout = None
        started = time.monotonic()
        found = compact()
        log.info(
            "dashboard: collected %d unreachable objects of closed sessions in %.0f ms",
            found,
            (time.monotonic() - started) * 1000,
        )
        return found


#: the process's one collector (the gc module is process-wide too)
COLLECTOR = Collector()
