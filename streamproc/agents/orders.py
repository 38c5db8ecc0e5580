"""Orders → validate → enrich → every sales table → the HBase ``orders`` row.

An order whose customer or product is not known yet is parked in the
``parked-orders`` table and retried every half second (woken by a tick on an
internal topic, so the retry runs in the order's own partition); it is counted once
its references arrive, or sent to the dead-letter topic after ``ECOM_PARK_TIMEOUT``
seconds of waiting on this worker.  The wait restarts when a worker takes the
partition over (a restart, a rebalance): the references it waits for may be in a
transaction that the crash aborted, and are applied again only after that.

Each batch is handled in two steps: first decode, enrich and hand the HBase rows to
the sink's writer thread, then change the tables and send dead letters with no await
in between, up to the acknowledgement.  So a Kafka transaction never holds table
changes of records whose offsets it does not commit; and since every offset commit
first waits for the rows handed over so far, a committed offset always has its HBase
row.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from streamproc import topic_names
from streamproc.app import app, settings
from streamproc.outbox import outbox
from streamproc.runtime import (
    TAKE,
    by_partition,
    commit_batch,
    dead_letter,
    dead_letter_raw,
    health,
    held_since,
    hold,
    sink,
    unbatch,
)
from streamproc.sinks.hbase import row_key
from streamproc.tables import rankings_cache, state
from streamproc.tables.sales import Sale, add_into, current_stock, enrich, fold
from streamproc.topics import low_stock_topic, orders_topic, parked_ticks_topic
from streamproc.validation import decode

DUPLICATE = "duplicate_order_id"


def order_row(o: Any) -> dict[bytes, bytes]:
    """Return the ``info`` columns of an order (``b"%d" %`` is twice ``str().encode()``'s speed)."""
    return {
        b"info:order_id": b"%d" % o.order_id,
        b"info:customer_id": b"%d" % o.customer_id,
        b"info:product_id": b"%d" % o.product_id,
        b"info:quantity": b"%d" % o.quantity,
        b"info:total_amount": b"%d" % o.total_amount,
        b"info:transaction_date": o.transaction_date.encode(),
        b"info:payment_method": b"%d" % o.payment_method,
    }


def _missing(order: Any) -> tuple[list | None, list | None, list[str]]:
    customer = state.rows(state.customers).get(order.customer_id)
    product = state.rows(state.products).get(order.product_id)
    missing = []
    if customer is None:
        missing.append("unknown_customer")
    if product is None:
        missing.append("unknown_product")
    return customer, product, missing


@app.agent(orders_topic)
async def orders_agent(stream):  # noqa: ANN001, ANN201 - a Faust agent
    """Count every valid order once into the tables; dead-letter or park the rest."""
    async for events in stream.take_events(TAKE, within=0.05):
        hold(events)
        plan: list[tuple] = []
        records = unbatch(events)
        groups = by_partition(records)
        for partition, group in groups.items():
            for event in group:
                order, reasons = decode(topic_names.ORDERS, event.message.value)
                if reasons:
                    plan.append(("dead", partition, event, reasons))
                    continue
                customer, product, missing = _missing(order)
                if missing:
                    plan.append(("park", partition, event, order, missing))
                    continue
                sink.add("orders", row_key(order.order_id), order_row(order))
                plan.append(("sale", partition, event, order, enrich(order, customer, product)))
        await sink.write_behind()
        await commit_batch(stream, events, groups, _apply, plan)
        health["records"] += len(records)
        health["batches"] += 1


def _apply(plan: list[tuple]) -> None:
    """Change the tables for a planned batch (synchronous: no await inside)."""
    sales: dict[int, list[Sale]] = defaultdict(list)
    seen_now: set[int] = set()
    origin: dict[int, int] = {}
    seen = state.rows(state.orders_seen)
    parked = state.rows(state.parked)
    for step in plan:
        kind, partition, event = step[0], step[1], step[2]
        if kind == "dead":
            dead_letter(event, step[3])
            continue
        order, msg = step[3], event.message
        first = seen.get(order.order_id)
        if first is None and order.order_id in parked:
            first = parked[order.order_id][2]
        if first == msg.offset:
            continue  # this very record, counted (or parked) before a restart: a replay
        if order.order_id in seen_now or first is not None:
            dead_letter(event, [DUPLICATE])
            continue
        seen_now.add(order.order_id)
        if kind == "park":
            entry = [msg.value.decode(), partition, msg.offset, time.time(), step[4]]
            state.put(state.parked, partition, order.order_id, entry)
        else:
            sales[partition].append(step[4])
            origin[order.order_id] = msg.offset
    for partition, batch in sales.items():
        apply_sales(partition, batch, origin)


def apply_sales(partition: int, batch: list[Sale], origin: dict[int, int]) -> None:
    """Add a partition's sales to every table (synchronous).

    ``origin`` maps each order id to the ``orders`` offset of the record counted; it
    is kept in ``orders-seen`` so that a replay of that record is told apart from a
    resent duplicate.
    """
    delta = fold(batch)
    put_many = state.put_many
    total = state.rows(state.totals).get(partition) or [0, 0, 0]
    state.put(state.totals, partition, partition, add_into(total, delta.totals))
    sales = state.rows(state.sales)
    cells = delta.dimensions.items()
    keyed = [(f"{partition}|{dimension}|{key}", cell) for (dimension, key), cell in cells]
    put_many(state.sales, partition, [(k, add_into(sales.get(k), c)) for k, c in keyed])
    revenue = state.rows(state.customer_revenue)
    customers = delta.customers.items()
    put_many(
        state.customer_revenue,
        partition,
        [(c, add_into(revenue.get(c), cell)) for c, cell in customers],
    )
    product_sales = state.rows(state.product_sales)
    keyed = [(f"{partition}|{product_id}", cell) for product_id, cell in delta.products.items()]
    put_many(
        state.product_sales, partition, [(k, add_into(product_sales.get(k), c)) for k, c in keyed]
    )
    put_many(state.orders_seen, partition, [(s.order_id, origin[s.order_id]) for s in batch])
    rankings_cache.note_updates(delta.customers.keys(), delta.products)
    _check_stock(partition, delta.products.keys())


_low_reported: set[int] = set()


def _check_stock(partition: int, product_ids: Any) -> None:
    threshold = settings.low_stock_threshold
    products = state.rows(state.products)
    for product_id in product_ids:
        product = products.get(product_id)
        if product is None:
            continue
        stock = current_stock(product, rankings_cache.units_sold(product_id))
        if stock < threshold and product_id not in _low_reported:
            _low_reported.add(product_id)
            outbox.add(
                low_stock_topic.get_topic_name(),
                partition,
                str(product_id).encode(),
                orjson.dumps(
                    {
                        "product_id": product_id,
                        "product_name": product[0],
                        "stock": stock,
                        "threshold": threshold,
                    }
                ),
            )
        elif stock >= threshold:
            _low_reported.discard(product_id)


_ticker: AIOKafkaProducer | None = None


@app.timer(0.5)
async def tick_parked() -> None:
    """Every half second, wake the partitions that hold parked orders.

    The tick goes through a plain (non-transactional) producer so that it is visible
    at once; the agent that reads it retries the partition's parked orders inside
    that partition's stream, so the changes commit in its Kafka transaction.
    """
    global _ticker
    partitions = {entry[1] for entry in state.parked.data.values()}
    if not partitions:
        return
    if _ticker is None:
        _ticker = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_client_options()
        )
        await _ticker.start()
    for partition in sorted(partitions):
        await _ticker.send(parked_ticks_topic.get_topic_name(), b"", partition=partition)


@app.agent(parked_ticks_topic)
async def parked_agent(stream):  # noqa: ANN001, ANN201 - a Faust agent
    """Count parked orders whose references arrived; dead-letter the expired ones."""
    async for events in stream.take_events(100, within=0.1):
        hold(events)
        resolved, expired = await _retry_parked({event.message.partition for event in events})
        await commit_batch(stream, events, None, _apply_retries, resolved, expired)


async def _retry_parked(partitions: set[int]) -> tuple[list, list]:
    """Find the parked orders of ``partitions`` to count or expire; write their rows."""
    now, held = time.time(), held_since()
    resolved, expired = [], []
    for order_id, (raw, partition, offset, parked_at, _) in list(state.parked.data.items()):
        if partition not in partitions:
            continue
        order, _reasons = decode(topic_names.ORDERS, raw.encode())
        customer, product, missing = _missing(order)
        if not missing:
            sink.add("orders", row_key(order_id), order_row(order))
            resolved.append((partition, order_id, offset, enrich(order, customer, product)))
        elif now - max(parked_at, held) > settings.park_timeout:
            expired.append((partition, order_id, offset, raw, missing))
    await sink.write_behind()
    return resolved, expired


def _apply_retries(resolved: list, expired: list) -> None:
    """Count the resolved parked orders and dead-letter the expired ones."""
    sales: dict[int, list[Sale]] = defaultdict(list)
    origin: dict[int, int] = {}
    for partition, order_id, offset, sale in resolved:
        if order_id in state.parked.data:  # not resolved meanwhile
            state.delete(state.parked, partition, order_id)
            sales[partition].append(sale)
            origin[order_id] = offset
    for partition, batch in sales.items():
        apply_sales(partition, batch, origin)
    for partition, order_id, offset, raw, missing in expired:
        if order_id in state.parked.data:
            state.delete(state.parked, partition, order_id)
            order = orjson.loads(raw)
            dead_letter_raw(
                settings.topic(topic_names.ORDERS),
                partition,
                offset,
                str(order["customer_id"]).encode(),
                raw.encode(),
                missing,
            )
