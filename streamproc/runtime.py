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
        await outbox.flush(app, events[0].message.topic)
        for event in events:
            await stream.ack(event)


def by_partition(events: Sequence[Any]) -> dict[int, list[Any]]:
    """Group a batch of events by input partition, keeping offset order."""
    groups: dict[int, list[Any]] = defaultdict(list)
    for event in events:
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
