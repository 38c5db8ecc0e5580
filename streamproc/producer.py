"""Kafka ingestion: reference data first, then orders in real time and stock updates in batches.

:func:`produce` sends the customers and products of a :class:`Feed`, waits until
the broker has acknowledged all of them (so that no order arrives before the
customer and product it names), then sends orders at a steady rate and a batch
of stock updates every ``stock_interval`` seconds.  A feed comes either from the
files ``streamproc generate`` wrote (:func:`directory_feed`; jsonl lines are sent
byte for byte, so its garbage lines reach the dead-letter path) or from a
:class:`~streamproc.generator.Shop` drawing orders on the fly
(:func:`live_feed`).

The producer is idempotent with ``acks=all`` (a retried batch is never written
twice), compresses batches with lz4 (zstd, then gzip, when the lz4 library is
missing) and lingers a few milliseconds to fill batches.  Every send registers a
callback and an errback in :class:`Delivery`, so the count of records the broker
never acknowledged is exact.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby, islice
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from kafka import KafkaProducer
from kafka.codec import has_gzip, has_lz4, has_zstd
from kafka.errors import KafkaError

from streamproc import generator, topic_names
from streamproc.models import Order, StockUpdate, encode, format_utc, key_of
from streamproc.settings import Settings

#: a Kafka message as (key, value) bytes; the key may be None for unparseable garbage
Message = tuple[bytes | None, bytes]

#: tuned for throughput on one broker: a few ms of linger fill 256 KiB batches
PRODUCER_CONFIG: dict[str, Any] = {
    "client_id": "streamproc-producer",
    "enable_idempotence": True,
    "acks": "all",
    "linger_ms": 10,
    "batch_size": 256 * 1024,
    "max_in_flight_requests_per_connection": 5,  # the most idempotence allows
    "request_timeout_ms": 30_000,
    "delivery_timeout_ms": 120_000,
    "max_block_ms": 60_000,
}


def compression_codec() -> str:
    """Return the best codec kafka-python can use here: lz4, else zstd, else gzip."""
    for name, available in (("lz4", has_lz4), ("zstd", has_zstd), ("gzip", has_gzip)):
        if available():
            return name
    raise AssertionError("gzip is always available")


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """Return an idempotent, compressing producer for the configured brokers.

    Args:
        settings: Bootstrap servers and security options come from here.
        **overrides: kafka-python options replacing those of :data:`PRODUCER_CONFIG`.

    Raises:
        kafka.errors.KafkaError: No broker answered within ``bootstrap_timeout_ms``.
    """
    config = {
        **PRODUCER_CONFIG,
        "compression_type": compression_codec(),
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        **settings.kafka_client_options(),
        **overrides,
    }
    return KafkaProducer(**config)


@dataclass(frozen=True)
class Topics:
    """The topic each kind of record is sent to."""

    customers: str = topic_names.CUSTOMERS
    products: str = topic_names.PRODUCTS
    orders: str = topic_names.ORDERS
    stock_updates: str = topic_names.STOCK_UPDATES

    @classmethod
    def prefixed(cls, prefix: str) -> Topics:
        """Return the default topics with ``prefix`` before each name (tests, side runs)."""
        return cls(
            prefix + topic_names.CUSTOMERS,
            prefix + topic_names.PRODUCTS,
            prefix + topic_names.ORDERS,
            prefix + topic_names.STOCK_UPDATES,
        )


@dataclass
class Delivery:
    """What was sent and what the broker acknowledged, counted by the send callbacks.

    ``acked`` and ``failed`` are written by kafka-python's I/O thread, everything
    else by the sending thread; each counter has one writer.
    """

    sent: Counter[str] = field(default_factory=Counter)
    acked: int = 0
    failed: int = 0
    stock_batches: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    last_error: BaseException | None = None
    interrupted: bool = False

    @property
    def total_sent(self) -> int:
        """Records handed to the producer."""
        return sum(self.sent.values())

    @property
    def unacknowledged(self) -> int:
        """Records the broker has not acknowledged (failed, or never answered)."""
        return self.total_sent - self.acked

    def on_ack(self, _metadata: object) -> None:
        """Count one acknowledged record (a future callback)."""
        self.acked += 1

    def on_error(self, exc: BaseException) -> None:
        """Count one record that kafka-python gave up on (a future errback)."""
        self.failed += 1
        self.errors[type(exc).__name__] += 1
        self.last_error = exc


@dataclass
class Feed:
    """What to send: reference data, then an order stream and stock-update batches.

    Attributes:
        customers: Customer messages, sent first.
        products: Product messages, sent second.
        orders: Order messages; may be endless.
        stock_batches: Batches of stock-update messages; may be endless.
    """

    customers: Iterable[Message]
    products: Iterable[Message]
    orders: Iterator[Message]
    stock_batches: Iterator[list[Message]]


# --- feeds from files ---------------------------------------------------------------

_ID_FIELD = {
    "customers": "customer_id",
    "products": "product_id",
    "stock-updates": "product_id",
    "orders": "customer_id",
}
_ID_PATTERN = {
    name: re.compile(rb'"' + id_field.encode() + rb'":(-?\d+)')
    for name, id_field in _ID_FIELD.items()
}
_SCHEMAS = {
    "customers": generator.CUSTOMER_SCHEMA,
    "products": generator.PRODUCT_SCHEMA,
    "stock-updates": generator.STOCK_UPDATE_SCHEMA,
    "orders": generator.ORDER_SCHEMA,
}
_BATCH_ROWS = 65_536


def _jsonl_messages(path: Path, kind: str) -> Iterator[Message]:
    """Yield each line of a jsonl file as it is, keyed by the id found in it (if any)."""
    pattern = _ID_PATTERN[kind]
    with path.open("rb") as lines:
        for line in lines:
            value = line.rstrip(b"\n")
            if not value:
                continue
            found = pattern.search(value)
            yield (found.group(1) if found else None), value


def _table_batches(path: Path, kind: str, fmt: str) -> Iterator[pa.Table]:
    if fmt == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS):
            yield pa.Table.from_batches([batch])
        return
    options = pacsv.ConvertOptions(
        column_types=_SCHEMAS[kind], strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    reader = pacsv.open_csv(path, convert_options=options)
    for batch in reader:
        yield pa.Table.from_batches([batch])


def _table_messages(path: Path, kind: str, fmt: str) -> Iterator[Message]:
    """Yield the rows of a Parquet or CSV file as JSON messages keyed by their id."""
    for table in _table_batches(path, kind, fmt):
        if not table.num_rows:
            continue
        values = pc.cast(generator.json_lines(table, newline=False), pa.binary()).to_pylist()
        ids = table.column(_ID_FIELD[kind])
        keys = pc.cast(pc.cast(ids, pa.string()), pa.binary()).to_pylist()
        yield from zip(keys, values, strict=True)


def _file_messages(path: Path, kind: str, fmt: str) -> Iterator[Message]:
    if fmt == "jsonl":
        return _jsonl_messages(path, kind)
    return _table_messages(path, kind, fmt)


def _hour_of(value: bytes) -> str:
    """Return the ``updated_at`` hour of a stock-update message, ``""`` if unreadable."""
    try:
        return str(orjson.loads(value).get("updated_at"))[:13]
    except (orjson.JSONDecodeError, AttributeError):
        return ""


def directory_feed(directory: str | Path) -> Feed:
    """Return a feed replaying what ``streamproc generate --out DIRECTORY`` wrote.

    Orders are sent in date order; stock updates in their recount batches (the
    rows of one hour).  jsonl lines are sent byte for byte, garbage included.

    Raises:
        FileNotFoundError: The directory holds no ``customers`` file.
    """
    root = Path(directory)
    manifest = root / "manifest.json"
    if manifest.exists():
        fmt = orjson.loads(manifest.read_bytes())["arguments"]["format"]
    else:
        found = [f for f in generator.FORMATS if (root / f"customers.{f}").exists()]
        if not found:
            raise FileNotFoundError(f"{root} holds no customers.jsonl, .csv or .parquet")
        fmt = found[0]

    def orders() -> Iterator[Message]:
        for part in sorted((root / "orders").glob(f"date=*/part-*.{fmt}")):
            yield from _file_messages(part, "orders", fmt)

    def stock_batches() -> Iterator[list[Message]]:
        path = root / f"stock-updates.{fmt}"
        if not path.exists():
            return
        messages = _file_messages(path, "stock-updates", fmt)
        for _, batch in groupby(messages, key=lambda message: _hour_of(message[1])):
            yield list(batch)

    return Feed(
        customers=_file_messages(root / f"customers.{fmt}", "customers", fmt),
        products=_file_messages(root / f"products.{fmt}", "products", fmt),
        orders=orders(),
        stock_batches=stock_batches(),
    )


# --- feeds drawn on the fly ---------------------------------------------------------


class _WallClockText:
    """The current UTC second as wire text, formatted once per second."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._second = -1
        self._text = ""

    def __call__(self) -> str:
        moment = self._now()
        second = int(moment.timestamp())
        if second != self._second:
            self._second, self._text = second, format_utc(moment)
        return self._text


def _utc_now() -> datetime:
    return datetime.now(UTC)


def live_feed(
    seed: int,
    customers: int,
    products: int,
    *,
    first_order_id: int | None = None,
    now: Callable[[], datetime] = _utc_now,
) -> Feed:
    """Return an endless feed drawn from a :class:`~streamproc.generator.Shop`.

    Orders are drawn like the generator's (popularity, repeat buyers, quantities,
    payment by age) and stamped with the time they are sent; each stock batch
    re-counts ~2% of the products, stamped likewise.

    Args:
        seed: The shop's seed; the reference data equal ``generate --seed``'s.
        customers: How many customers.
        products: How many products.
        first_order_id: The first order id; default: the current Unix time in
            microseconds, so that a new run never repeats an earlier run's ids
            (the stream processor drops repeated ids as duplicates).
        now: The clock stamping orders and stock updates.
    """
    shop = generator.Shop(seed, customers, products)
    stamp = _WallClockText(now)
    if first_order_id is None:
        first_order_id = int(now().timestamp() * 1_000_000)

    def reference(table: pa.Table, id_field: str) -> Iterator[Message]:
        values = pc.cast(generator.json_lines(table, newline=False), pa.binary()).to_pylist()
        keys = [str(i).encode() for i in table.column(id_field).to_pylist()]
        return iter(zip(keys, values, strict=True))

    def orders() -> Iterator[Message]:
        rng = generator.rng_for(seed, "live", 1)
        order_id = first_order_id
        while True:
            drawn = shop.sample_orders(rng, 4096)
            columns = (
                drawn[name].tolist()
                for name in (
                    "customer_id",
                    "product_id",
                    "quantity",
                    "total_amount",
                    "payment_method",
                )
            )
            for customer, product, quantity, amount, method in zip(*columns, strict=True):
                order = Order(order_id, customer, product, quantity, amount, stamp(), method)
                yield key_of(order), encode(order)
                order_id += 1

    def stock_batches() -> Iterator[list[Message]]:
        rng = generator.rng_for(seed, "live", 2)
        per_batch = max(1, round(products * generator.STOCK_BATCH_SHARE))
        while True:
            ids, levels = shop.sample_stock_levels(rng, per_batch)
            when = stamp()
            yield [
                (str(i).encode(), encode(StockUpdate(i, level, when)))
                for i, level in zip(ids.tolist(), levels.tolist(), strict=True)
            ]

    return Feed(
        customers=reference(shop.customers, "customer_id"),
        products=reference(shop.products, "product_id"),
        orders=orders(),
        stock_batches=stock_batches(),
    )


# --- sending ------------------------------------------------------------------------

_BLOCK = 1_000  # orders sent between two looks at the clock when running flat out


def produce(
    producer: KafkaProducer,
    feed: Feed,
    topics: Topics = Topics(),  # noqa: B008 - frozen, so one shared default is safe
    *,
    rate: float = 0.0,
    duration: float | None = None,
    max_orders: int | None = None,
    stock_interval: float = 10.0,
    flush_timeout: float = 120.0,
    progress: Callable[[Delivery, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send ``feed``: reference data (flushed), then orders and stock-update batches.

    Stops when ``duration`` seconds have passed, ``max_orders`` orders were sent,
    the orders run out, the producer gives up, or on Ctrl-C; then flushes.

    Args:
        producer: From :func:`make_producer`.
        feed: What to send.
        topics: Where to send each kind.
        rate: Orders per second; 0 sends as fast as possible.
        duration: Seconds to send orders for; None: no limit.
        max_orders: Orders to send; None: no limit.
        stock_interval: Seconds between stock-update batches (the first goes out
            with the first orders); 0 sends none.
        flush_timeout: Seconds to wait for outstanding acknowledgements at the end.
        progress: Called about once a second with the delivery and elapsed seconds.
        clock: Monotonic seconds (injectable for tests).
        sleep: Sleeps while ahead of ``rate`` (injectable for tests).

    Returns:
        The counts; ``unacknowledged`` is what the broker never confirmed.
    """
    if rate < 0:
        raise ValueError(f"rate must be 0 or more orders per second, got {rate}")
    delivery = Delivery()

    def send(topic: str, key: bytes | None, value: bytes) -> None:
        future = producer.send(topic, value=value, key=key)
        delivery.sent[topic] += 1
        future.add_callback(delivery.on_ack).add_errback(delivery.on_error)

    try:
        for key, value in feed.customers:
            send(topics.customers, key, value)
        for key, value in feed.products:
            send(topics.products, key, value)
        producer.flush(timeout=flush_timeout)
        if delivery.unacknowledged:
            return delivery  # orders would name customers and products that are missing
        _send_live(
            feed,
            topics,
            send,
            delivery,
            rate=rate,
            duration=duration,
            max_orders=max_orders,
            stock_interval=stock_interval,
            progress=progress,
            clock=clock,
            sleep=sleep,
        )
    except KafkaError as exc:  # a send blocked past max_block_ms: the broker is gone
        delivery.last_error = exc
    except KeyboardInterrupt:
        delivery.interrupted = True
    finally:
        try:
            producer.flush(timeout=flush_timeout)
        except KafkaError as exc:
            delivery.last_error = delivery.last_error or exc
    return delivery


def _send_live(
    feed: Feed,
    topics: Topics,
    send: Callable[[str, bytes | None, bytes], None],
    delivery: Delivery,
    *,
    rate: float,
    duration: float | None,
    max_orders: int | None,
    stock_interval: float,
    progress: Callable[[Delivery, float], None] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    start = clock()
    end = start + duration if duration is not None else math.inf
    next_stock = start if stock_interval > 0 else math.inf
    next_report = start + 1.0
    orders = 0
    limit = max_orders if max_orders is not None else math.inf
    while True:
        now = clock()
        if now >= end or orders >= limit:
            return
        if now >= next_stock:
            batch = next(feed.stock_batches, None)
            if batch is not None:
                for key, value in batch:
                    send(topics.stock_updates, key, value)
                delivery.stock_batches += 1
            next_stock += stock_interval
            if next_stock <= now:  # after a stall, restart the beat from now: no burst
                next_stock = now + stock_interval
        if progress is not None and now >= next_report:
            progress(delivery, now - start)
            next_report = now + 1.0
        if rate > 0:
            due = min(int((now - start) * rate), limit) - orders
            if due <= 0:
                wake = min(start + (orders + 1) / rate, next_stock, end, next_report)
                sleep(max(0.0, wake - now))
                continue
            budget = min(due, _BLOCK)
        else:
            budget = int(min(_BLOCK, limit - orders))
        sent = 0
        for key, value in islice(feed.orders, budget):
            send(topics.orders, key, value)
            sent += 1
        orders += sent
        if sent < budget:
            return  # the orders ran out


def summary(delivery: Delivery) -> str:
    """Return one line with what was sent and acknowledged."""
    kinds = ", ".join(f"{topic} {count:,}" for topic, count in delivery.sent.items()) or "nothing"
    return (
        f"sent {delivery.total_sent:,} records ({kinds}; {delivery.stock_batches} stock batches), "
        f"{delivery.acked:,} acknowledged"
    )
