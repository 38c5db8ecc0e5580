"""JSON web views on the Faust web server (default http://127.0.0.1:6066/api/...)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from streamproc import topic_names
from streamproc.app import app, settings
from streamproc.runtime import health, sink
from streamproc.tables import rankings_cache, state
from streamproc.tables.dimensions import DIMENSIONS
from streamproc.tables.rankings import MAX_N
from streamproc.tables.sales import C_LOCATION, C_NAME, P_NAME, current_stock


class BadParameter(ValueError):
    """A query or path parameter that is out of range; answered with HTTP 400."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_n(raw: str | None, default: int = 10) -> int:
    """Return the ``n`` query parameter, an integer from 1 to 100."""
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        raise BadParameter(f"n must be an integer from 1 to {MAX_N}, got {raw!r}") from None
    if not 1 <= n <= MAX_N:
        raise BadParameter(f"n must be an integer from 1 to {MAX_N}, got {n}")
    return n


def parse_choice(name: str, raw: str | None, choices: tuple[str, ...], default: str) -> str:
    """Return a parameter that must be one of ``choices``."""
    value = default if raw is None else raw
    if value not in choices:
        raise BadParameter(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _not_ready(web: View) -> Response | None:
    """Answer 503 while the tables are being restored or partitions move."""
    if app.rebalancing or not app.tables.recovery.completed.is_set():
        return web.json({"error": "recovering: tables are being restored"}, status=503)
    return None


def _bad(web: View, exc: BadParameter) -> Response:
    return web.json({"error": str(exc)}, status=400)


def revenue_summary() -> dict[str, Any]:
    """Return total revenue, counted orders and rejected orders."""
    revenue = orders = 0
    for cell in state.totals.data.values():
        revenue += cell[0]
        orders += cell[1]
    rejected = sum(
        count
        for key, count in state.rejected.data.items()
        if key.startswith(f"{settings.topic(topic_names.ORDERS)}|")
    )
    return {"total_revenue": revenue, "orders": orders, "rejected": rejected, "as_of": _now()}


def sales_by(dimension: str) -> dict[str, dict[str, int]]:
    """Return ``{key: {revenue, orders, quantity}}`` of a dimension over all partitions."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    marker = f"|{dimension}|"
    for key, cell in state.sales.data.items():
        head, sep, value = key.partition(marker)
        if sep and head.isdigit():
            acc = out[value]
            acc[0] += cell[0]
            acc[1] += cell[1]
            acc[2] += cell[2]
    return {k: {"revenue": v[0], "orders": v[1], "quantity": v[2]} for k, v in sorted(out.items())}


_cache: dict[str, tuple[float, Any]] = {}


def _cached(name: str, ttl: float, compute: Any) -> Any:
    hit = _cache.get(name)
    now = time.monotonic()
    if hit is None or now - hit[0] > ttl:
        hit = (now, compute())
        _cache[name] = hit
    return hit[1]


def customers_by_location() -> dict[str, int]:
    """Return the number of known customers per location."""
    return dict(sorted(Counter(c[C_LOCATION] for c in state.customers.data.values()).items()))


def low_stock() -> list[dict[str, Any]]:
    """Return the products whose current stock is under the threshold, lowest first."""
    sold: dict[int, int] = defaultdict(int)
    for key, cell in state.product_sales.data.items():
        sold[int(key.split("|", 1)[1])] += cell[0]
    low = []
    for product_id, product in state.products.data.items():
        stock = current_stock(product, sold.get(product_id, 0))
        if stock < settings.low_stock_threshold:
            low.append({"product_id": product_id, "product_name": product[P_NAME], "stock": stock})
    return sorted(low, key=lambda r: (r["stock"], r["product_id"]))


@app.page("/api/revenue")
async def revenue_view(web: View, request: Request) -> Response:
    """Total revenue (cents), counted orders, rejected orders, and when."""
    if (busy := _not_ready(web)) is not None:
        return busy
    return web.json(revenue_summary())


@app.page("/api/top/customers")
async def top_customers_view(web: View, request: Request) -> Response:
    """Top-n customers by revenue, ties by the lower id."""
    if (busy := _not_ready(web)) is not None:
        return busy
    try:
        n = parse_n(request.query.get("n"))
    except BadParameter as exc:
        return _bad(web, exc)
    names = state.customers.data
    return web.json(
        [
            {
                "customer_id": cid,
                "name": (names.get(cid) or [None])[C_NAME],
                "revenue": rev,
                "orders": orders,
            }
            for cid, rev, orders in rankings_cache.top_customers(n)
        ]
    )


@app.page("/api/top/products")
async def top_products_view(web: View, request: Request) -> Response:
    """Top-n products by quantity or revenue, ties by the lower id."""
    if (busy := _not_ready(web)) is not None:
        return busy
    try:
        n = parse_n(request.query.get("n"))
        by = parse_choice("by", request.query.get("by"), ("quantity", "revenue"), "quantity")
    except BadParameter as exc:
        return _bad(web, exc)
    products = state.products.data
    return web.json(
        [
            {
                "product_id": pid,
                "product_name": (products.get(pid) or [None])[P_NAME],
                "quantity": qty,
                "revenue": rev,
            }
            for pid, qty, rev in rankings_cache.top_products(by, n)
        ]
    )


@app.page("/api/sales/{dimension}")
async def sales_view(web: View, request: Request, dimension: str) -> Response:
    """Revenue, orders and quantity by one dimension."""
    if (busy := _not_ready(web)) is not None:
        return busy
    try:
        parse_choice("dimension", dimension, DIMENSIONS, "")
    except BadParameter as exc:
        return _bad(web, exc)
    return web.json(sales_by(dimension))


@app.page("/api/customers/by-location")
async def customers_by_location_view(web: View, request: Request) -> Response:
    """Known customers per location."""
    if (busy := _not_ready(web)) is not None:
        return busy
    return web.json(_cached("by-location", 1.0, customers_by_location))


@app.page("/api/stock/low")
async def low_stock_view(web: View, request: Request) -> Response:
    """Products under the low-stock threshold."""
    if (busy := _not_ready(web)) is not None:
        return busy
    return web.json(_cached("low-stock", 1.0, low_stock))


@app.page("/api/health")
async def health_view(web: View, request: Request) -> Response:
    """Worker liveness, HBase write state and counters."""
    return web.json(
        {
            "status": "ok" if sink.last_error is None else "degraded",
            "ready": _not_ready(web) is None,
            "as_of": _now(),
            "uptime_s": round(time.time() - health["started"], 1),
            "records": health["records"],
            "batches": health["batches"],
            "dead_letters": health["dead_letters"],
            "resyncs": health["resyncs"],
            "parked_orders": len(state.parked.data),
            "hbase": {
                "rows_written": sink.written,
                "retries": sink.retries,
                "pending_rows": sink.pending(),
                "last_error": sink.last_error,
            },
        }
    )
