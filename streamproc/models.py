"""The wire records of the pipeline: what travels through Kafka and lands in HBase.

Every Kafka value is one JSON object (UTF-8, written with orjson) whose fields are
exactly those of one record below, in that order; every Kafka key is the record's
id as decimal text in UTF-8 (:func:`key_of`).  Customers are keyed by
``customer_id``, products and stock updates by ``product_id``, and orders by their
``customer_id`` too: an order then lands in the partition that holds its customer
(the stream processor enriches it there, and keeps the customer's revenue there),
and every resent copy of an order lands in the same partition, where it is dropped.

Conventions:

* **Money is integer minor units (cents)**: ``Product.price`` and
  ``Order.total_amount`` are ``int`` cents (``1999`` is 19.99).  No floats anywhere.
* **Timestamps** are ISO-8601 text in UTC with a ``Z`` suffix and whole seconds,
  e.g. ``"2025-03-04T12:34:56Z"`` (:func:`format_utc`); the first 13 characters
  are the hour window (see :mod:`streamproc.tables.dimensions`).
* **Gender** is one letter: ``"M"`` male, ``"F"`` female, ``"O"`` other
  (:data:`GENDERS`).
* **Payment method** is a small int: 1 credit card, 2 debit card, 3 digital
  wallet, 4 cash on delivery, 5 bank transfer (:data:`PAYMENT_METHODS`).

The ``decode_*`` functions trust their input: they are for bytes this project
wrote itself (tests, replays).  Untrusted bytes from a topic go through
:func:`streamproc.validation.decode`, which checks everything and never raises.
The stream processor subscribes with raw value bytes and calls that decoder, which
is several times faster than a ``faust.Record`` round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

# --- codes ------------------------------------------------------------------------

MALE = "M"
FEMALE = "F"
OTHER = "O"
#: gender code -> name
GENDERS: dict[str, str] = {MALE: "male", FEMALE: "female", OTHER: "other"}

CREDIT_CARD = 1
DEBIT_CARD = 2
DIGITAL_WALLET = 3
CASH_ON_DELIVERY = 4
BANK_TRANSFER = 5
#: payment method code -> name
PAYMENT_METHODS: dict[int, str] = {
    CREDIT_CARD: "credit_card",
    DEBIT_CARD: "debit_card",
    DIGITAL_WALLET: "digital_wallet",
    CASH_ON_DELIVERY: "cash_on_delivery",
    BANK_TRANSFER: "bank_transfer",
}

# --- records ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Customer:
    """A shop customer.

    Attributes:
        customer_id: Positive id, also the Kafka key.
        name: Full name, e.g. ``"Ada K. Lovelace"``.
        email: Address, unique per customer.
        phone: International number, e.g. ``"+44 7700 900123"``.
        age: Years, 18 to 120.
        gender: ``"M"``, ``"F"`` or ``"O"``.
        location: ``"City, Country"``.
    """

    customer_id: int
    name: str
    email: str
    phone: str
    age: int
    gender: str
    location: str


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue product.

    Attributes:
        product_id: Positive id, also the Kafka key.
        product_name: ``"<Adjective> <Noun>"``, unique.
        category: One of the shop's categories, e.g. ``"Electronics"``.
        price: Unit price in **cents**.
        stock_quantity: Units in stock (0 or more).
    """

    product_id: int
    product_name: str
    category: str
    price: int
    stock_quantity: int


@dataclass(frozen=True, slots=True)
class Order:
    """One order line: a customer buys ``quantity`` units of one product.

    Attributes:
        order_id: Positive id, unique, ascending with time; also the Kafka key.
        customer_id: The buyer.
        product_id: The product bought.
        quantity: Units, 1 or more.
        total_amount: ``price * quantity`` in **cents**.
        transaction_date: When, ISO-8601 UTC (``"2025-03-04T12:34:56Z"``).
        payment_method: 1 to 5, see :data:`PAYMENT_METHODS`.
    """

    order_id: int
    customer_id: int
    product_id: int
    quantity: int
    total_amount: int
    transaction_date: str
    payment_method: int


@dataclass(frozen=True, slots=True)
class StockUpdate:
    """A new stock level of one product, from the warehouse.

    Attributes:
        product_id: The product; also the Kafka key.
        stock_quantity: The new absolute level (not a delta), 0 or more.
        updated_at: When it was counted, ISO-8601 UTC.
    """

    product_id: int
    stock_quantity: int
    updated_at: str


Record = Customer | Product | Order | StockUpdate

#: field names of each record, in wire order
CUSTOMER_FIELDS: tuple[str, ...] = tuple(Customer.__dataclass_fields__)
PRODUCT_FIELDS: tuple[str, ...] = tuple(Product.__dataclass_fields__)
ORDER_FIELDS: tuple[str, ...] = tuple(Order.__dataclass_fields__)
STOCK_UPDATE_FIELDS: tuple[str, ...] = tuple(StockUpdate.__dataclass_fields__)

# --- building records -------------------------------------------------------------


def customer_from_dict(d: Mapping[str, Any]) -> Customer:
    """Build a :class:`Customer` from a mapping with its fields (not checked)."""
    return Customer(
        d["customer_id"], d["name"], d["email"], d["phone"], d["age"], d["gender"], d["location"]
    )


def product_from_dict(d: Mapping[str, Any]) -> Product:
    """Build a :class:`Product` from a mapping with its fields (not checked)."""
    return Product(
        d["product_id"], d["product_name"], d["category"], d["price"], d["stock_quantity"]
    )


def order_from_dict(d: Mapping[str, Any]) -> Order:
    """Build an :class:`Order` from a mapping with its fields (not checked)."""
    return Order(
        d["order_id"],
        d["customer_id"],
        d["product_id"],
        d["quantity"],
        d["total_amount"],
        d["transaction_date"],
        d["payment_method"],
    )


def stock_update_from_dict(d: Mapping[str, Any]) -> StockUpdate:
    """Build a :class:`StockUpdate` from a mapping with its fields (not checked)."""
    return StockUpdate(d["product_id"], d["stock_quantity"], d["updated_at"])


def decode_customer(raw: bytes) -> Customer:
    """Decode trusted JSON bytes into a :class:`Customer`.

    Raises:
        orjson.JSONDecodeError: The bytes are not JSON.
        KeyError: A field is missing.
    """
    return customer_from_dict(orjson.loads(raw))


def decode_product(raw: bytes) -> Product:
    """Decode trusted JSON bytes into a :class:`Product` (raises like :func:`decode_customer`)."""
    return product_from_dict(orjson.loads(raw))


def decode_order(raw: bytes) -> Order:
    """Decode trusted JSON bytes into an :class:`Order` (raises like :func:`decode_customer`)."""
    return order_from_dict(orjson.loads(raw))


def decode_stock_update(raw: bytes) -> StockUpdate:
    """Decode trusted JSON bytes into a :class:`StockUpdate` (raises like ``decode_customer``)."""
    return stock_update_from_dict(orjson.loads(raw))


# --- encoding ---------------------------------------------------------------------


def encode(record: Record) -> bytes:
    """Return the Kafka value of ``record``: compact JSON, fields in declaration order."""
    return orjson.dumps(record)


def key_of(record: Record) -> bytes:
    """Return the Kafka key of ``record``: its id as decimal UTF-8 text.

    Customers are keyed by ``customer_id``, products and stock updates by
    ``product_id``, orders by their ``customer_id`` (co-partitioned with customers).
    """
    if type(record) is Order:
        return str(record.customer_id).encode()
    if type(record) is Customer:
        return str(record.customer_id).encode()
    if type(record) is Product or type(record) is StockUpdate:
        return str(record.product_id).encode()
    raise TypeError(f"not a wire record: {type(record).__name__}")


def format_utc(moment: datetime) -> str:
    """Return ``moment`` as wire text, ``YYYY-MM-DDTHH:MM:SSZ`` (whole seconds).

    Raises:
        ValueError: ``moment`` is naive; only timezone-aware datetimes are accepted.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware UTC datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """Return the timezone-aware UTC datetime of wire text such as ``2025-03-04T12:34:56Z``.

    Raises:
        ValueError: The text is not ISO-8601 or carries no UTC offset.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"no timezone in {text!r}")
    return moment.astimezone(UTC)
