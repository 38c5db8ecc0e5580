"""Records a batch sends to Kafka, written straight into the partition's transaction.

Faust's own ``send_soon`` goes through a buffer that a background task drains, so a
commit can close a transaction before the records of the batch it commits are in
it; the outbox instead hands every record to the transactional producer of its
partition before the batch is acknowledged, under a lock that the commit takes too.
"""

from __future__ import annotations

import asyncio
from typing import Any

Headers = list[tuple[str, bytes]] | None


class Outbox:
    """Changelog records, dead letters and alerts of the batch being applied."""

    def __init__(self) -> None:
        self._records: list[tuple[str, int, bytes | None, bytes | None, Headers]] = []
        self._lock: asyncio.Lock | None = None

    def commit_lock(self) -> asyncio.Lock:
        """Return the lock held while a batch is applied and while offsets commit."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def add(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = None,
    ) -> None:
        """Queue one record for ``topic``/``partition``."""
        self._records.append((topic, partition, key, value, headers))

    async def flush(self, app: Any, source_topic: str) -> int:
        """Hand every queued record to its partition's transactional producer.

        Every topic of the pipeline has the same partition count, so faust's assignor
        puts all of them in one co-partitioned group: record partition ``p`` belongs
        to the transaction ``<app id>-<group of source_topic>-<p>``, the one that
        also commits the offsets of input partition ``p``.
        """
        records, self._records = self._records, []
        if not records:
            return 0
        producer = app.producer
        prefix = None
        if app.in_transaction:
            prefix = f"{app.conf.id}-{app.assignor.group_for_topic(source_topic)}-"
        for topic, partition, key, value, headers in records:
            tid = f"{prefix}{partition}" if prefix else None
            await producer.send(topic, key, value, partition, None, headers, transactional_id=tid)
        return len(records)


outbox = Outbox()
