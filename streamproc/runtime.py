"""What the agents share at run time: the HBase sink, dead letters, batching, health."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from faust.types import TP

from streamproc import faust_fixes
from streamproc.app import app, settings
from streamproc.ordering import InOrder
from streamproc.outbox import outbox
from streamproc.sinks.hbase import HBaseSink
from streamproc.tables import rankings_cache, state
from streamproc.topic_names import INPUTS
from streamproc.topics import dlq_topic

log = logging.getLogger(__name__)
sink = HBaseSink(settings)
outbox.before_commit(sink.drain)  # a committed offset always has its HBase rows


#: when this worker last took over its partitions (its start, or a rebalance)
_held_since = time.time()


@app.on_rebalance_complete.connect
async def _rebalanced(sender: Any, **kwargs: Any) -> None:
    """Note when the partitions were taken; rebuild the top-N lists from them."""
    global _held_since
    _held_since = time.time()
    rankings_cache.invalidate()


def held_since() -> float:
    """Return when this worker last took over its partitions (epoch seconds).

    Work restored from the changelogs resumes only then: a parked order's wait for
    its references counts from here at the earliest (see ``agents.orders``).
    """
    return _held_since


#: counters for /api/health (process-local, not part of the exact state)
health: dict[str, Any] = {
    "started": time.time(),
    "batches": 0,
    "records": 0,
    "dead_letters": 0,
    "resyncs": 0,
}


async def commit_batch(
    stream: Any,
    events: Sequence[Any],
    groups: Mapping[int, Sequence[Any]] | None,
    apply: Any,
    *args: Any,
) -> None:
    """Apply a batch's state changes, send its records, and ack it, as one step.

    Runs under :data:`streamproc.outbox.commit_lock`, which faust's commit also takes
    (see :mod:`streamproc.faust_fixes`): a Kafka transaction therefore commits either
    all of a batch's table changes, dead letters and progress marks, or none of them.
    ``groups`` are the records applied (from :func:`by_partition`; ``None``: every
    event's record); every event is acknowledged.  Partitions that showed a gap are sought back
    by the :func:`resync` timer.
    """
    applied = events if groups is None else [e for group in groups.values() for e in group]
    async with outbox.commit_lock():
        apply(*args)
        _mark_progress(applied)
        await outbox.flush(app, events[0].message.topic)
        for event in events:
            await stream.ack(event)


def hold(events: Sequence[Any]) -> Sequence[Any]:
    """Keep a batch's offsets from committing until :func:`commit_batch` acks them.

    faust's ``take_events`` acks every event of a batch in a ``finally`` block, even
    when the agent was cancelled or failed half-way (a rebalance, an HBase error):
    those offsets would then commit with none of the batch's changes.  One extra
    reference per message makes that ack non-final; the final one is ours.
    """
    for event in events:
        event.message.incref()
    return events


def _mark_progress(events: Sequence[Any]) -> None:
    last: dict[tuple[str, int], int] = {}
    for event in events:
        msg = event.message
        key = (msg.topic, msg.partition)
        if msg.offset > last.get(key, -1):
            last[key] = msg.offset
    for (topic, partition), offset in last.items():
        key = f"{topic}|{partition}"
        if offset > state.rows(state.progress).get(key, -1):
            state.put(state.progress, partition, key, offset)


def _last_applied(key: tuple[str, int]) -> int | None:
    return state.rows(state.progress).get(f"{key[0]}|{key[1]}")


#: which records to apply and which partitions to seek back (see :mod:`streamproc.ordering`)
in_order = InOrder(_last_applied)
#: offsets commit up to the last record applied (see faust_fixes._new_offset)
faust_fixes.set_applied_offsets(_last_applied)


#: batch events an agent takes at a time (see :func:`faust_fixes.batch_topics`)
TAKE = 4
faust_fixes.batch_topics(
    {settings.topic(name) for name in INPUTS}, records_per_batch=settings.batch_size // TAKE
)


class Record:
    """One record of a batch event, shaped like a faust event for the agents."""

    __slots__ = ("message",)

    def __init__(self, message: Any) -> None:
        self.message = message


def unbatch(events: Sequence[Any]) -> list[Any]:
    """Return the records of a batch of events: a batch event's records, or the event."""
    records: list[Any] = []
    for event in events:
        value = event.value
        if type(value) is faust_fixes.Batch:
            records.extend(map(Record, value.records))
        else:  # delivered on its own (agent.test_context(), or not a batched topic)
            records.append(event)
    return records


def by_partition(records: Sequence[Any]) -> dict[int, list[Any]]:
    """Return the records of a batch to apply, by input partition, in offset order.

    ``records`` are those of :func:`unbatch`.  Replays are left out, and so are
    records ahead of the next offset a partition needs; :func:`resync` seeks such a
    partition back once it stays quiet (see :class:`streamproc.ordering.InOrder`).
    """
    groups: dict[int, list[Any]] = defaultdict(list)
    for i in in_order.select([record.message for record in records]):
        groups[records[i].message.partition].append(records[i])
    return groups


async def resync() -> None:
    """Seek the partitions that wait for records they will not get back to them."""
    consumer = app.consumer
    assigned = consumer.assignment()  # a partition may have moved since
    in_order.behind(_handed_over(consumer, assigned))
    due = in_order.due()
    if not due:
        return
    tps = [tp for tp in (TP(topic, partition) for topic, partition in due) if tp in assigned]
    if not tps:
        return
    earliest = await consumer.earliest_offsets(*tps)
    seeks = {}
    for tp in tps:
        want = due[(tp.topic, tp.partition)]
        first = earliest.get(tp) or 0
        if first > want:
            log.warning(
                "%s|%s: offsets %s..%s were deleted by retention before being processed",
                tp.topic,
                tp.partition,
                want,
                first - 1,
            )
            in_order.raise_floor([((tp.topic, tp.partition), first)])
            want = first
        log.info("%s|%s: seeking back to offset %s", tp.topic, tp.partition, want)
        health["resyncs"] += 1
        seeks[tp] = want
    # in the consumer's own thread: aiokafka's fetcher is not thread-safe
    await consumer.seek_wait(seeks)


def _handed_over(consumer: Any, assigned: Any) -> dict[tuple[str, int], int]:
    """Return how far the fetcher has handed over each input partition fetched here.

    That is aiokafka's position: the offset of the next record it hands over.
    Records handed over, not in their agent's queue and not applied are lost in
    flight (the tail of a fetch dropped in a rebalance).  Records not handed over
    yet are not lost: the fetcher starts from them; nor are records waiting in the
    queue.  So a partition is waited on only for the records it handed over, and
    only once its agent's queue is empty.  With the log end, a partition that had
    had nothing applied for 2 s (a backlog on eight partitions, one agent, the
    fetched records of them all queued) was sought back again and again: a drain of
    300,000 orders by two workers sought back about 50 times, to the same offsets,
    and fetched those records anew each time.
    """
    inputs = {settings.topic(name) for name in INPUTS}
    idle = getattr(consumer, "_paused_partitions", set()) | getattr(
        consumer, "_buffered_partitions", set()
    )
    handed = {}
    for tp in assigned:
        if tp.topic in inputs and tp not in idle and not faust_fixes.agent_has_queued(app, tp):
            position = faust_fixes.position_now(consumer, tp)
            if position is not None:
                handed[(tp.topic, tp.partition)] = position
    return handed


_settling: Any = None


@app.on_partitions_assigned.connect
async def _start_settling(sender: Any, *args: Any, **kwargs: Any) -> None:
    """From the first assignment on, check the recoveries for changelogs read to their end.

    Not an ``app.timer``: faust starts those only once the first recovery is over,
    and a worker joining a group or restarted needs the check most then.
    """
    global _settling
    if _settling is None:
        _settling = app.add_future(_settle_recoveries())


async def _settle_recoveries() -> None:
    """Every few seconds, count the changelogs read to their end as recovered."""
    while True:
        await asyncio.sleep(faust_fixes.RECOVERY_CHECK_S)
        try:
            await faust_fixes.settle_recovered_changelogs(app)
        except Exception:  # the check must outlive one bad look at faust's state
            log.exception("recovery check failed")


@app.timer(1.0)
async def _resync_quiet_partitions() -> None:
    """Every second, seek back the partitions whose missing records are not coming."""
    await resync()


def dead_letter(event: Any, reasons: Iterable[str]) -> None:
    """Send an event's record to ``orders-dlq`` (see :func:`dead_letter_raw`)."""
    msg = event.message
    dead_letter_raw(msg.topic, msg.partition, msg.offset, msg.key, msg.value, reasons)


def dead_letter_raw(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reasons: Iterable[str],
) -> None:
    """Send a record's original bytes to ``orders-dlq`` with why and where from.

    The value and key are the original bytes; the headers carry ``dlq.reason``
    (comma-separated codes) and the source ``dlq.topic``, ``dlq.partition`` and
    ``dlq.offset``. The record goes to the same partition number as its source, so
    it commits in that partition's transaction; the rejection is counted in the
    ``rejected`` table under ``topic|partition``.
    """
    outbox.add(
        dlq_topic.get_topic_name(),
        partition,
        key,
        value,
        headers=[
            ("dlq.reason", ",".join(reasons).encode()),
            ("dlq.topic", topic.encode()),
            ("dlq.partition", str(partition).encode()),
            ("dlq.offset", str(offset).encode()),
        ],
    )
    count_rejected(topic, partition)
    health["dead_letters"] += 1


def count_rejected(topic: str, partition: int, n: int = 1) -> None:
    """Add ``n`` to the rejected count of an input partition."""
    key = f"{topic}|{partition}"
    state.put(state.rejected, partition, key, (state.rejected.data.get(key) or 0) + n)
