"""JSON web views on the Faust web server (default http://127.0.0.1:6066/api/...)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import aiohttp
from faust.web import Request, Response, View

from streamproc import faust_fixes, gcpacing, topic_names
from streamproc.agents import catalog
from streamproc.app import app, settings
from streamproc.runtime import health, in_order, sink
from streamproc.tables import rankings_cache, state
from streamproc.tables.dimensions import DIMENSIONS
from streamproc.tables.rankings import MAX_N, top_n
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


def peers() -> list[str]:
    """Return the web URLs of the other workers of the group (empty when alone).

    Faust's assignor shares every member's URL (``web_host``/``web_port``) with the
    partitions it holds; each worker's tables hold only its own partitions.
    """
    me = str(app.conf.canonical_url).rstrip("/")
    try:
        hosts = app.router.table_metadata(state.totals.name)
    except (KeyError, AttributeError):
        return []
    return sorted(u for u in (str(h).rstrip("/") for h in hosts) if u != me)


def _local(request: Request) -> bool:
    return request.query.get("local") == "1"


async def gather(request: Request, local: Any) -> list[Any]:
    """Return this worker's partial answer and every peer's (``?local=1``).

    A view over all partitions is the merge of the partial answers of the workers
    that hold them: a request to any worker fans out to the others.  A peer that
    does not answer fails the request (HTTP 503) rather than giving a partial sum.
    """
    parts = [local]
    urls = peers()
    if not urls:
        return parts
    query = {**request.query, "local": "1"}

    async def fetch(url: str) -> Any:
        async with app.http_client.get(f"{url}{request.path}", params=query) as resp:
            if resp.status != 200:
                raise PeerUnavailable(f"{url}{request.path} answered {resp.status}")
            return await resp.json()

    parts.extend(await asyncio.gather(*(fetch(u) for u in urls)))
    return parts


class PeerUnavailable(RuntimeError):
    """Another worker holding some partitions could not answer."""


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


def low_stock(sold: dict[int, list[int]] | None = None) -> list[dict[str, Any]]:
    """Return the products whose current stock is under the threshold, lowest first.

    ``sold`` maps a product id to ``[quantity, revenue]`` sold (default: this worker's).
    """
    sold = _local_product_sums() if sold is None else sold
    low = []
    for product_id, product in state.products.data.items():
        stock = current_stock(product, sold.get(product_id, (0, 0))[0])
        if stock < settings.low_stock_threshold:
            low.append({"product_id": product_id, "product_name": product[P_NAME], "stock": stock})
    return sorted(low, key=lambda r: (r["stock"], r["product_id"]))


def _served(view: Any) -> Any:
    """Answer 503 while recovering or when a peer is down, 400 on a bad parameter."""

    async def handler(web: View, request: Request, **kw: Any) -> Response:
        if (busy := _not_ready(web)) is not None:
            return busy
        try:
            return web.json(await view(request, **kw))
        except BadParameter as exc:
            return _bad(web, exc)
        except (TimeoutError, PeerUnavailable, aiohttp.ClientError, OSError) as exc:
            msg = f"a worker holding partitions is unavailable: {exc}"
            return web.json({"error": msg}, status=503)

    handler.__doc__ = view.__doc__
    handler.__name__ = view.__name__
    return handler


def merge_revenue(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the partial revenue summaries of the workers."""
    out = {"total_revenue": 0, "orders": 0, "rejected": 0, "as_of": _now()}
    for part in parts:
        for key in ("total_revenue", "orders", "rejected"):
            out[key] += part[key]
    return out


def merge_sales(parts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Sum the partial ``{key: {revenue, orders, quantity}}`` maps of the workers."""
    out: dict[str, dict[str, int]] = {}
    for part in parts:
        for key, cell in part.items():
            acc = out.setdefault(key, {"revenue": 0, "orders": 0, "quantity": 0})
            for field in acc:
                acc[field] += cell[field]
    return dict(sorted(out.items()))


def merge_counts(parts: list[dict[str, int]]) -> dict[str, int]:
    """Sum partial ``{key: count}`` maps."""
    out: Counter[str] = Counter()
    for part in parts:
        out.update(part)
    return dict(sorted(out.items()))


def merge_top_customers(parts: list[list[dict[str, Any]]], n: int) -> list[dict[str, Any]]:
    """Merge the workers' top lists (a customer's orders live in one partition)."""
    rows = [row for part in parts for row in part]
    return sorted(rows, key=lambda r: (-r["revenue"], r["customer_id"]))[:n]


def product_sums(parts: list[dict[str, list[int]]]) -> dict[int, list[int]]:
    """Sum the workers' ``{product_id: [quantity, revenue]}`` maps."""
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for part in parts:
        for pid, (qty, rev) in part.items():
            cell = out[int(pid)]
            cell[0] += qty
            cell[1] += rev
    return out


def _local_product_sums() -> dict[int, list[int]]:
    """Return ``{product_id: [quantity, revenue]}`` over the partitions held here."""
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for key, (qty, rev) in state.product_sales.data.items():
        cell = out[int(key.split("|", 1)[1])]
        cell[0] += qty
        cell[1] += rev
    return out


@app.page("/api/revenue")
@_served
async def revenue_view(request: Request) -> Any:
    """Total revenue (cents), counted orders, rejected orders, and when."""
    mine = revenue_summary()
    return mine if _local(request) else merge_revenue(await gather(request, mine))


@app.page("/api/top/customers")
@_served
async def top_customers_view(request: Request) -> Any:
    """Top-n customers by revenue, ties by the lower id."""
    n = parse_n(request.query.get("n"))
    names = state.customers.data
    mine = [
        {
            "customer_id": cid,
            "name": (names.get(cid) or [None])[C_NAME],
            "revenue": rev,
            "orders": orders,
        }
        for cid, rev, orders in rankings_cache.top_customers(n)
    ]
    return mine if _local(request) else merge_top_customers(await gather(request, mine), n)


@app.page("/api/top/products")
@_served
async def top_products_view(request: Request) -> Any:
    """Top-n products by quantity or revenue, ties by the lower id."""
    n = parse_n(request.query.get("n"))
    by = parse_choice("by", request.query.get("by"), ("quantity", "revenue"), "quantity")
    products = state.products.data

    def row(pid: int, qty: int, rev: int) -> dict[str, Any]:
        name = (products.get(pid) or [None])[P_NAME]
        return {"product_id": pid, "product_name": name, "quantity": qty, "revenue": rev}

    if _local(request):  # a peer asking: every product's sums here, for an exact merge
        return _local_product_sums()
    if not peers():
        return [row(*r) for r in rankings_cache.top_products(by, n)]
    sums = product_sums(await gather(request, _local_product_sums()))
    column = 0 if by == "quantity" else 1
    ranked = top_n({pid: (cell[column],) for pid, cell in sums.items()}, n)
    return [row(pid, *sums[pid]) for pid, _ in ranked]


@app.page("/api/sales/{dimension}")
@_served
async def sales_view(request: Request, dimension: str) -> Any:
    """Revenue, orders and quantity by one dimension."""
    parse_choice("dimension", dimension, DIMENSIONS, "")
    mine = sales_by(dimension)
    return mine if _local(request) else merge_sales(await gather(request, mine))


@app.page("/api/customers/by-location")
@_served
async def customers_by_location_view(request: Request) -> Any:
    """Known customers per location."""
    mine = _cached("by-location", 1.0, customers_by_location)
    return mine if _local(request) else merge_counts(await gather(request, mine))


@app.page("/api/stock/low")
@_served
async def low_stock_view(request: Request) -> Any:
    """Products under the low-stock threshold (units sold summed over every worker)."""
    if _local(request):
        return _local_product_sums()
    if not peers():
        return _cached("low-stock", 1.0, low_stock)
    return low_stock(product_sums(await gather(request, _local_product_sums())))


def _partitions() -> dict[str, dict[str, Any]]:
    """Per assigned input partition: last offset applied, end offset, fetch state."""
    consumer = app.consumer
    try:
        assigned = consumer.assignment()
    except Exception:  # noqa: BLE001 - not started yet
        return {}
    inputs = {settings.topic(name) for name in topic_names.INPUTS}
    paused = getattr(consumer, "_paused_partitions", set())
    buffered = getattr(consumer, "_buffered_partitions", set())
    out = {}
    for tp in sorted(tp for tp in assigned if tp.topic in inputs):
        key = f"{tp.topic}|{tp.partition}"
        end = consumer.highwater(tp)
        out[key] = {
            "applied": state.progress.data.get(key),
            "end": end,
            "lag": None if end is None else end - in_order.next_offset((tp.topic, tp.partition)),
            "committed": consumer._committed_offset.get(tp),
            "fetching": tp not in paused and tp not in buffered,
            "waiting_for": in_order.pending.get((tp.topic, tp.partition)),
        }
    return out


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
            "commits_past_acks": faust_fixes.commits_past_acks,
            "gc": gcpacing.COLLECTOR.stats,
            "parked_orders": len(state.parked.data),
            "customers_known": len(state.customers.data),
            "products_known": len(state.products.data),
            "products_followed": catalog.followed["records"],
            "peers": peers(),
            "partitions": _partitions(),
            "hbase": {
                "rows_written": sink.written,
                "retries": sink.retries,
                "pending_rows": sink.pending(),
                "degraded": sink.degraded(),
                "last_error": sink.last_error,
            },
        }
    )
