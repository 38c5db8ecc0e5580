"""Every worker's copy of the whole product table, kept up to date from its changelog.

Products are partitioned like every input (by product id), but an order needs its
product whichever worker holds it.  Faust's ``GlobalTable`` restores all of the
``products`` changelog at each rebalance, and between rebalances is meant to follow
the other workers' partitions as standbys; with two workers that follow-up sometimes
never starts (faust-streaming 0.15.3 logs "Aiokafka has not sent fetch request for
…-products-changelog since start"), and orders for the other worker's products then
wait in the parked table until they expire.  This task follows the committed
changelog itself: a plain ``read_committed`` consumer of every partition, applying
the records of the partitions this worker does not own (its own it writes itself).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streamproc.app import app, settings
from streamproc.tables import state
from streamproc.topics import products_topic

log = logging.getLogger(__name__)

#: records applied from other workers' partitions (shown in /api/health)
followed = {"records": 0}


def _owned() -> set[int]:
    """Return the ``products`` input partitions this worker holds."""
    topic = products_topic.get_topic_name()
    try:
        return {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}
    except Exception:  # noqa: BLE001 - no assignment yet
        return set()


def apply(records: dict, owned: set[int], table: Any = state.products) -> int:
    """Apply the changelog records of the partitions not in ``owned`` to ``table``.

    ``records`` maps a partition to its ``(key, value)`` pairs, in offset order; a
    ``None`` value deletes.  Returns how many were applied.
    """
    applied = 0
    for partition, pairs in records.items():
        if partition in owned:
            continue
        for key, value in pairs:
            product_id = orjson.loads(key)
            if value is None:
                state.forget(table, product_id)
            else:
                state.write(table, partition, product_id, orjson.loads(value))
            applied += 1
    return applied


@app.task
async def follow_products() -> None:
    """Apply the other workers' product changes as soon as they commit."""
    topic = state.products.changelog_topic.get_topic_name()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **settings.kafka_client_options(),
    )
    # after faust's first restore: by then faust has created the changelog with its
    # settings (compacted); a consumer asking for it first would have the broker
    # auto-create it without them
    await app.tables.recovery.completed.wait()
    await consumer.start()
    try:
        # every changelog has ECOM_TOPIC_PARTITIONS partitions (see streamproc.topics)
        tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            fetched = await consumer.getmany(timeout_ms=500, max_records=20_000)
            if fetched:
                records = {
                    tp.partition: [(m.key, m.value) for m in msgs] for tp, msgs in fetched.items()
                }
                followed["records"] += apply(records, _owned())
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("following the products changelog stopped")
        raise
    finally:
        await consumer.stop()
