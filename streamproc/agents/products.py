"""Products and batched stock updates → the product table and HBase ``products`` rows."""

from __future__ import annotations

import asyncio
import time

from faust.types import TP

from streamproc import topic_names
from streamproc.app import app, settings
from streamproc.runtime import (
    TAKE,
    by_partition,
    commit_batch,
    dead_letter,
    health,
    hold,
    in_order,
    sink,
    unbatch,
)
from streamproc.sinks.hbase import row_key
from streamproc.tables import rankings_cache, state
from streamproc.tables.sales import P_SOLD_AT_UPDATE, P_STOCK
from streamproc.topics import products_topic, stock_updates_topic
from streamproc.validation import decode


def product_row(p: object) -> dict[bytes, bytes]:
    """Return the ``details`` and ``inventory`` columns of a product."""
    return {
        b"details:product_id": str(p.product_id).encode(),
        b"details:product_name": p.product_name.encode(),
        b"details:category": p.category.encode(),
        b"inventory:price": str(p.price).encode(),
        b"inventory:stock_quantity": str(p.stock_quantity).encode(),
    }


def _products_behind(partitions: set[int]) -> set[int]:
    """Return the ``products`` partitions holding records not applied yet."""
    topic = products_topic.get_topic_name()
    behind = set()
    for partition in partitions:
        end = app.consumer.highwater(TP(topic, partition))
        if end is None or end > in_order.next_offset((topic, partition)):
            behind.add(partition)
    return behind


async def _await_products(decoded: dict) -> None:
    """Let the products partitions catch up before a stock update of an unknown product.

    A product and its stock updates share a partition number, so they are read by
    the same worker, but from two topics with no order between them: a stock update
    can come before its product.  It waits (at most ``ECOM_PARK_TIMEOUT``) until the
    products partition has applied every record it held; a product still unknown
    then never came, and the stock update goes to the dead-letter topic.

    Args:
        decoded: Partition -> the batch's ``(event, record, reasons)`` of it.
    """
    waiting = {
        partition
        for partition, group in decoded.items()
        if any(
            not reasons and record.product_id not in state.products.data
            for _event, record, reasons in group
        )
    }
    deadline = time.monotonic() + settings.park_timeout
    while waiting and time.monotonic() < deadline:
        waiting = _products_behind(waiting)
        if waiting:
            await asyncio.sleep(0.05)


async def _consume(stream, topic: str) -> None:  # noqa: ANN001
    async for events in stream.take_events(TAKE, within=0.2):
        hold(events)
        accepted = []
        records = unbatch(events)
        groups = by_partition(records)
        decoded = {
            partition: [(event, *decode(topic, event.message.value)) for event in group]
            for partition, group in groups.items()
        }
        if topic == topic_names.STOCK_UPDATES:
            await _await_products(decoded)
        for partition, group in decoded.items():
            for event, record, reasons in group:
                if reasons:
                    accepted.append((partition, event, None, reasons))
                    continue
                if topic == topic_names.PRODUCTS:
                    sink.add("products", row_key(record.product_id), product_row(record))
                elif record.product_id not in state.products.data:
                    accepted.append((partition, event, None, ["unknown_product"]))
                    continue
                else:
                    sink.add(
                        "products",
                        row_key(record.product_id),
                        {b"inventory:stock_quantity": str(record.stock_quantity).encode()},
                    )
                accepted.append((partition, event, record, None))
        await sink.write_behind()
        await commit_batch(stream, events, groups, _apply, topic, accepted)
        health["records"] += len(records)
        health["batches"] += 1


def _apply(topic: str, accepted: list[tuple]) -> None:
    """Change the product table for a batch whose rows are in HBase."""
    for partition, event, record, reasons in accepted:
        if record is None:
            dead_letter(event, reasons)
            continue
        sold = rankings_cache.units_sold(record.product_id)
        if topic == topic_names.PRODUCTS:
            value = [
                record.product_name,
                record.category,
                record.price,
                record.stock_quantity,
                sold,
            ]
        else:
            value = list(state.products.data[record.product_id])
            value[P_STOCK], value[P_SOLD_AT_UPDATE] = record.stock_quantity, sold
        state.put(state.products, partition, record.product_id, value)


@app.agent(products_topic)
async def products_agent(stream):  # noqa: ANN001, ANN201 - a Faust agent
    """Validate products, keep them on every worker, and write their HBase rows."""
    await _consume(stream, topic_names.PRODUCTS)


@app.agent(stock_updates_topic)
async def stock_updates_agent(stream):  # noqa: ANN001, ANN201 - a Faust agent
    """Apply batched stock figures to the product table and ``inventory:stock_quantity``."""
    await _consume(stream, topic_names.STOCK_UPDATES)
