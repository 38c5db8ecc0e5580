"""The agents through faust's ``agent.test_context()``: no broker, no HBase.

What a batch would send to Kafka (changelog records, dead letters) and the HBase rows
are captured instead; the tables are the worker's own (memory store).
"""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from streamproc import runtime
from streamproc.agents.customers import customers_agent
from streamproc.agents.orders import _retry_parked, order_row, orders_agent
from streamproc.agents.products import products_agent
from streamproc.app import app, settings
from streamproc.models import Order
from streamproc.outbox import outbox
from streamproc.runtime import sink
from streamproc.tables import state
from streamproc.topic_names import changelog_topics
from streamproc.topics import dlq_topic

TABLES = (
    state.customers,
    state.products,
    state.totals,
    state.sales,
    state.customer_revenue,
    state.product_sales,
    state.orders_seen,
    state.parked,
    state.progress,
    state.rejected,
)


def test_init_creates_the_changelog_of_every_table_the_worker_has():
    """`streamproc init` creates the changelogs by name (faust's metadata may lag)."""
    worker = {table.changelog_topic.get_topic_name() for table in app.tables.values()}
    assert worker == set(changelog_topics(settings.app_id))
    assert {table.changelog_topic.get_topic_name() for table in TABLES} == worker


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch):
    """Capture what the agents send and write; start and end with empty tables."""
    sent: list[tuple] = []
    rows: list[tuple] = []

    async def flush(app, source_topic: str) -> int:  # noqa: ANN001
        records = outbox.take()
        sent.extend(records)
        return len(records)

    async def write_behind() -> None:
        return None

    monkeypatch.setattr(outbox, "flush", flush)
    monkeypatch.setattr(sink, "add", lambda table, row, data: rows.append((table, data)))
    monkeypatch.setattr(sink, "write_behind", write_behind)
    for table in TABLES:
        table.data.clear()
    yield sent, rows
    for table in TABLES:
        table.data.clear()


async def _until(check, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the agent did not apply the records in time")
        await asyncio.sleep(0.02)


def agent_topic(agent) -> str:  # noqa: ANN001
    """Return the topic name a test context's messages carry."""
    return agent._get_strtopic(agent.original_channel)


CUSTOMER = {
    "customer_id": 7,
    "name": "Zoë O'Brien",
    "email": "zoe@example.com",
    "phone": "+44 7700 900123",
    "age": 29,
    "gender": "F",
    "location": "Leeds, United Kingdom",
}
PRODUCT = {
    "product_id": 3,
    "product_name": "Teapot",
    "category": "Kitchen",
    "price": 2_500,
    "stock_quantity": 40,
}


def _order(order_id: int, quantity: int = 2) -> bytes:
    return orjson.dumps(
        {
            "order_id": order_id,
            "customer_id": 7,
            "product_id": 3,
            "quantity": quantity,
            "total_amount": 2_500 * quantity,
            "transaction_date": "2025-03-04T05:06:07Z",
            "payment_method": 2,
        }
    )


async def _put_product() -> None:
    async with products_agent.test_context() as agent:
        await agent.put(orjson.dumps(PRODUCT), key=b"3", partition=0)
        await _until(lambda: 3 in state.products.data)


def test_an_orders_hbase_row_holds_each_field_as_its_text() -> None:
    order = Order(12, 7, 3, 2, 123_456_789_012, "2025-03-04T12:34:56Z", 5)
    fields = ["order_id", "customer_id", "product_id", "quantity", "total_amount"]
    fields += ["transaction_date", "payment_method"]
    expected = {f"info:{f}".encode(): str(getattr(order, f)).encode() for f in fields}
    assert order_row(order) == expected


def test_orders_are_counted_once_and_bad_ones_dead_lettered(captured) -> None:
    sent, rows = captured

    async def run() -> None:
        async with customers_agent.test_context() as agent:
            await agent.put(orjson.dumps(CUSTOMER), key=b"7", partition=0)
            await _until(lambda: 7 in state.customers.data)
        await _put_product()
        async with orders_agent.test_context() as agent:
            for value in (_order(1), b'{"order_id": 2, "custo', _order(1), _order(3, 1)):
                await agent.put(value, key=b"7", partition=0)
            await _until(lambda: state.progress.data.get(f"{agent_topic(agent)}|0") == 3)

    asyncio.run(run())
    assert state.totals.data[0][:3] == [7_500, 2, 3]  # revenue, orders, quantity
    assert state.customer_revenue.data[7] == [7_500, 2]
    assert state.sales.data["0|month|2025-03"] == [7_500, 2, 3]
    assert state.sales.data["0|age_band|25-34"] == [7_500, 2, 3]
    order_rows = [data for table, data in rows if table == "orders"]
    assert [r[b"info:order_id"] for r in order_rows] == [b"1", b"1", b"3"]  # idempotent puts
    dead = [r for r in sent if r[0] == dlq_topic.get_topic_name()]
    reasons = [dict(r[4])["dlq.reason"] for r in dead]
    assert reasons == [b"truncated_json", b"duplicate_order_id"]
    assert [dict(r[4])["dlq.offset"] for r in dead] == [b"1", b"2"]


def test_an_order_before_its_customer_is_parked_not_dropped(captured) -> None:
    sent, _rows = captured

    async def run() -> None:
        await _put_product()
        async with orders_agent.test_context() as agent:
            await agent.put(_order(5), key=b"7", partition=0)
            await _until(lambda: 5 in state.parked.data)

    asyncio.run(run())
    assert state.parked.data[5][4] == ["unknown_customer"]
    assert not state.totals.data  # not counted yet
    assert not [r for r in sent if r[0] == dlq_topic.get_topic_name()]  # nor dead-lettered


def test_a_parked_order_waits_anew_after_its_partition_is_taken_over(captured, monkeypatch) -> None:
    """A restart restores parked orders with the time they were parked; the wait for
    their references counts from the restart, not from then (the references may have
    been in a transaction the crash aborted)."""
    now = time.time()
    state.parked.data[5] = [_order(5).decode(), 0, 9, now - 3_600, ["unknown_customer"]]
    monkeypatch.setattr(runtime, "_held_since", now - 1)  # restarted a second ago
    _resolved, expired = asyncio.run(_retry_parked({0}))
    assert expired == []

    monkeypatch.setattr(runtime, "_held_since", now - 3_600)  # held all along
    _resolved, expired = asyncio.run(_retry_parked({0}))
    assert [(partition, order_id, offset) for partition, order_id, offset, *_ in expired] == [
        (0, 5, 9)
    ]
