"""Sales aggregation: enrich an order, then fold a batch of sales into table deltas.

All amounts are integers (minor units, cents) end to end, so sums never drift.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass, field

from streamproc.tables.dimensions import DIMENSIONS, age_band, day_key, hour_key, month_key

# Positions in a stored customer value and product value.
C_NAME, C_AGE, C_GENDER, C_LOCATION = range(4)
P_NAME, P_CATEGORY, P_PRICE, P_STOCK, P_SOLD_AT_UPDATE = range(5)


@dataclass(slots=True)
class Sale:
    """A valid order enriched with its customer and product.

    Not frozen: a frozen dataclass sets each field through ``object.__setattr__``,
    and building the eleven fields took 1.4 µs where this takes 0.25, once per order.
    Nothing changes a sale after :func:`enrich` made it.
    """

    order_id: int
    customer_id: int
    product_id: int
    quantity: int
    amount: int
    transaction_date: str
    payment_method: int
    category: str
    gender: str
    age_band: str
    location: str

    def dimension_keys(self) -> tuple[tuple[str, str], ...]:
        """Return the ``(dimension, key)`` pairs this sale counts under."""
        ts = self.transaction_date
        return (
            ("month", month_key(ts)),
            ("day", day_key(ts)),
            ("hour", hour_key(ts)),
            ("category", self.category),
            ("gender", self.gender),
            ("age_band", self.age_band),
            ("location", self.location),
            ("payment_method", str(self.payment_method)),
        )


def enrich(order: object, customer: list, product: list) -> Sale:
    """Join an order with its stored customer and product values."""
    return Sale(
        order_id=order.order_id,
        customer_id=order.customer_id,
        product_id=order.product_id,
        quantity=order.quantity,
        amount=order.total_amount,
        transaction_date=order.transaction_date,
        payment_method=order.payment_method,
        category=product[P_CATEGORY],
        gender=customer[C_GENDER],
        age_band=age_band(customer[C_AGE]),
        location=customer[C_LOCATION],
    )


def _triple() -> list[int]:
    return [0, 0, 0]


@dataclass
class Delta:
    """What one batch of sales adds to the tables.

    ``totals`` is ``[revenue, orders, quantity]``; ``dimensions`` maps
    ``(dimension, key)`` to the same triple; ``customers`` maps a customer id to
    ``[revenue, orders]``; ``products`` maps a product id to ``[quantity, revenue]``.
    """

    totals: list[int] = field(default_factory=_triple)
    dimensions: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(_triple)
    )
    customers: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    products: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))


def fold(sales: list[Sale]) -> Delta:
    """Sum a batch of sales by every dimension, customer and product.

    The keys are those of :meth:`Sale.dimension_keys`, computed here one dimension
    at a time: that builds no ``(dimension, key)`` pair per sale, which made this
    fold a third of the tables' CPU.
    """
    delta = Delta()
    totals = delta.totals
    customers, products = delta.customers, delta.products
    cells = {dimension: defaultdict(_triple) for dimension in DIMENSIONS}
    month, day, hour = cells["month"], cells["day"], cells["hour"]
    category, gender, band = cells["category"], cells["gender"], cells["age_band"]
    location, payment = cells["location"], cells["payment_method"]
    for sale in sales:
        amount, qty, ts = sale.amount, sale.quantity, sale.transaction_date
        totals[0] += amount
        totals[1] += 1
        totals[2] += qty
        for cell in (
            month[month_key(ts)],
            day[day_key(ts)],
            hour[hour_key(ts)],
            category[sale.category],
            gender[sale.gender],
            band[sale.age_band],
            location[sale.location],
            payment[sale.payment_method],
        ):
            cell[0] += amount
            cell[1] += 1
            cell[2] += qty
        cust = customers[sale.customer_id]
        cust[0] += amount
        cust[1] += 1
        prod = products[sale.product_id]
        prod[0] += qty
        prod[1] += amount
    delta.dimensions = {
        (dimension, str(key)): cell
        for dimension, by_key in cells.items()
        for key, cell in by_key.items()
    }
    return delta


def add_into(stored: list[int] | None, delta: list[int]) -> list[int]:
    """Return ``stored + delta`` element-wise (a missing ``stored`` is zeros)."""
    if stored is None:
        return list(delta)
    if len(stored) != len(delta):
        raise ValueError(f"cannot add {delta} to {stored}: lengths differ")
    return list(map(operator.add, stored, delta))  # 0.2 µs; a zip comprehension 0.5


def current_stock(product: list, sold_total: int) -> int:
    """Return a product's stock: the last stock figure minus what sold since it."""
    return product[P_STOCK] - (sold_total - product[P_SOLD_AT_UPDATE])
