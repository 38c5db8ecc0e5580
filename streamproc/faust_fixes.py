"""Workarounds for faust-streaming 0.15.3: recovery bugs, and stalls.

Some bugs break exactly-once recovery; some stalls cost throughput and latency.
Each fix names the symptom it cures; the SIGKILL tests in ``tests/integration``
fail without the recovery fixes, and ``bench/bench_stream.py`` measures the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from faust.transport import consumer as _consumer
from faust.transport.drivers import aiokafka as _driver

from streamproc.outbox import outbox

_log = logging.getLogger(__name__)
_original_commit_tps = _consumer.Consumer._commit_tps
_original_new_offset = _consumer.Consumer._new_offset
_original_consumer_init = _consumer.Consumer.__init__
_original_producer_extra = _driver.Producer._settings_extra
_original_create_worker_consumer = _driver.AIOKafkaConsumerThread._create_worker_consumer
_transaction_timeout_ms: int | None = None
#: ``(topic, partition) -> offset of the last record applied``, set by the runtime
_last_applied: Callable[[tuple[str, int]], int | None] | None = None
#: commits whose offset came from the applied offsets where faust's acks gave none
#: or a lower one (shown in /api/health)
commits_past_acks = 0


async def _highwaters(self: Any, partitions: list[Any]) -> Mapping[Any, int]:
    """Ask the broker for each changelog's end (the last stable offset).

    Under ``exactly_once`` faust reads ``consumer.last_stable_offset(tp)``, which
    aiokafka knows only for partitions it has already fetched; before the first fetch
    it is -1, so a restarted worker "recovers" nothing and starts with empty tables.
    ``end_offsets`` sends a ListOffsets request, which on a ``read_committed``
    consumer answers with the last stable offset.
    """
    return await self._ensure_consumer().end_offsets(partitions)


async def _commit_tps(self: Any, tps: Any, start_new_transaction: bool) -> bool:
    """Commit offsets only between batches, never in the middle of one.

    Faust picks the offsets to commit and then commits the open transactions; a
    batch whose table changes were sent but whose events were not yet acknowledged
    would have its changes committed without its offsets, and counted twice after a
    crash.  Holding the outbox lock here (the agents hold it from their first change
    to their last ack) makes each batch all-in or all-out.  Under the lock it first
    waits for the HBase rows of every acknowledged record (:meth:`Outbox.settle`).
    """
    tps = list(tps)
    await outbox.settle()  # most rows written while the agents go on
    async with outbox.commit_lock():
        await outbox.settle()  # the rest: every acknowledged record has its rows
        before = {tp: self._committed_offset.get(tp) for tp in tps}
        did_commit = await _original_commit_tps(self, tps, start_new_transaction)
    # faust's stalled-commit check reads commit times that only its non-transactional
    # commit records: under exactly-once it warns "Has not committed ... at all".
    stamps = getattr(getattr(self, "_thread", None), "tp_last_committed_at", None)
    if did_commit and stamps is not None:
        now = time.monotonic()
        stamps.update({tp: now for tp in tps if self._committed_offset.get(tp) != before[tp]})
    return did_commit


def _new_offset(self: Any, tp: Any) -> int | None:
    """Commit up to the last record applied, whatever faust's list of acks says.

    Faust commits the first run of consecutive acknowledged offsets; one offset
    missing from that list (a record delivered around a rebalance and never acked
    by its last reference) stops every later commit of the partition.  Its open
    Kafka transaction then keeps the partition's changelog records invisible to
    ``read_committed`` readers (the other workers' copy of the global products
    table) until the broker times it out and fences the producer, which crashes
    the agents.  The agents apply each partition strictly in offset order and
    record the last offset applied in the ``progress`` table, in the same
    transaction, so that offset + 1 is exactly what the transaction may commit.
    """
    global commits_past_acks
    by_acks = _original_new_offset(self, tp)  # also trims faust's list
    applied = _last_applied((tp.topic, tp.partition)) if _last_applied else None
    if applied is None:
        return by_acks
    target = applied + 1
    acked = self._acked[tp]
    if acked and acked[0] < target:  # acks the applied offset covers
        done = [offset for offset in acked if offset < target]
        acked[:] = [offset for offset in acked if offset >= target]
        self._acked_index[tp].difference_update(done)
    if by_acks is None or by_acks < target:
        committed = self._committed_offset[tp]
        if committed is None or target > committed:
            commits_past_acks += 1
    return target


def set_applied_offsets(last_applied: Callable[[tuple[str, int]], int | None]) -> None:
    """Tell the commit which offset each input partition has applied (see :func:`_new_offset`)."""
    global _last_applied
    _last_applied = last_applied


class _NoReadOffsets(dict):
    """A read-offset map that never filters: every fetched record is delivered.

    Faust drops a fetched record whose offset is below the last one it delivered for
    that partition.  When it seeks backwards while records fetched before the seek
    are still in flight (it seeks to the committed offsets after a rebalance, with
    the stream already flowing), a stale record moves that mark forward and the
    re-fetched ones behind it are dropped for good: a silent gap.  The agents
    instead apply each partition strictly in offset order (see
    :func:`streamproc.runtime.by_partition`): a replay is skipped, a gap is sought
    back.
    """

    def __getitem__(self, key: Any) -> None:
        return None


def _consumer_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_consumer_init(self, *args, **kwargs)
    self._read_offset = _NoReadOffsets()


async def _drain_messages(self: Any, fetcher: Any) -> None:  # pragma: no cover - a worker's
    """Hand fetched records to the streams, racing the flow's suspension once per fetch.

    faust races the delivery of *each* record against the flow being suspended (a
    rebalance) with ``wait_first``, which starts four tasks per record: about half of
    a worker's CPU at a few thousand records per second.  Here one fetch (up to
    ``broker_max_poll_records`` records) is read in full, then delivered under one
    ``wait_first``; when the flow is suspended part-way (a rebalance) the rest of that
    fetch is dropped, as faust drops the one record it was delivering, and read again
    after the seek that follows (or sought back by :mod:`streamproc.ordering`).
    faust's read offsets and gap tracking are left out: every record is delivered
    (see :class:`_NoReadOffsets`) and the agents apply each partition in offset order.
    """
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            self.diag.set_flag(_consumer.CONSUMER_FETCHING)
            fetched = self.getmany(timeout=1.0)  # waits while the flow is stopped
            await self.sleep(0)  # getmany may return at once, again and again
            if not self.should_stop:
                # fetched in full first: a fetch cancelled half-way would lose its
                # records for good (the fetcher's position has moved past them)
                records = [message async for _tp, message in fetched]
                if records:
                    await self.wait_first(_deliver(self, records), self.suspend_flow.wait())
            self.diag.unset_flag(_consumer.CONSUMER_FETCHING)
    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            self.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            self.log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        self.log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        self.diag.unset_flag(_consumer.CONSUMER_FETCHING)


async def _deliver(self: Any, records: list[Any]) -> None:
    callback: Callable[[Any], Any] = self.callback
    commit_every = self._commit_every
    since_yield = 0
    for message in records:
        since_yield += 1
        if since_yield > 100:  # let the agents and the web server run
            await asyncio.sleep(0)
            since_yield = 0
        if commit_every is not None and self._n_acked >= commit_every:
            self._n_acked = 0
            await self.commit()
        await callback(message)


def _producer_extra(self: Any) -> Mapping[str, Any]:
    """Give faust's transactional producers the configured transaction timeout.

    Faust leaves aiokafka's default, 60 s; a commit waits for the HBase rows, so an
    HBase outage longer than that would let the broker abort the open transaction.
    """
    extra = dict(_original_producer_extra(self))
    if self.app.in_transaction and _transaction_timeout_ms is not None:
        extra["transaction_timeout_ms"] = _transaction_timeout_ms
    return extra


async def _commit_transactions(
    self: Any,
    tid_to_offset_map: Mapping[str, Mapping[Any, int]],
    group_id: str,
    start_new_transaction: bool = True,
) -> None:
    """Commit the partitions' transactions all at once, not one after another.

    Each input partition has a transactional producer of its own; faust ends them
    in turn, three broker round trips each (offsets, end, begin).  The agents wait
    for the commit (it holds the outbox lock), so with 8 partitions every commit
    stopped the stream for 70 to 200 ms.  Each transaction still runs under its
    own lock, as in faust; the first error is raised once all have ended.
    """

    async def one(tid: str, offsets: Mapping[Any, int]) -> None:
        async with self._trn_locks[tid]:
            producer = self._transaction_producers.get(tid)
            if producer is None:
                _log.warning("Commit invoked for unknown transaction %s", tid)
                return
            await producer.send_offsets_to_transaction(offsets, group_id)
            await producer.commit_transaction()
            if start_new_transaction:
                await producer.begin_transaction()

    results = await asyncio.gather(
        *(one(tid, offsets) for tid, offsets in tid_to_offset_map.items()),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result


#: how long the broker may hold a fetch with no new data (faust hard-codes 1,500 ms)
FETCH_MAX_WAIT_MS = 100


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    """Faust's worker consumer, with fetches that come back after ``FETCH_MAX_WAIT_MS``.

    aiokafka keeps one fetch in flight per broker, for the partitions that have no
    fetched records waiting.  While the orders partitions still have records
    waiting, the fetch in flight asks only for the idle ones (customers, products
    and stock updates, while only orders flow), and the broker holds it for the full
    ``fetch_max_wait_ms`` since no data comes.  Once the orders records are taken,
    their next fetch waits behind it: a stall of up to 1.5 s with faust's setting,
    and the p99 latency at 2,000 orders/s was 0.5 to 3.9 s.
    """
    consumer = _original_create_worker_consumer(self, transport)
    consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the fetcher starts
    return consumer


def apply(transaction_timeout: float | None = None) -> None:
    """Install the fixes (idempotent); ``transaction_timeout`` in seconds."""
    global _transaction_timeout_ms
    if transaction_timeout is not None:
        _transaction_timeout_ms = int(transaction_timeout * 1000)
    _driver.Producer._settings_extra = _producer_extra
    _driver.AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer
    _driver.Producer.commit_transactions = _commit_transactions
    _consumer.Consumer._drain_messages = _drain_messages
    _driver.AIOKafkaConsumerThread._highwaters = _highwaters
    _consumer.Consumer._commit_tps = _commit_tps
    _consumer.Consumer._new_offset = _new_offset
    _consumer.Consumer.__init__ = _consumer_init
