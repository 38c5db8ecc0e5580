"""Workarounds for faust-streaming 0.15.3 bugs that break exactly-once recovery.

Each fix names the symptom it cures; the SIGKILL tests in ``tests/integration`` and
``tests/reliability`` fail without them.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from aiokafka.structs import ConsumerRecord, TopicPartition
from faust.stores import rocksdb as _rocksdb
from faust.tables import recovery as _recovery
from faust.transport import consumer as _consumer
from faust.transport.drivers import aiokafka as _driver
from faust.types import TP
from mode.utils.queues import ThrowableQueue

from streamproc.outbox import outbox

log = logging.getLogger(__name__)

_original_commit_tps = _consumer.Consumer._commit_tps
_original_new_offset = _consumer.Consumer._new_offset
_original_consumer_init = _consumer.Consumer.__init__
_original_producer_extra = _driver.Producer._settings_extra
_original_create_worker_consumer = _driver.AIOKafkaConsumerThread._create_worker_consumer
_original_partitions_revoked = _consumer.Consumer.on_partitions_revoked
_original_commit_transactions = _driver.Producer.commit_transactions
_original_maybe_begin_transaction = _driver.Producer.maybe_begin_transaction
_original_queue_clear = ThrowableQueue.clear
_transaction_timeout_ms: int | None = None
#: ``(topic, partition) -> offset of the last record applied``, set by the runtime
_last_applied: Callable[[tuple[str, int]], int | None] | None = None
#: commits whose offset came from the applied offsets where faust's acks gave none
#: or a lower one (shown in /api/health; records of batched topics are acked per batch)
commits_past_acks = 0
#: topics whose records reach their agent in batches, and the records per batch
_batched: frozenset[str] = frozenset()
_chunk = 500
#: batch events a channel may hold before its partition's fetching pauses
MAX_QUEUED_BATCHES = 4
#: longest a fetch waits at the broker for new records (faust hard-codes 1,500 ms)
FETCH_MAX_WAIT_MS = 100
#: longest the worker waits for fetched records of its unpaused partitions (faust: 1 s)
GETMANY_TIMEOUT_S = 0.1
#: how often a recovering worker looks for changelogs read to their end (see
#: :func:`settle_recovered_changelogs`)
RECOVERY_CHECK_S = 2.0
#: ``tp -> ((position, recovery offset, consumer generation), fetch round)``: what the
#: previous check saw, and the fetch round of the first check that saw it
_recovery_seen: dict[Any, tuple[tuple, int]] = {}


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

    If HBase goes down or stalls during that wait, the lock is let go and the commit
    starts over: an outage that began in those few milliseconds held the agents, and
    every table with them, until HBase was back (a CI run counted 372 orders in 30 s).
    """
    tps = list(tps)
    while True:
        await outbox.settle()  # most rows written while the agents go on
        async with outbox.commit_lock():
            # the rest: every acknowledged record has its rows, unless HBase is down
            if await outbox.settle(give_up=True):
                before = {tp: self._committed_offset.get(tp) for tp in tps}
                did_commit = await _original_commit_tps(self, tps, start_new_transaction)
                break
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
    applied = _last_applied((tp.topic, tp.partition)) if _last_applied else None
    if tp.topic in _batched and applied is not None:
        # acked once per batch (its last record): faust's list is all head gaps
        acked = self._acked[tp]
        done = [offset for offset in acked if offset <= applied]
        acked[:] = [offset for offset in acked if offset > applied]
        self._acked_index[tp].difference_update(done)
        return applied + 1
    by_acks = _original_new_offset(self, tp)  # also trims faust's list
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


async def _commit_before_revoke(self: Any, revoked: Any) -> None:
    """Commit what the agents applied before a rebalance takes the partitions away.

    faust revokes every partition at the start of a rebalance (aiokafka's eager
    protocol) and forgets their acks without committing.  The open transactions
    stayed ``Ongoing`` across the rebalance, for the partitions this worker keeps
    until its first commit after its own recovery, for the ones it loses until the
    new owner's producer aborted them.  Every worker reads the global products
    changelog ``read_committed``, which stops at the first open transaction: each
    worker's recovery waited on the other's open transactions.  Kafka Streams
    commits its tasks when their partitions are revoked; so does this, with faust's
    flow stopped first so that no batch starts after it.
    A member the group already dropped (generation reset) commits nothing: its
    partitions may have a new owner.  A failed commit is logged, not raised: the
    transactions then stay open as before and the offsets are not committed.
    """
    if self.in_transaction and not self.app.should_stop and _group_member(self):
        self.stop_flow()
        self.app.flow_control.suspend()
        try:
            # aiokafka's own TopicPartition, as on faust's acks: it refuses faust's TP
            tps = [self._new_topicpartition(tp.topic, tp.partition) for tp in sorted(revoked)]
            await self._commit_tps(tps, start_new_transaction=True)
        except Exception:
            log.warning("commit before the rebalance failed", exc_info=True)
    await _original_partitions_revoked(self, revoked)


def _need_recovery(self: Any) -> bool:
    """Return whether an active changelog is still behind its highwater (faust's test).

    faust asks this after every changelog event it recovers and answers it by building
    a ``Counter`` of every active changelog partition's remaining offsets: with ten
    tables on eight partitions, about a sixth of a restarted worker's CPU while it
    recovers (py-spy).  Here the partition found behind last time is checked first;
    the others only once it has caught up.
    """
    highwaters, offsets = self.active_highwaters, self.active_offsets
    behind = self.__dict__.get("_streamproc_behind")
    if behind is not None and _is_behind(highwaters.get(behind), offsets[behind]):
        return True
    for tp, highwater in highwaters.items():
        if _is_behind(highwater, offsets[tp]):
            self._streamproc_behind = tp
            return True
    return False


class _RecoveryAsyncio:
    """faust's recovery module's ``asyncio``, with a ``wait_for`` that skips the wait.

    faust's recovery loop takes each changelog event with
    ``await asyncio.wait_for(changelog_queue.get(), timeout=5.0)``: a task, a timer
    and two event-loop passes per event, about a fifth of a restarted worker's CPU
    while it reads a million changelog records back (py-spy).  When the queue already
    holds an event, ``get()`` returns it without waiting, so it is awaited directly;
    an empty queue is waited on with the timeout, as before.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def wait_for(awaitable: Any, timeout: float | None) -> Any:
        frame = getattr(awaitable, "cr_frame", None)
        queue = frame.f_locals.get("self") if frame is not None else None
        if isinstance(queue, asyncio.Queue) and not queue.empty():
            return await awaitable
        return await asyncio.wait_for(awaitable, timeout)


def _is_behind(highwater: int | None, offset: int | None) -> bool:
    return highwater is not None and offset is not None and highwater > offset


def _aiokafka(consumer: Any) -> Any:
    """Return the aiokafka consumer behind faust's worker consumer (``None`` before it starts).

    The fixes read its state (generation, positions, fetched records) directly, on
    the event loop: faust's way in, the consumer thread's method queue, waits.
    """
    return getattr(getattr(consumer, "_thread", None), "_consumer", None)


def _group_member(consumer: Any) -> bool:
    """Return whether ``consumer`` is still in its group's current generation."""
    coordinator = getattr(_aiokafka(consumer), "_coordinator", None)
    return getattr(coordinator, "generation", -1) > 0


async def _commit_transactions(
    self: Any, tid_to_offset_map: Mapping[str, Any], group_id: str, start_new_transaction: bool
) -> None:
    """Commit every partition's transaction at once, not one after the other.

    faust commits them in a loop, three round trips each (AddOffsetsToTxn,
    TxnOffsetCommit, EndTxn), while the agents wait for the commit lock.  Each
    transactional id has a producer and a lock of its own, so the commits can overlap.
    """
    await asyncio.gather(
        *(
            _original_commit_transactions(self, {tid: offsets}, group_id, start_new_transaction)
            for tid, offsets in tid_to_offset_map.items()
        )
    )


async def _maybe_begin_transaction(self: Any, transactional_id: str) -> None:
    """Begin the transaction of ``transactional_id`` unless it is already begun.

    After a rebalance faust begins the transaction of every partition assigned,
    including those the worker kept, whose transactions its last commit (ours before
    the revoke, or faust's timer) already began again.  aiokafka refuses that
    (``IN_TRANSACTION -> IN_TRANSACTION``) and faust logs the refusal as a warning at
    every rebalance; the open transaction was never in danger.
    """
    producer = self._transaction_producers.get(transactional_id)
    manager = getattr(producer, "_txn_manager", None)
    if manager is not None and manager.is_in_transaction():
        return
    await _original_maybe_begin_transaction(self, transactional_id)


def set_applied_offsets(last_applied: Callable[[tuple[str, int]], int | None]) -> None:
    """Tell the commit which offset each input partition has applied (see :func:`_new_offset`)."""
    global _last_applied
    _last_applied = last_applied


class Batch:
    """The value of a batch event: records of one topic partition, in offset order."""

    __slots__ = ("records",)

    def __init__(self, records: list[Any]) -> None:
        self.records = records

    def __repr__(self) -> str:
        first, last = self.records[0], self.records[-1]
        return f"<Batch {first.topic}|{first.partition} {first.offset}..{last.offset}>"


def batch_topics(topics: set[str], records_per_batch: int) -> None:
    """Deliver the records of ``topics`` to their agent in batches (see :func:`_deliver`)."""
    global _batched, _chunk
    _batched, _chunk = frozenset(topics), max(1, records_per_batch)


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
    self._batch_drop_callbacks = {}
    self._positions_seen = {}
    self._fetch_rounds = [0, 0]  # fetches started, fetches delivered (_drain_messages)


async def _settled_position(self: Any, tp: Any) -> int:
    """Return the position on ``tp`` once it has held still (else -1), for recovery.

    faust calls ``Consumer.position`` from one place: recovery's ``detect_aborted_tx``.
    After two 5 s waits without a changelog event, a changelog whose position has
    reached its highwater is taken to end in aborted transactions, and its recovery
    as done.  But the position moves when the consumer thread fetches, before the
    records reach the recovery: with the event loop behind (a restarted worker's
    rebalance), one wait timed out with records fetched and not delivered, the
    changelogs were declared done, and the records that came next were skipped as
    already seen: the restarted worker had no customers and no products.  Here a
    position counts only when the check before (5 s earlier) saw the same one and
    the recovery has applied nothing of that changelog since, and only once a fetch
    begun since has been delivered (:func:`_held_still`).
    """
    seen = (position_now(self, tp), self.transport.app.tables.recovery.active_offsets.get(tp))
    return seen[0] if _held_still(self._positions_seen, tp, seen, self) else -1


def position_now(consumer: Any, tp: Any) -> int | None:
    """Return the consumer's position on ``tp`` now; ``None`` while it has none.

    aiokafka's ``position()`` waits, up to the request timeout, while a partition has
    no valid position, and faust runs it on the consumer thread's method queue.  That
    queue has two workers and also carries every fetch: two such waits stop the
    worker's fetching altogether.  This reads aiokafka's subscription state instead
    (plain attributes; the consumer thread only ever replaces them).
    """
    subscription = getattr(
        getattr(_aiokafka(consumer), "_subscription", None), "subscription", None
    )
    assignment = getattr(subscription, "assignment", None)
    state = assignment.state_value(tp) if assignment is not None else None
    return state.position if state is not None and state.has_valid_position else None


def agent_has_queued(app: Any, tp: Any) -> bool:
    """Return whether an agent reading ``tp`` has records waiting in its queue."""
    return any(channel.queue.qsize() for channel in app.topics._tp_index.get(tp) or ())


def _held_still(seen: dict[Any, tuple], tp: Any, now: tuple, consumer: Any) -> bool:
    """Return whether ``tp`` held still since its previous check in ``seen``.

    ``now`` is a position first, then what else must not move; it is recorded for
    the next check.  A position of ``None`` (none yet) never counts as held still,
    and neither does one whose records may still be on their way to faust.

    aiokafka moves a partition's position when a fetch takes its records out of its
    buffer, in the consumer thread; the records then cross to the event loop and go
    to the streams one after the other.  A fetch holds up to a megabyte per
    partition: a restarted worker's changelogs fill it with a hundred thousand
    records, which take seconds to deliver while the recovery keeps its queue empty.
    So the position counts only once a fetch that began after the first check that
    saw it (and what else must not move) has been delivered in full
    (``_fetch_rounds``, :func:`_drain_messages`): every record taken before that
    check has then been applied (the recovery's offset moved) or waits in the
    changelog queue.
    """
    started, delivered = consumer._fetch_rounds
    before = seen.get(tp)
    still = before is not None and before[0] == now and now[0] is not None
    first_seen = before[1] if still else started
    seen[tp] = (now, first_seen)
    return still and delivered > first_seen


async def settle_recovered_changelogs(app: Any) -> None:
    """Count as recovered the active changelogs read to their end (faust's recovery).

    A changelog written in transactions ends with a commit marker, which the consumer
    skips: the recovery never sees an event at its highwater.  faust then counts it as
    recovered (``detect_aborted_tx``) only after two 5 s waits with no changelog event
    at all, the standby changelogs' included.  With a second worker writing the
    changelogs this one keeps as standbys, that quiet never comes: a restarted worker
    stayed in recovery, its inputs paused, for as long as the other one was busy.
    Here, every :data:`RECOVERY_CHECK_S`, a changelog counts as recovered when its
    consumer position has reached its highwater, none of its records waits between
    the fetch and the recovery (aiokafka's buffer, the fetch being delivered, faust's
    changelog queue), and neither that position nor the recovery's offset has moved
    since the previous check (:func:`_held_still`).  The recovery ends at its next
    event or wait.

    Records on their way from the consumer thread were once left out: in ``make
    test`` of 6c0a6b1 a restarted worker's customers changelog was counted recovered
    with none of its records applied (offset -1, its highwater 2,488); they were
    then skipped as already seen, every order after the restart was parked for want
    of its customer and, 30 s later, dead-lettered.  With the check every 0.05 s
    instead of 2 s the same happened in two of five restarts of the million-order
    SIGKILL test.
    """
    recovery = app.tables.recovery
    if not (recovery.in_recovery and app.in_transaction and app.consumer.flow_active):
        _recovery_seen.clear()  # a rebalance stops the flow: what was seen may not hold
        return
    offsets = recovery.active_offsets
    fetched = _fetched_records(app.consumer)
    queued = app.tables.changelog_queue.qsize()
    for tp, highwater in list(recovery.active_highwaters.items()):
        offset = offsets[tp]
        if highwater is None or offset is None or offset >= highwater:
            continue
        position = position_now(app.consumer, tp)
        pending = queued or tp in fetched
        seen = (position, offset, app.consumer_generation_id)  # a rebalance starts afresh
        still = _held_still(_recovery_seen, tp, seen, app.consumer)
        if still and not pending and position >= highwater:
            log.info("%s|%s: changelog read to its end at %s", tp.topic, tp.partition, offset)
            offsets[tp] = highwater


def _fetched_records(consumer: Any) -> Mapping[Any, Any]:
    """Return aiokafka's fetched and not yet delivered records, by partition."""
    return getattr(getattr(_aiokafka(consumer), "_fetcher", None), "_records", None) or {}


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

    A fetch asks only for the partitions not paused (an agent with
    :data:`MAX_QUEUED_BATCHES` waiting pauses its partition) and waits up to its
    timeout for records of those.  With every busy partition paused at once, it
    waited faust's full second on the idle ones (customers, products) while the
    partitions resumed meanwhile had records ready: the latency's p99 sat at 1.1 s.
    :data:`GETMANY_TIMEOUT_S` bounds that wait.
    """
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            self.diag.set_flag(_consumer.CONSUMER_FETCHING)
            # fetched in full first: a fetch cancelled half-way would lose its records
            # for good (the fetcher's position has moved past them)
            rounds = self._fetch_rounds
            rounds[0] += 1
            records = await _fetch(self)
            await self.sleep(0)  # a fetch may return at once, again and again
            if records and not self.should_stop:
                await self.wait_first(_deliver(self, records), self.suspend_flow.wait())
            rounds[1] = rounds[0]  # delivered, or dropped (a rebalance: sought back)
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


async def _fetch(self: Any) -> list[Any]:  # pragma: no cover - a worker's (its parts are tested)
    """Fetch once (waiting while the flow is stopped); return the records to deliver.

    faust's ``getmany`` makes every record a faust message and looks up its
    partition's high-water mark, one record at a time: about a fifth of a worker's
    CPU at 7,000 orders/s (py-spy ``--gil``).  Here the high-water mark is tracked
    once per partition and fetch, and the records of batched partitions stay
    aiokafka's records (:func:`_faust_messages`) until :func:`_deliver_batches`
    makes faust's the one record per batch that the agent's stream acknowledges.
    Like ``getmany``, a fetch that returns with the flow suspended (a rebalance
    began) seeks back to the committed offsets and delivers nothing; the records of
    one fetch are each partition's in offset order.
    """
    records, active = await self._wait_next_records(GETMANY_TIMEOUT_S)
    if self.should_stop:
        return []
    if not self.flow_active:
        try:
            await self.perform_seek()
        except Exception as exc:  # as faust's getmany: the next fetch tries again
            self.log.warning(f"exception performing seek when flow not active {exc}")
        return []
    buffered = self._buffered_partitions
    track = self.app.monitor.track_tp_end_offset
    fetched: list[Any] = []
    for tp, tp_records in records.items():
        if active is not None and tp not in active and tp not in buffered:
            continue
        track(tp, self.highwater(tp))
        fetched.extend(_faust_messages(self._to_message, tp, tp_records))
    return fetched


def _faust_messages(to_message: Callable[[Any, Any], Any], tp: Any, records: list[Any]) -> list:
    """Return a partition's fetched records as :func:`_deliver` takes them.

    A topic not batched gets faust messages.  A batched topic's records stay
    aiokafka's: the agents read only topic, partition, offset, key and value, which
    those have, and :func:`_deliver_batches` makes faust's only the record that ends
    each batch (the event's message, which its stream references and acknowledges).
    """
    if tp.topic in _batched:
        return records
    return [to_message(tp, record) for record in records]


async def _deliver(self: Any, records: list[Any]) -> None:
    """Hand a fetch's records to the streams: one batch event per topic partition run.

    faust hands each record to its channel on its own: a decode, an event, a pass
    through the stream's iterator, sensors and an ack per record, about a third of a
    worker's CPU (py-spy ``--gil``).  For the topics of :func:`batch_topics`, whose
    partitions feed one agent each, up to ``records_per_batch`` records of a
    partition go to the agent as one event whose value is a :class:`Batch`; the
    event's message is the batch's last record, so acking the event acks the batch.
    The agents unpack it (:func:`streamproc.runtime.by_partition`) and commit up to
    the last record applied (:func:`_new_offset`).  Other records (the changelogs
    read by recovery, the parked-order ticks) go through faust's own path.
    """
    callback: Callable[[Any], Any] = self.callback
    commit_every = self._commit_every
    runs: dict[Any, list[Any]] = {}
    since_yield = 0
    for message in records:
        if message.topic in _batched:
            runs.setdefault((message.topic, message.partition), []).append(message)
            continue
        since_yield += 1
        if since_yield > 100:  # let the agents and the web server run
            await asyncio.sleep(0)
            since_yield = 0
        if commit_every is not None and self._n_acked >= commit_every:
            self._n_acked = 0
            await self.commit()
        await callback(message)
    for (topic, partition), messages in runs.items():
        # faust's own TP: the fetcher asserts it (a message's tp is aiokafka's)
        await _deliver_batches(self, TP(topic, partition), messages, callback)


async def _deliver_batches(self: Any, tp: Any, messages: list[Any], callback: Any) -> None:
    app = self.app
    channels = app.topics._tp_index.get(tp)
    fetched_tp = TopicPartition(tp.topic, tp.partition)  # a faust message's tp is aiokafka's
    if not channels or len(channels) != 1:  # not one agent's: faust's own path
        for message in messages:
            if isinstance(message, ConsumerRecord):  # left as fetched (_faust_messages)
                message = self._to_message(fetched_tp, message)
            await callback(message)
        return
    (channel,) = channels
    queue = channel.queue
    for start in range(0, len(messages), _chunk):
        batch = messages[start : start + _chunk]
        last = batch[-1]
        if isinstance(last, ConsumerRecord):  # as fetched (_faust_messages)
            last = batch[-1] = self._to_message(fetched_tp, last)
        last.incref(1)  # the agent's stream acks the event, hence its last record
        await app.flow_control.acquire()  # waits out a rebalance, as faust's delivery does
        queue.force_put_nowait(app.create_event(None, Batch(batch), {}, last))
    if queue.qsize() >= MAX_QUEUED_BATCHES:
        # The agent is behind: fetch no more of tp until it takes the next batch.
        # Never wait here: the other topics' agents must go on (a stock update
        # waits for its products partition to catch up).
        drop = self._batch_drop_callbacks.get(tp)
        if drop is None:
            drop = self._batch_drop_callbacks[tp] = partial(self.on_buffer_drop, tp)
        pending = queue._pending_pressure_drop_callbacks
        if drop not in pending:
            pending.add(drop)  # called by the queue's next get
            self.on_buffer_full(tp)


def _on_buffer_drop(self: Any, tp: Any) -> None:
    """Fetch ``tp`` again: its agent took a batch, or its queued batches were cleared.

    faust's ``on_buffer_drop`` makes the partition active even while a rebalance has
    it paused, which :func:`_clear_queue` now calls at every revoke; a paused partition
    stays paused here (its resume makes it active).
    """
    buffered = self._buffered_partitions
    if tp in buffered:
        buffered.discard(tp)
        if tp not in self._paused_partitions:
            self._get_active_partitions().add(tp)


def _clear_queue(self: Any) -> None:
    """Empty an agent's queue, then call its pending pressure-drop callbacks.

    A partition whose agent fell behind stops being fetched until the agent's queue
    calls back (:func:`_deliver_batches`), and the queue calls back only from a
    ``get`` that finds it empty or takes an item.  faust clears every agent's queue
    at each rebalance (flow control's ``clear``, and its ``resume``) without calling
    back.  When the agent was already waiting in ``get`` on an empty queue as batches
    arrived, it woke to a queue emptied under it and went back to waiting, past the
    point where the callbacks run: its partitions stayed unfetched for good.  Seen
    in a ``make bench`` two-worker drain (2026-12-07 10:29) and, in a loop of them,
    caught live (13:51, gdb on the stuck worker): it had stopped after 52,803 records,
    ``orders|4..7`` in ``_buffered_partitions`` and none active, its orders queue
    empty with one getter and those four callbacks pending; calling them by hand
    let the drain finish at exactly its 300,000 orders.
    """
    _original_queue_clear(self)
    pending = self._pending_pressure_drop_callbacks
    while pending:
        pending.pop()()


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    """Have the worker's fetches wait at most :data:`FETCH_MAX_WAIT_MS` at the broker.

    aiokafka keeps one fetch in flight per broker and leaves out of it the partitions
    whose fetched records the worker has not taken yet.  When it built a fetch while
    the busy partitions' records were still waiting (the event loop busy for more
    than aiokafka's 0.1 s), the fetch asked only for idle partitions (changelogs,
    customers), and the broker held it the 1.5 s faust asks for: no new order was
    fetched meanwhile.  At 2,000 orders/s that put a 1.7 s ceiling on the latency;
    most orders took 0.4 to 0.8 s from their send to their fetch.
    """
    consumer = _original_create_worker_consumer(self, transport)
    consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
    return consumer


def _producer_extra(self: Any) -> Mapping[str, Any]:
    """Give faust's transactional producers the configured transaction timeout.

    Faust leaves aiokafka's default, 60 s; a commit waits for the HBase rows, so an
    HBase outage longer than that would let the broker abort the open transaction.
    """
    extra = dict(_original_producer_extra(self))
    if self.app.in_transaction and _transaction_timeout_ms is not None:
        extra["transaction_timeout_ms"] = _transaction_timeout_ms
    return extra


def _revoke_partitions(self: Any, table: Any, tps: Any) -> None:
    """Close a revoked partition's RocksDB database and delete its files.

    A worker writes its tables' local databases as it applies each batch, but only
    the changelog records are in the Kafka transaction: writes of a transaction that
    was aborted stay on disk.  faust keeps a revoked partition's files and, when the
    partition comes back, replays the changelog over them from the last offset it
    restored, so such a value would outlive its abort.  Without the files the
    partition is restored from the committed changelog alone, like the memory store.
    (A worker's start removes its table files for the same reason, see
    ``streamproc.app``.)
    """
    topics = table.changelog_topic.topics
    for tp in tps:
        if tp.topic in topics:
            db = self._dbs.pop(tp.partition, None)
            if db is not None:
                db.close()
            shutil.rmtree(self.partition_path(tp.partition), ignore_errors=True)


def apply(transaction_timeout: float | None = None) -> None:
    """Install the fixes (idempotent); ``transaction_timeout`` in seconds."""
    global _transaction_timeout_ms
    if transaction_timeout is not None:
        _transaction_timeout_ms = int(transaction_timeout * 1000)
    _driver.Producer._settings_extra = _producer_extra
    _driver.AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer
    _consumer.Consumer._drain_messages = _drain_messages
    _driver.AIOKafkaConsumerThread._highwaters = _highwaters
    _consumer.Consumer._commit_tps = _commit_tps
    _consumer.Consumer._new_offset = _new_offset
    _consumer.Consumer.__init__ = _consumer_init
    _consumer.Consumer.on_partitions_revoked = _commit_before_revoke
    _driver.Producer.commit_transactions = _commit_transactions
    _driver.Producer.maybe_begin_transaction = _maybe_begin_transaction
    _consumer.ThreadDelegateConsumer.position = _settled_position
    _rocksdb.Store.revoke_partitions = _revoke_partitions
    _recovery.Recovery.need_recovery = _need_recovery
    _recovery.asyncio = _RecoveryAsyncio()
    ThrowableQueue.clear = _clear_queue
    _consumer.Consumer.on_buffer_drop = _on_buffer_drop
