"""Workarounds for faust-streaming 0.15.3 bugs that break exactly-once recovery.

Each fix names the symptom it cures; the SIGKILL tests in ``tests/integration``
fail without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import aiokafka as _driver


async def _highwaters(self: Any, partitions: list[Any]) -> Mapping[Any, int]:
    """Ask the broker for each changelog's end (the last stable offset).

    Under ``exactly_once`` faust reads ``consumer.last_stable_offset(tp)``, which
    aiokafka knows only for partitions it has already fetched; before the first fetch
    it is -1, so a restarted worker "recovers" nothing and starts with empty tables.
    ``end_offsets`` sends a ListOffsets request, which on a ``read_committed``
    consumer answers with the last stable offset.
    """
    return await self._ensure_consumer().end_offsets(partitions)


def apply() -> None:
    """Install the fixes (idempotent)."""
    _driver.AIOKafkaConsumerThread._highwaters = _highwaters
