"""Records a batch sends to Kafka, written straight into the partition's transaction.

Faust's own ``send_soon`` goes through a buffer that a background task drains, so a
commit can close a transaction before the records of the batch it commits are in
it; the outbox instead hands every record to the transactional producer of its
partition before the batch is acknowledged, under a lock that the commit takes too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faust.exceptions import ProducerSendError

Headers = list[tuple[str, bytes]] | None
Row = tuple[bytes | None, bytes | None, Headers]


class Outbox:
    """Changelog records, dead letters and alerts of the batch being applied."""

    def __init__(self) -> None:
        #: (topic, partition) -> its queued ``(key, value, headers)``, in order
        self._queued: dict[tuple[str, int], list[Row]] = {}
        self._lock: asyncio.Lock | None = None
        self._before_commit: list[Callable[..., Awaitable[bool]]] = []

    def before_commit(self, wait: Callable[..., Awaitable[bool]]) -> None:
        """Have every offset commit first await ``wait(give_up=...)``.

        ``wait`` is e.g. the HBase sink's drain; it returns False when it gave up.
        """
        self._before_commit.append(wait)

    async def settle(self, *, give_up: bool = False) -> bool:
        """Await what must be done before offsets commit (see :meth:`before_commit`).

        With ``give_up``, return False as soon as one wait gives up (its store is
        down): the commit then lets go of the agents' lock and starts over.
        """
        for wait in self._before_commit:
            if not await wait(give_up=give_up):
                return False
        return True

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
        self.rows(topic, partition).append((key, value, headers))

    def rows(self, topic: str, partition: int) -> list[Row]:
        """Return the queue of ``topic``/``partition``, to append ``(key, value, headers)``.

        Records are queued per topic partition, as they are sent: a batch queues some
        three changelog records per order, which were regrouped at every flush.
        """
        queue = self._queued.get((topic, partition))
        if queue is None:
            queue = self._queued[(topic, partition)] = []
        return queue

    def take(self) -> list[tuple[str, int, bytes | None, bytes | None, Headers]]:
        """Dequeue every record, as ``(topic, partition, key, value, headers)``."""
        queued, self._queued = self._queued, {}
        return [(topic, p, *row) for (topic, p), rows in queued.items() for row in rows]

    async def flush(self, app: Any, source_topic: str) -> int:
        """Hand every queued record to its partition's transactional producer.

        Every topic of the pipeline has the same partition count, so faust's assignor
        puts all of them in one co-partitioned group: record partition ``p`` belongs
        to the transaction ``<app id>-<group of source_topic>-<p>``, the one that
        also commits the offsets of input partition ``p``.  The records of one topic
        partition go as one record batch (aiokafka's ``send_batch``), not one
        ``send`` each: a batch queues some three changelog records per order.
        """
        if not self._queued:
            return 0
        if not app.in_transaction:
            records = self.take()
            for topic, partition, key, value, headers in records:
                await app.producer.send(topic, key, value, partition, None, headers)
            return len(records)
        queued, self._queued = self._queued, {}
        prefix = f"{app.conf.id}-{app.assignor.group_for_topic(source_topic)}-"
        for (topic, partition), rows in queued.items():
            await _send_batches(app.producer, f"{prefix}{partition}", topic, partition, rows)
        return sum(len(rows) for rows in queued.values())


async def _send_batches(producer: Any, tid: str, topic: str, partition: int, rows: list) -> None:
    """Queue ``rows`` for one topic partition in transaction ``tid``, as record batches.

    Uses faust's transactional aiokafka producer and its per-transaction lock (both
    private to faust's aiokafka driver), as faust's own ``send`` does.
    """
    kafka = producer._transaction_producers.get(tid)
    if kafka is None:
        raise ProducerSendError(f"No transaction producer found for : {tid}")
    async with producer._trn_locks[tid]:
        batch = kafka.create_batch()
        for key, value, headers in rows:
            if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                await kafka.send_batch(batch, topic, partition=partition)  # full: 1 MiB
                batch = kafka.create_batch()
                batch.append(timestamp=None, key=key, value=value, headers=headers)
        await kafka.send_batch(batch, topic, partition=partition)


outbox = Outbox()
