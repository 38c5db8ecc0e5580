"""What the agents share at run time: the HBase sink, dead letters, batching, health."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from streamproc.app import app, settings
from streamproc.outbox import outbox
from streamproc.sinks.hbase import HBaseSink
from streamproc.tables import state
from streamproc.topics import dlq_topic

sink = HBaseSink(settings)

#: counters for /api/health (process-local, not part of the exact state)
health: dict[str, Any] = {"started": time.time(), "batches": 0, "records": 0, "dead_letters": 0}


async def commit_batch(stream: Any, events: Sequence[Any], apply: Any, *args: Any) -> None:
    """Apply a batch's state changes, send its records, and ack it, as one step.

    Runs under :data:`streamproc.outbox.commit_lock`, which faust's commit also takes
    (see :mod:`streamproc.faust_fixes`): a Kafka transaction therefore commits either
    all of a batch's table changes, dead letters and offsets, or none of them.
    """
    async with outbox.commit_lock():
        apply(*args)
        _mark_progress(events)
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


def applied(event: Any) -> bool:
    """Tell whether a batch that held this record was already applied (a replay).

    The ``progress`` table records, in the same transaction as a batch's changes,
    the last offset it applied per input partition; a record at or below it is a
    replay after a crash and must change nothing.
    """
    msg = event.message
    last = state.progress.data.get(f"{msg.topic}|{msg.partition}")
    return last is not None and msg.offset <= last


def _mark_progress(events: Sequence[Any]) -> None:
    last: dict[tuple[str, int], int] = {}
    for event in events:
        msg = event.message
        key = (msg.topic, msg.partition)
        if msg.offset > last.get(key, -1):
            last[key] = msg.offset
    for (topic, partition), offset in last.items():
        state.put(state.progress, partition, f"{topic}|{partition}", offset)


def by_partition(events: Sequence[Any]) -> dict[int, list[Any]]:
    """Group a batch's new events by input partition, in offset order; skip replays."""
    groups: dict[int, list[Any]] = defaultdict(list)
    for event in events:
        if not applied(event):
            groups[event.message.partition].append(event)
    return groups


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
