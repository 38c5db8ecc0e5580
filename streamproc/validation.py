"""Every rule a wire record must pass, in one place, as pure functions.

:func:`decode` turns the raw bytes of a Kafka value into a record of
:mod:`streamproc.models`, or into ``None`` and the reasons it was rejected; it
never raises, whatever the bytes.  The ``validate_*`` functions check one JSON
object (a mapping) of each kind and return the list of reasons, empty when valid;
:func:`validate_record` does the same for a record object.

Reason codes are short, stable and machine-readable; rejected orders carry them to
``orders-dlq``.  Once a message is a JSON object, every shape problem is reported;
the value rules are checked only when the shape is right.

Message codes (the bytes are not a JSON object of a known size):

* ``empty_message`` -- no bytes at all (or a tombstone)
* ``oversized:message`` -- more than :data:`MAX_MESSAGE_BYTES` (64 KiB)
* ``non_utf8`` -- the bytes are not UTF-8
* ``truncated_json`` -- the JSON ends before it is complete
* ``invalid_json`` -- any other JSON syntax error
* ``not_object`` -- JSON, but not an object

Shape codes (``<f>`` is the field name, unknown names cut to 64 characters):

* ``unknown_field:<f>`` -- a field the record does not have
* ``missing_field:<f>`` -- a field absent or null (except the three below)
* ``wrong_type:<f>`` -- not an int where an int belongs (``"3"``, ``3.5`` and
  ``true`` are all wrong), not a string where a string belongs
* ``oversized:<f>`` -- a string longer than :data:`MAX_TEXT_CHARS` (256) or an
  int outside the signed 64-bit range

Value codes:

* customers: ``invalid_customer_id`` (not positive), ``missing_name`` (absent,
  null or blank), ``invalid_email``, ``invalid_phone``, ``invalid_age`` (outside
  18-120, e.g. the ``-1`` of an unknown age), ``missing_gender`` (absent, null or
  empty), ``invalid_gender`` (not ``M``/``F``/``O``), ``empty_location``,
  ``invalid_location`` (not ``"City, Country"``)
* products: ``invalid_product_id``, ``missing_product_name``,
  ``missing_category``, ``negative_price``, ``negative_stock``
* orders: ``invalid_order_id``, ``invalid_customer_id``, ``invalid_product_id``,
  ``negative_quantity``, ``zero_quantity``, ``negative_amount``,
  ``missing_payment_method`` (absent or null), ``invalid_payment_method`` (not
  1-5), and the date codes of ``transaction_date``
* stock updates: ``invalid_product_id``, ``negative_stock``, and the date codes
  of ``updated_at``
* date codes: ``invalid_date`` (not ``YYYY-MM-DDTHH:MM:SS`` ISO-8601),
  ``not_utc`` (no offset, or one other than UTC), ``future_date`` (more than one
  day after now), ``past_date`` (before 2000-01-01)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from streamproc import topic_names
from streamproc.models import (
    CUSTOMER_FIELDS,
    GENDERS,
    ORDER_FIELDS,
    PAYMENT_METHODS,
    PRODUCT_FIELDS,
    STOCK_UPDATE_FIELDS,
    Customer,
    Order,
    Product,
    Record,
    StockUpdate,
    customer_from_dict,
    format_utc,
    order_from_dict,
    product_from_dict,
    stock_update_from_dict,
)

MAX_MESSAGE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 256
MIN_AGE, MAX_AGE = 18, 120
#: the earliest acceptable timestamp, 2000-01-01T00:00:00Z
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: how far in the future a timestamp may lie (clock skew between hosts), seconds
FUTURE_SLACK_SECONDS = 86_400

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_EARLIEST_TS = EARLIEST.timestamp()
_EARLIEST_TEXT = "2000-01-01T00:00:00Z"
_MAX_NAME_IN_REASON = 64
_ABSENT = object()
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,31}")

Reasons = list[str]
JsonObject = Mapping[str, Any]

# --- shape --------------------------------------------------------------------------


def _schema(fields: tuple[str, ...], strings: set[str]) -> tuple[tuple[str, type], ...]:
    return tuple((name, str if name in strings else int) for name in fields)


_CUSTOMER_SCHEMA = _schema(CUSTOMER_FIELDS, {"name", "email", "phone", "gender", "location"})
_PRODUCT_SCHEMA = _schema(PRODUCT_FIELDS, {"product_name", "category"})
_ORDER_SCHEMA = _schema(ORDER_FIELDS, {"transaction_date"})
_STOCK_UPDATE_SCHEMA = _schema(STOCK_UPDATE_FIELDS, {"updated_at"})

# fields whose absence has a code of its own, reported by the value rules
_CUSTOMER_OWN_MISSING = frozenset({"name", "gender"})
_ORDER_OWN_MISSING = frozenset({"payment_method"})
_NONE: frozenset[str] = frozenset()


def _shape(
    obj: JsonObject,
    schema: tuple[tuple[str, type], ...],
    names: frozenset[str],
    own_missing: frozenset[str],
) -> Reasons:
    """Return the shape reasons of ``obj``: unknown, missing, wrongly typed, oversized."""
    reasons: Reasons = []
    if obj.keys() != names:
        reasons.extend(
            f"unknown_field:{key[:_MAX_NAME_IN_REASON]}" for key in obj if key not in names
        )
    get = obj.get
    for name, kind in schema:
        value = get(name, _ABSENT)
        if type(value) is kind:  # exact: bool is not an int here
            if kind is str:
                if len(value) > MAX_TEXT_CHARS:
                    reasons.append(f"oversized:{name}")
            elif value > _INT_MAX or value < _INT_MIN:
                reasons.append(f"oversized:{name}")
        elif value is None or value is _ABSENT:
            if name not in own_missing:
                reasons.append(f"missing_field:{name}")
        else:
            reasons.append(f"wrong_type:{name}")
    return reasons


_CUSTOMER_NAMES = frozenset(CUSTOMER_FIELDS)
_PRODUCT_NAMES = frozenset(PRODUCT_FIELDS)
_ORDER_NAMES = frozenset(ORDER_FIELDS)
_STOCK_UPDATE_NAMES = frozenset(STOCK_UPDATE_FIELDS)

# --- values -------------------------------------------------------------------------


def _now_ts(now: datetime | None) -> float:
    return time.time() if now is None else now.timestamp()


def date_problem(text: str, now_ts: float) -> str | None:
    """Return the date code of wire timestamp ``text``, or ``None`` when it is fine.

    Args:
        text: The timestamp, e.g. ``"2025-03-04T12:34:56Z"``.
        now_ts: The current time as Unix seconds; ``text`` may lie at most
            :data:`FUTURE_SLACK_SECONDS` after it.

    Returns:
        ``invalid_date``, ``not_utc``, ``future_date``, ``past_date`` or ``None``.
    """
    if len(text) == 20 and text[19] == "Z" and text[10] == "T":
        # the canonical form: sorts like time, so the bounds compare as text
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return "invalid_date"
        if text < _EARLIEST_TEXT:
            return "past_date"
        if text > _latest_text(int(now_ts)):
            return "future_date"
        return None
    # other ISO-8601 forms; the prefix check keeps hour_key() (text[:13]) meaningful
    if len(text) < 19 or text[4] != "-" or text[7] != "-" or text[10] != "T":
        return "invalid_date"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return "invalid_date"
    offset = moment.utcoffset()
    if offset is None or offset:
        return "not_utc"
    try:
        ts = moment.timestamp()
    except (OverflowError, ValueError):
        return "invalid_date"
    if ts < _EARLIEST_TS:
        return "past_date"
    if ts > now_ts + FUTURE_SLACK_SECONDS:
        return "future_date"
    return None


@lru_cache(maxsize=4)
def _latest_text(now_second: int) -> str:
    """Return the latest acceptable canonical timestamp for ``now_second``, as text."""
    return format_utc(datetime.fromtimestamp(now_second + FUTURE_SLACK_SECONDS, UTC))


def _location_problem(location: str) -> str | None:
    if not location.strip():
        return "empty_location"
    city, sep, country = location.rpartition(", ")
    if not sep or not city.strip() or not country.strip():
        return "invalid_location"
    return None


def validate_customer(obj: JsonObject, now: datetime | None = None) -> Reasons:
    """Return the reasons to reject customer object ``obj``; empty when it is valid.

    Args:
        obj: The decoded JSON object.
        now: Unused (customers carry no timestamp); accepted for a uniform signature.
    """
    reasons = _shape(obj, _CUSTOMER_SCHEMA, _CUSTOMER_NAMES, _CUSTOMER_OWN_MISSING)
    if reasons:
        return reasons
    if obj["customer_id"] <= 0:
        reasons.append("invalid_customer_id")
    name = obj.get("name")
    if name is None or not name.strip():
        reasons.append("missing_name")
    if _EMAIL.fullmatch(obj["email"]) is None:
        reasons.append("invalid_email")
    if _PHONE.fullmatch(obj["phone"]) is None:
        reasons.append("invalid_phone")
    if not MIN_AGE <= obj["age"] <= MAX_AGE:
        reasons.append("invalid_age")
    gender = obj.get("gender")
    if not gender:
        reasons.append("missing_gender")
    elif gender not in GENDERS:
        reasons.append("invalid_gender")
    problem = _location_problem(obj["location"])
    if problem:
        reasons.append(problem)
    return reasons


def validate_product(obj: JsonObject, now: datetime | None = None) -> Reasons:
    """Return the reasons to reject product object ``obj``; empty when it is valid.

    Args:
        obj: The decoded JSON object.
        now: Unused (products carry no timestamp); accepted for a uniform signature.
    """
    reasons = _shape(obj, _PRODUCT_SCHEMA, _PRODUCT_NAMES, _NONE)
    if reasons:
        return reasons
    if obj["product_id"] <= 0:
        reasons.append("invalid_product_id")
    if not obj["product_name"].strip():
        reasons.append("missing_product_name")
    if not obj["category"].strip():
        reasons.append("missing_category")
    if obj["price"] < 0:
        reasons.append("negative_price")
    if obj["stock_quantity"] < 0:
        reasons.append("negative_stock")
    return reasons


def validate_order(obj: JsonObject, now: datetime | None = None) -> Reasons:
    """Return the reasons to reject order object ``obj``; empty when it is valid.

    Args:
        obj: The decoded JSON object.
        now: The current time (default: the clock); ``transaction_date`` may lie at
            most one day after it.
    """
    reasons = _shape(obj, _ORDER_SCHEMA, _ORDER_NAMES, _ORDER_OWN_MISSING)
    if reasons:
        return reasons
    if obj["order_id"] <= 0:
        reasons.append("invalid_order_id")
    if obj["customer_id"] <= 0:
        reasons.append("invalid_customer_id")
    if obj["product_id"] <= 0:
        reasons.append("invalid_product_id")
    quantity = obj["quantity"]
    if quantity < 0:
        reasons.append("negative_quantity")
    elif quantity == 0:
        reasons.append("zero_quantity")
    if obj["total_amount"] < 0:
        reasons.append("negative_amount")
    method = obj.get("payment_method")
    if method is None:
        reasons.append("missing_payment_method")
    elif method not in PAYMENT_METHODS:
        reasons.append("invalid_payment_method")
    problem = date_problem(obj["transaction_date"], _now_ts(now))
    if problem:
        reasons.append(problem)
    return reasons


def validate_stock_update(obj: JsonObject, now: datetime | None = None) -> Reasons:
    """Return the reasons to reject stock-update object ``obj``; empty when it is valid.

    Args:
        obj: The decoded JSON object.
        now: The current time (default: the clock); ``updated_at`` may lie at most
            one day after it.
    """
    reasons = _shape(obj, _STOCK_UPDATE_SCHEMA, _STOCK_UPDATE_NAMES, _NONE)
    if reasons:
        return reasons
    if obj["product_id"] <= 0:
        reasons.append("invalid_product_id")
    if obj["stock_quantity"] < 0:
        reasons.append("negative_stock")
    problem = date_problem(obj["updated_at"], _now_ts(now))
    if problem:
        reasons.append(problem)
    return reasons


Validator = Callable[[JsonObject, datetime | None], Reasons]

#: topic -> (validator of its JSON objects, builder of its records)
RULES: dict[str, tuple[Validator, Callable[[JsonObject], Record]]] = {
    topic_names.CUSTOMERS: (validate_customer, customer_from_dict),
    topic_names.PRODUCTS: (validate_product, product_from_dict),
    topic_names.ORDERS: (validate_order, order_from_dict),
    topic_names.STOCK_UPDATES: (validate_stock_update, stock_update_from_dict),
}

_TOPIC_OF_TYPE: dict[type, str] = {
    Customer: topic_names.CUSTOMERS,
    Product: topic_names.PRODUCTS,
    Order: topic_names.ORDERS,
    StockUpdate: topic_names.STOCK_UPDATES,
}


def validate(topic: str, obj: JsonObject, now: datetime | None = None) -> Reasons:
    """Return the reasons to reject ``obj``, a JSON object meant for ``topic``.

    Raises:
        ValueError: ``topic`` carries none of the four record kinds.
    """
    return _rules(topic)[0](obj, now)


def validate_record(record: Record, now: datetime | None = None) -> Reasons:
    """Return the reasons to reject a record object (its fields checked like JSON)."""
    topic = _TOPIC_OF_TYPE[type(record)]
    obj = {name: getattr(record, name) for name in type(record).__dataclass_fields__}
    return _rules(topic)[0](obj, now)


def _rules(topic: str) -> tuple[Validator, Callable[[JsonObject], Record]]:
    try:
        return RULES[topic]
    except KeyError:
        raise ValueError(
            f"no record kind for topic {topic!r}; expected one of {list(RULES)}"
        ) from None


# --- bytes --------------------------------------------------------------------------


def _json_problem(raw: bytes | bytearray | memoryview, exc: orjson.JSONDecodeError) -> str:
    try:
        bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return "non_utf8"
    if str(exc).startswith("unexpected end of data"):
        return "truncated_json"
    return "invalid_json"


def decode(
    topic: str, raw: bytes | bytearray | memoryview | None, now: datetime | None = None
) -> tuple[Record | None, Reasons]:
    """Decode and validate the Kafka value ``raw`` of ``topic``; never raises on any bytes.

    Args:
        topic: One of ``customers``, ``products``, ``orders``, ``stock-updates``.
        raw: The value bytes, ``None`` for a tombstone.
        now: The current time for the date rules (default: the clock).

    Returns:
        ``(record, [])`` when valid, else ``(None, reasons)`` with at least one code.

    Raises:
        ValueError: ``topic`` is not one of the four (a programming error, not data).
    """
    validator, build = _rules(topic)
    if not raw:
        return None, ["empty_message"]
    if len(raw) > MAX_MESSAGE_BYTES:
        return None, ["oversized:message"]
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, [_json_problem(raw, exc)]
    if type(obj) is not dict:
        return None, ["not_object"]
    reasons = validator(obj, now)
    if reasons:
        return None, reasons
    return build(obj), reasons
