"""The batch cleaning rules as pure functions over one record at a time.

The stream side's validator (:func:`streamproc.validation.decode`) decides what is
wrong with a record, so both sides name a defect with the same reason code.  The
batch then repairs what can be repaired without guessing and rejects the rest:

* customers: a missing gender becomes ``O``; a missing or invalid age becomes the
  median age of the valid customers (filled in by the job, which knows it); an
  invalid email is kept and flagged (no figure depends on it); anything else --
  e.g. an empty location or a missing name -- rejects the customer;
* products: nothing is repaired: a negative price or stock rejects the product
  (never ``abs()``: the sign error may hide any other error);
* orders: a missing or negative ``total_amount`` is recomputed as price x quantity
  from the product join; anything else --
  a negative quantity, a missing payment method, malformed bytes -- rejects it.

With ``strict`` the functions apply the stream's rules alone (no repair, no flag),
so a batch over the raw files can be reconciled with the stream exactly.  Each
function returns plain JSON-ready values, so the jobs only route them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from streamproc import topic_names
from streamproc.tables.dimensions import age_band
from streamproc.tables.sales import Sale
from streamproc.validation import decode, validate_customer, validate_order

#: the gender given to a customer who has none
DEFAULT_GENDER = "O"
#: customer defects that are kept with a flag instead of a repair
CUSTOMER_FLAGS = frozenset({"invalid_email"})
#: order defects that the product join repairs (unless strict)
AMOUNT_DEFECTS = frozenset({"negative_amount", "missing_field:total_amount"})
_AGE_DEFECTS = frozenset({"invalid_age", "missing_field:age"})
_RAW_CHARS = 2_000


def raw_text(raw: bytes) -> str:
    """Return a rejected record's bytes as text for the rejects file (cut, never raising)."""
    return raw[:_RAW_CHARS].decode("utf-8", errors="replace")


def reject(kind: str, reasons: list[str], raw: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """Return the rejects-file entry of a record of ``kind`` with its ``reasons``."""
    if isinstance(raw, bytes):
        raw = raw_text(raw)
    elif not isinstance(raw, str):
        raw = orjson.dumps(raw).decode()
    return {"kind": kind, "reasons": reasons, "raw": raw}


def _object(raw: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return obj if type(obj) is dict else None


def check_customer(raw: bytes, strict: bool = False) -> tuple[dict[str, Any] | None, list[str]]:
    """Validate and repair one customer line.

    Args:
        raw: The customer's JSON bytes.
        strict: Apply the stream's rules only: repair and flag nothing.

    Returns:
        ``(customer, [])`` with two extra fields -- ``repairs`` (the codes repaired,
        ``age`` is ``None`` when the median must fill it) and ``flags`` (defects kept)
        -- or ``(None, reasons)`` when it cannot be repaired.
    """
    record, reasons = decode(topic_names.CUSTOMERS, raw)
    if record is not None:
        customer = orjson.loads(raw)
        return {**customer, "repairs": [], "flags": []}, []
    obj = None if strict else _object(raw)
    if obj is None:
        return None, reasons
    patched = dict(obj)
    repairs, flags = [], []
    if not patched.get("gender"):  # absent, null or empty
        patched["gender"] = DEFAULT_GENDER
        repairs.append("missing_gender")
    age = patched.get("age", None)
    if _AGE_DEFECTS.intersection(reasons) or (type(age) is int and not 18 <= age <= 120):
        patched["age"] = 18  # a valid stand-in while the other rules are checked
        repairs.append("invalid_age" if age is not None else "missing_field:age")
    left = validate_customer(patched)
    flags = [code for code in left if code in CUSTOMER_FLAGS]
    left = [code for code in left if code not in CUSTOMER_FLAGS]
    if left:
        return None, left
    if "invalid_age" in repairs or "missing_field:age" in repairs:
        patched["age"] = None
    return {**patched, "repairs": repairs, "flags": flags}, []


def fill_age(customer: dict[str, Any], median: int) -> dict[str, Any]:
    """Return ``customer`` with a missing age set to ``median``."""
    if customer["age"] is None:
        return {**customer, "age": median}
    return customer


def median_age(histogram: Mapping[Any, int]) -> int | None:
    """Return the lower median of ages given as ``{age: count}``; ``None`` when empty.

    The lower median is an age someone really has (no ``.5``); keys may be text
    (JSON object keys) or ints.
    """
    counts = sorted((int(age), n) for age, n in histogram.items() if n > 0)
    total = sum(n for _, n in counts)
    if not total:
        return None
    rank, seen = (total + 1) // 2, 0
    for age, n in counts:
        seen += n
        if seen >= rank:
            return age
    raise AssertionError("unreachable")


def check_product(raw: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """Validate one product line: ``(product, [])`` or ``(None, reasons)``; never repairs."""
    record, reasons = decode(topic_names.PRODUCTS, raw)
    if record is None:
        return None, reasons
    return orjson.loads(raw), []


def check_order(raw: bytes, strict: bool = False) -> tuple[dict[str, Any] | None, list[str]]:
    """Validate one order line.

    Args:
        raw: The order's JSON bytes.
        strict: Apply the stream's rules only: repair nothing.

    Returns:
        ``(order, [])`` with an extra ``repairs`` list -- when the amount must be
        recomputed from the product, ``total_amount`` is ``None`` -- or
        ``(None, reasons)``.
    """
    record, reasons = decode(topic_names.ORDERS, raw)
    if record is not None:
        return {**orjson.loads(raw), "repairs": []}, []
    if strict or not set(reasons) <= AMOUNT_DEFECTS:
        return None, reasons
    obj = _object(raw)
    if obj is None:
        return None, reasons
    # the shape rules hide the value rules: check the rest with a stand-in amount
    left = validate_order({**obj, "total_amount": 0})
    if left:
        return None, left
    return {**obj, "total_amount": None, "repairs": sorted(reasons)}, []


def price_order(order: dict[str, Any], product: Mapping[str, Any]) -> dict[str, Any]:
    """Return the order with its product's category and price, the amount recomputed if due."""
    amount = order["total_amount"]
    if amount is None:
        amount = product["price"] * order["quantity"]
    return {
        **order,
        "total_amount": amount,
        "product_name": product["product_name"],
        "category": product["category"],
        "price": product["price"],
    }


def enrich_order(order: dict[str, Any], customer: Mapping[str, Any]) -> dict[str, Any]:
    """Return the priced order joined with its customer: gender, age, band, location, month."""
    return {
        **order,
        "gender": customer["gender"],
        "age": customer["age"],
        "age_band": age_band(customer["age"]),
        "location": customer["location"],
        "month": order["transaction_date"][:7],
    }


def sale_keys(order: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Return the ``(dimension, key)`` pairs an enriched order counts under.

    The stream's :meth:`streamproc.tables.sales.Sale.dimension_keys` names them, so
    both sides bucket alike; ``customer_id`` and ``product_id`` are added for the
    rankings.
    """
    sale = Sale(
        order_id=order["order_id"],
        customer_id=order["customer_id"],
        product_id=order["product_id"],
        quantity=order["quantity"],
        amount=order["total_amount"],
        transaction_date=order["transaction_date"],
        payment_method=order["payment_method"],
        category=order["category"],
        gender=order["gender"],
        age_band=order["age_band"],
        location=order["location"],
    )
    return (
        ("total", "all"),
        *sale.dimension_keys(),
        ("customer_id", str(sale.customer_id)),
        ("product_id", str(sale.product_id)),
    )
