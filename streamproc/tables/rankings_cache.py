"""Top-N lists and units sold, kept current from the tables' updates, rebuilt when needed.

Revenue and quantities only grow, so after each batch the new top-100 is found among
the old top-100 and the ids the batch touched (:func:`rankings.merge_top`); a full
scan happens only on the first request after a start or a rebalance.

Units sold per product (the stock check after every batch reads them) are summed
over the partitions once and then kept by adding each batch's quantities, instead of
eight lookups per product touched.  Both are dropped whenever the tables change
other than through a batch: at a rebalance, and again when a restore ends, once the
keys of the partitions that moved away are gone (the tables' ``on_recover``
callbacks: faust's ``on_rebalance_complete`` comes before the memory store drops them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from streamproc.app import settings
from streamproc.tables import state
from streamproc.tables.rankings import MAX_N, merge_top, top_n

_pending_customers: set[int] = set()
_pending_products: set[int] = set()
_top: dict[str, list[int] | None] = {"customers": None, "quantity": None, "revenue": None}
#: product id -> units sold over the partitions held here (None: summed at the next use)
_units: dict[int, int] | None = None


def note_updates(customer_ids: Iterable[int], products: Mapping[int, list[int]]) -> None:
    """Remember the customers a batch changed and what it added to each product.

    ``products`` maps a product id to the batch's ``[quantity, revenue]`` for it.
    """
    if _top["customers"] is not None:
        _pending_customers.update(customer_ids)
    if _top["quantity"] is not None:
        _pending_products.update(products)
    if _units is not None:
        for product_id, cell in products.items():
            _units[product_id] = _units.get(product_id, 0) + cell[0]


def invalidate() -> None:
    """Forget the lists and the units sold: the next use rebuilds them from the tables."""
    global _units
    for key in _top:
        _top[key] = None
    _pending_customers.clear()
    _pending_products.clear()
    _units = None


async def _restored() -> None:
    invalidate()


state.product_sales.on_recover(_restored)
state.customer_revenue.on_recover(_restored)


def units_sold(product_id: int) -> int:
    """Return the units of a product sold so far, over the partitions held here."""
    global _units
    if _units is None:
        _units = {product_id: qty for product_id, (qty, _) in _product_sums().items()}
    return _units.get(product_id, 0)


def _product_sums() -> dict[int, list[int]]:
    """Return ``product id -> [quantity, revenue]`` summed over every partition held here."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for key, (qty, rev) in state.rows(state.product_sales).items():
        cell = totals[int(key.split("|", 1)[1])]
        cell[0] += qty
        cell[1] += rev
    return totals


def product_totals(product_id: int) -> tuple[int, int]:
    """Return ``(quantity, revenue)`` of a product over the partitions held here."""
    data = state.rows(state.product_sales)
    qty = rev = 0
    for partition in range(settings.topic_partitions):
        cell = data.get(f"{partition}|{product_id}")
        if cell is not None:
            qty += cell[0]
            rev += cell[1]
    return qty, rev


def top_customers(n: int) -> list[tuple[int, int, int]]:
    """Return ``[(customer_id, revenue, orders)]``, highest revenue first."""
    data = state.customer_revenue.data
    if _top["customers"] is None:
        scores = {cid: (v[0],) for cid, v in data.items()}
        _top["customers"] = [i for i, _ in top_n(scores, MAX_N)]
        _pending_customers.clear()
    elif _pending_customers:
        ids = set(_top["customers"]) | _pending_customers
        scores = {i: (data[i][0],) for i in ids if data.get(i) is not None}
        _top["customers"] = merge_top(_top["customers"], _pending_customers & scores.keys(), scores)
        _pending_customers.clear()
    out = []
    for cid in _top["customers"][:n]:
        value = data.get(cid)
        if value is not None:
            out.append((cid, value[0], value[1]))
    return out


def top_products(by: str, n: int) -> list[tuple[int, int, int]]:
    """Return ``[(product_id, quantity, revenue)]``, highest ``by`` first, ties by lower id."""
    if _top["quantity"] is None or _top["revenue"] is None:
        totals = _product_sums()
        _top["quantity"] = [i for i, _ in top_n({k: (v[0],) for k, v in totals.items()}, MAX_N)]
        _top["revenue"] = [i for i, _ in top_n({k: (v[1],) for k, v in totals.items()}, MAX_N)]
        _pending_products.clear()
    elif _pending_products:
        ids = set(_top["quantity"]) | set(_top["revenue"]) | _pending_products
        sums = {i: product_totals(i) for i in ids}
        _top["quantity"] = merge_top(
            _top["quantity"], _pending_products, {i: (q,) for i, (q, _) in sums.items()}
        )
        _top["revenue"] = merge_top(
            _top["revenue"], _pending_products, {i: (r,) for i, (_, r) in sums.items()}
        )
        _pending_products.clear()
    return [(pid, *product_totals(pid)) for pid in _top[by][:n]]
