"""Counters that apply each input record exactly once, whatever is replayed.

A counter value is ``[revenue, orders, quantity, hw]``: three integer sums and the
offset of the last input record applied to it (its high-water mark). Each counter key
is written from one input partition only, and that partition's records arrive in
offset order, so a record at an offset at or below the mark has already been
counted: replaying it after a crash changes nothing.  The sums and the mark are
written together as one changelog record, so a counter is never half-applied.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

Counter = list[int]
REVENUE, ORDERS, QUANTITY, HW = range(4)


def empty() -> Counter:
    """Return a counter that has applied nothing."""
    return [0, 0, 0, -1]


class Ledger:
    """Batch of counter updates read through ``lookup`` and collected in ``changed``.

    Args:
        lookup: returns the stored counter of a key, or None when it has none.
    """

    def __init__(self, lookup: Callable[[Hashable], Counter | None]) -> None:
        self._lookup = lookup
        self.changed: dict[Hashable, Counter] = {}

    def add(self, key: Hashable, offset: int, revenue: int, quantity: int) -> bool:
        """Count one order at ``offset`` into ``key``; return False if already counted."""
        value = self.changed.get(key)
        if value is None:
            stored = self._lookup(key)
            value = list(stored) if stored is not None else empty()
        if offset <= value[HW]:
            return False
        value[REVENUE] += revenue
        value[ORDERS] += 1
        value[QUANTITY] += quantity
        value[HW] = offset
        self.changed[key] = value
        return True
