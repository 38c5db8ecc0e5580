"""Apply each input partition strictly in offset order, every record once.

The ``progress`` table holds, in the same Kafka transaction as a batch's changes,
the last offset applied per input partition, so it says which record comes next.
A record below that is a replay (after a restart) and is skipped.  A record past it
means the records in between have not been delivered: faust may seek forward to
its committed offsets, which can be ahead of the restored state, or lose fetched
records when it seeks during a rebalance.  Such a partition is sought back to the
next offset it needs.

A seek moves the fetcher, not the records already queued for the agent: records
fetched before it still arrive first, and they too are "ahead".  Seeking again at
each of them would restart the fetch over and over while the queue never drains
(a livelock that stalled a partition for good).  So a record ahead is only skipped,
an in-order record is applied wherever it sits in the batch, and a partition is
sought back only when no in-order record has arrived for ``quiet`` seconds since
its last seek or its last applied record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Key = tuple[str, int]


class InOrder:
    """Which records of a batch to apply, and which partitions to seek back where.

    ``last_applied(key)`` returns the last offset applied for ``(topic, partition)``
    (``None``: none yet).  ``clock`` is :func:`time.monotonic` unless a test says.
    """

    def __init__(
        self,
        last_applied: Callable[[Key], int | None],
        quiet: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._last_applied = last_applied
        self.quiet = quiet
        self._clock = clock
        #: key -> next offset needed, for partitions that showed records ahead of it
        self.pending: dict[Key, int] = {}
        #: key -> when it was last sought or last had a record applied
        self._settled: dict[Key, float] = {}
        #: key -> first offset still in the log (when retention deleted some)
        self.floor: dict[Key, int] = {}

    def next_offset(self, key: Key) -> int:
        """Return the next offset to apply for ``key``."""
        last = self._last_applied(key)
        return max(-1 if last is None else last, self.floor.get(key, 0) - 1) + 1

    def select(self, messages: Sequence[Any]) -> list[int]:
        """Return the indexes of ``messages`` to apply, in order.

        Each message needs ``topic``, ``partition`` and ``offset``.
        """
        now = self._clock()
        chosen: list[int] = []
        expected: dict[Key, int] = {}
        ahead: set[Key] = set()
        for i, msg in enumerate(messages):
            key = (msg.topic, msg.partition)
            if key not in expected:
                expected[key] = self.next_offset(key)
            if msg.offset < expected[key]:
                continue  # a replay
            if msg.offset > expected[key]:
                ahead.add(key)  # fetched before a seek, or a gap
                continue
            chosen.append(i)
            expected[key] += 1
            self._settled[key] = now
        for key, offset in expected.items():
            if key in ahead:
                self.pending[key] = offset
            elif self.pending.get(key, offset) < offset:
                del self.pending[key]  # what was missing has arrived
        return chosen

    def behind(self, ends: dict[Key, int]) -> None:
        """Wait, as for a record ahead, on partitions handed over past the next offset.

        ``ends`` maps partitions being fetched to the offset up to which the fetcher
        has handed their records over.  Records lost in flight with none fetched
        after them (the tail of a fetch dropped during a rebalance) never show
        :meth:`select` a record ahead; without this their partition would wait for
        them for good.  A partition whose handed-over records are on their way
        keeps having records applied and never goes quiet for long enough.
        """
        now = self._clock()
        for key, end in ends.items():
            offset = self.next_offset(key)
            if end > offset and key not in self.pending:
                self.pending[key] = offset
                self._settled.setdefault(key, now)

    def due(self) -> dict[Key, int]:
        """Return (and stop waiting for) the partitions to seek back, with offsets."""
        now = self._clock()
        seeks = {
            key: offset
            for key, offset in self.pending.items()
            if now - self._settled.get(key, float("-inf")) >= self.quiet
        }
        for key in seeks:
            del self.pending[key]
            self._settled[key] = now
        return seeks

    def raise_floor(self, earliest: Iterable[tuple[Key, int]]) -> None:
        """Record the first offsets still in the log (retention deleted the rest)."""
        for key, offset in earliest:
            self.floor[key] = offset
