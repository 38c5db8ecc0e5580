"""The Faust tables of the stream processor.

Every table is written with an explicit changelog partition (see :func:`put`): the
partition of the input record that caused the write, so each partition's state
commits in the same Kafka transaction as that partition's offsets.  The changelog
records go through :mod:`streamproc.outbox`, JSON-encoded as faust's json codec
reads them back on recovery.  Keys that many
partitions update (a category, a product's sales) carry the partition number, so no
key is ever written from two partitions.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

import faust
import orjson

from streamproc.app import app
from streamproc.outbox import outbox
from streamproc.topic_names import CHANGELOG_CONFIG

_OPTS = {
    "schema": faust.Schema(key_serializer="json", value_serializer="json"),
    "extra_topic_configs": CHANGELOG_CONFIG,
}


def _table(name: str, help_: str, **kw: Any):  # noqa: ANN202 - faust.TableT
    return app.Table(name, default=None, help=help_, **{**_OPTS, **kw})


#: customer_id -> [name, age, gender, location] (for enrichment; co-partitioned with orders)
customers = _table("customers", "customer by id")
#: product_id -> [name, category, price, stock at last update, units sold at that update]
products = app.GlobalTable(
    "products", default=None, help="product by id (on every worker)", **_OPTS
)
#: partition -> [revenue, orders, quantity, rejected orders]
totals = _table("totals", "totals per input partition")
#: "p|dimension|key" -> [revenue, orders, quantity]
sales = _table("sales", "sales by dimension per partition")
#: customer_id -> [revenue, orders]
customer_revenue = _table("customer-revenue", "revenue per customer")
#: "p|product_id" -> [quantity, revenue]
product_sales = _table("product-sales", "sales per product per partition")
#: order_id -> ``orders`` offset of the record counted (duplicates are counted once)
orders_seen = _table("orders-seen", "order ids already counted")
#: order_id -> [raw order, source partition, source offset, parked at (epoch s), reasons]
parked = _table("parked-orders", "orders waiting for their customer or product")
#: "topic|partition" -> offset of the last input record applied (replays are skipped)
progress = _table("progress", "last applied offset per input partition")
#: "topic|partition" -> rejected records of that input partition
rejected = _table("rejected", "rejected records per input topic and partition")


def put(table: Any, partition: int, key: Any, value: Any) -> None:
    """Set ``table[key] = value`` and queue it for changelog ``partition``."""
    write(table, partition, key, value)
    outbox.add(_changelog(table), partition, encode(key), encode(value))


def put_many(table: Any, partition: int, items: Iterable[tuple[Any, Any]]) -> None:
    """:func:`put` each ``(key, value)`` of ``items`` into one table and partition.

    The store, the owner map and the changelog are looked up once, not once per key:
    a batch puts about three rows per order, mostly into ``orders-seen``.
    """
    data, owners = _memory(table)
    if data is None:  # the RocksDB store: one key at a time
        for key, value in items:
            put(table, partition, key, value)
        return
    queue = outbox.rows(_changelog(table), partition)
    for key, value in items:
        data[key] = value
        if owners is not None:
            owners[key] = partition
        queue.append((encode(key), encode(value), None))


def write(table: Any, partition: int, key: Any, value: Any) -> None:
    """Set ``table[key] = value`` in this worker's store only, as of changelog ``partition``.

    The memory store gets the key's partition as it records it for the keys it
    recovers, so that after a rebalance the keys of partitions that moved to another
    worker are dropped here (faust's ``on_recovery_completed``).  The RocksDB store
    keeps a database per partition and takes the partition from the event being
    processed, which a batch applied after its events have none of: the write goes
    to the partition's database directly.
    """
    data, owners = _memory(table)
    if data is not None:
        data[key] = value
        if owners is not None:
            owners[key] = partition
    else:  # faust's RocksDB store
        store = table.data
        raw = store._encode_key(key)
        store._key_index[raw] = partition
        store._db_for_partition(partition).put(raw, store._encode_value(value))


def _memory(table: Any) -> tuple[dict | None, dict | None]:
    """Return faust's memory store's dict and its key -> partition map for ``table``.

    ``(None, None)`` for the RocksDB store; no map for the global ``products`` table,
    kept whole on every worker.
    """
    store = table.data
    data = getattr(store, "data", None)
    if not isinstance(data, dict):
        return None, None
    owners = getattr(store, "_key_partition", None)
    return data, (None if table is products else owners)


def rows(table: Any) -> MutableMapping:
    """Return a table's rows for reading: the memory store's own dict, or the store.

    Reads from the dict skip faust's ``Mapping`` layers (``get`` through
    ``__getitem__`` and ``KeyError``), which cost a third of the tables' CPU.
    Writes go through :func:`put` (or :func:`write`), which know the partition.
    """
    store = table.data
    data = getattr(store, "data", None)
    return data if isinstance(data, dict) else store


def encode(value: Any) -> bytes:
    """Return ``value`` as JSON, as faust's json codec reads it back.

    The copy is deliberate.  orjson builds its output in a 1 KiB buffer and shrinks
    it to size, and glibc then keeps each kept-alive result apart from every other:
    an ``orjson.dumps`` whose result waits in the outbox for the batch's flush took
    2.2 µs, its copy (the buffer is freed at once and reused) 0.3 µs, and the decimal
    string of an int 0.1 µs.  A batch queues some 9 changelog keys and values per order.
    """
    if type(value) is int:
        return str(value).encode()
    return bytes(memoryview(orjson.dumps(value)))


_changelogs: dict[str, str] = {}


def _changelog(table: Any) -> str:
    name = _changelogs.get(table.name)
    if name is None:
        name = _changelogs[table.name] = table.changelog_topic.get_topic_name()
    return name


def delete(table: Any, partition: int, key: Any) -> None:
    """Delete ``table[key]`` and queue the tombstone for changelog ``partition``."""
    forget(table, key)
    outbox.add(_changelog(table), partition, encode(key), None)


def forget(table: Any, key: Any) -> None:
    """Delete ``table[key]`` (if there) from this worker's store only."""
    table.data.pop(key, None)
    getattr(table.data, "_key_partition", {}).pop(key, None)
