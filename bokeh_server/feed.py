"""The dashboard's live feed: one background reader of the worker's web views per server.

A :class:`Feed` thread polls the stream worker's JSON views (``/api/revenue``,
``/api/top/...``, ``/api/sales/...``, ...) every ``interval`` seconds, all at once
over one keep-alive HTTP connection each, and publishes each result as an immutable
:class:`Snapshot`.  Sessions subscribe a callback; the feed calls it from its own
thread after every poll, and the session hands its document change over to the
server's event loop (``IOLoop.add_callback``; no Bokeh document method is safe to
call from another thread, ``add_next_tick_callback`` included: see
:meth:`bokeh_server.main.Dashboard.notify`).

When the worker does not answer (down, restarting, restoring its tables), the
snapshot keeps the last figures and sets :attr:`Snapshot.stale_since`; the next
good poll clears it.  Everything else here is pure: turning view JSON into the
column dictionaries the plots show, and money and time into text.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import orjson

from bokeh_server import nightly, patches
from streamproc.tables.dimensions import AGE_BANDS

log = logging.getLogger(__name__)

#: the views one poll reads: snapshot key -> path on the worker
VIEWS: dict[str, str] = {
    "revenue": "/api/revenue",
    "top_customers": "/api/top/customers?n=10",
    "top_products_quantity": "/api/top/products?by=quantity&n=10",
    "top_products_revenue": "/api/top/products?by=revenue&n=10",
    "sales_gender": "/api/sales/gender",
    "sales_age_band": "/api/sales/age_band",
    "sales_location": "/api/sales/location",
    "sales_category": "/api/sales/category",
    "sales_payment_method": "/api/sales/payment_method",
    "customers_by_location": "/api/customers/by-location",
    "low_stock": "/api/stock/low",
}

#: payment method code (as the sales view keys it) -> label; codes from streamproc.models
PAYMENT_LABELS = {
    "1": "credit card",
    "2": "debit card",
    "3": "digital wallet",
    "4": "cash on delivery",
    "5": "bank transfer",
}
GENDER_LABELS = {"M": "male", "F": "female", "O": "other"}

#: rate points kept in the feed and in each session's streaming source
ROLLOVER = 1800


# --- options --------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """Where the dashboard reads from and how often.

    Attributes:
        worker_url: Base URL of the stream worker's web views.
        interval: Seconds between two polls of the views.
        data_dir: ``ECOM_DATA_DIR``; nightly results are under ``<data_dir>/batch``.
        timeout: Seconds one HTTP request may take before the feed counts it failed.
        nightly_every: Seconds between two looks for a newer nightly run.
    """

    worker_url: str
    interval: float = 0.4
    data_dir: Path = Path("data")
    timeout: float = 2.0
    nightly_every: float = 10.0


def parse_args(argv: list[str]) -> Options:
    """Return the options the app was started with (``bokeh serve ... --args``).

    Missing options come from the project's settings: the worker at
    ``http://<web_host>:<web_port>`` and ``data_dir``.
    """
    parser = argparse.ArgumentParser(prog="bokeh_server", add_help=False)
    parser.add_argument("--worker-url")
    parser.add_argument("--interval", type=float, default=0.4)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--nightly-every", type=float, default=10.0)
    args, _unknown = parser.parse_known_args(argv)
    if args.worker_url is None or args.data_dir is None:
        from streamproc.settings import get_settings

        settings = get_settings()
        args.worker_url = args.worker_url or f"http://{settings.web_host}:{settings.web_port}"
        args.data_dir = args.data_dir or settings.data_dir
    return Options(
        worker_url=args.worker_url.rstrip("/"),
        interval=args.interval,
        data_dir=args.data_dir,
        timeout=args.timeout,
        nightly_every=args.nightly_every,
    )


def to_argv(options: Options) -> list[str]:
    """Return the ``--args`` that make :func:`parse_args` give back ``options``."""
    return [
        "--worker-url", options.worker_url,
        "--interval", str(options.interval),
        "--data-dir", str(options.data_dir),
        "--timeout", str(options.timeout),
        "--nightly-every", str(options.nightly_every),
    ]  # fmt: skip


# --- text -----------------------------------------------------------------------


def dollars(cents: float) -> float:
    """Return integer cents as dollars (for plotting; text uses :func:`money`)."""
    return cents / 100


def money(cents: int | float) -> str:
    """Return cents as dollars with thousands separators, e.g. ``$12,345.67``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def count(n: int) -> str:
    """Return an integer with thousands separators, e.g. ``12,345``."""
    return f"{n:,}"


def clock(moment: datetime) -> str:
    """Return a UTC time of day, ``HH:MM:SS UTC``."""
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC")


def label(name: str | None, ident: int) -> str:
    """Return a unique axis label for a named id: ``"name · #id"`` (``"#id"`` unnamed)."""
    return f"{name} · #{ident}" if name else f"#{ident}"


# --- the rates ------------------------------------------------------------------


class RatePoint(NamedTuple):
    """One point of the streaming lines.

    Attributes:
        seq: Increasing number of the point, so a session streams only what is new.
        t_ms: Wall-clock time, milliseconds since the epoch (Bokeh's datetime unit).
        orders_per_s: Orders counted per second over the last second.
        revenue_per_min: Revenue per minute over the last minute, cents.
    """

    seq: int
    t_ms: float
    orders_per_s: float
    revenue_per_min: float


class RateMeter:
    """Turns successive totals (orders, revenue) into orders/s and revenue/minute.

    Orders per second use the sample about one second back; revenue per minute the
    oldest sample of the last minute, scaled to a minute while less is known.  A
    total that goes down (another worker, reset tables) starts the meter afresh.
    """

    def __init__(self, rollover: int = ROLLOVER) -> None:
        self._samples: deque[tuple[float, int, int]] = deque()
        self.points: deque[RatePoint] = deque(maxlen=rollover)
        self._seq = 0

    def reset(self) -> None:
        """Forget the samples (after a gap) but keep the points already drawn."""
        self._samples.clear()

    def add(self, mono: float, wall_ms: float, orders: int, revenue: int) -> RatePoint | None:
        """Add the totals seen at monotonic time ``mono``; return the new point, if any."""
        if self._samples:
            _, last_orders, last_revenue = self._samples[-1]
            if orders < last_orders or revenue < last_revenue:
                self._samples.clear()
        self._samples.append((mono, orders, revenue))
        while len(self._samples) > 1 and self._samples[1][0] <= mono - 60.0:
            self._samples.popleft()
        if len(self._samples) < 2:
            return None
        second_ago = self._samples[0]
        for sample in self._samples:
            if sample[0] <= mono - 1.0:
                second_ago = sample
            else:
                break
        if second_ago[0] >= mono:  # two samples at the same instant
            return None
        oldest = self._samples[0]
        point = RatePoint(
            self._seq,
            wall_ms,
            (orders - second_ago[1]) / (mono - second_ago[0]),
            (revenue - oldest[2]) * 60.0 / (mono - oldest[0]),
        )
        self._seq += 1
        self.points.append(point)
        return point


# --- snapshot -------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What the dashboard shows, as of one poll; replaced whole, never changed.

    Attributes:
        views: Decoded JSON of the last good poll, by :data:`VIEWS` key (empty before).
        rates: The rate points, oldest first.
        as_of: When the last good poll finished (UTC), None before the first.
        stale_since: None while live; else since when the figures are old (UTC).
        error: Why the last poll failed, None while live.
        version: Increases with every snapshot.
        nightly: The latest nightly run's results, None when there is none.
        shared: What every session sends for this snapshot, computed once
            (:class:`~bokeh_server.patches.Shared`).
    """

    views: Mapping[str, Any] = field(default_factory=dict)
    rates: tuple[RatePoint, ...] = ()
    as_of: datetime | None = None
    stale_since: datetime | None = None
    error: str | None = None
    version: int = 0
    nightly: nightly.Nightly | None = None
    shared: patches.Shared = field(
        default_factory=patches.Shared, init=False, repr=False, compare=False
    )


def status_html(snap: Snapshot, worker_url: str) -> str:
    """Return the status line: live with its time, or a visible stale state."""
    if snap.stale_since is None and snap.as_of is not None:
        return (
            '<span data-state="live" style="color:#1a7f37;font-weight:600">● live</span>'
            f" &nbsp;as of {clock(snap.as_of)} · worker {worker_url}"
        )
    since = clock(snap.stale_since) if snap.stale_since else "start"
    what = "stale since" if snap.as_of is not None else "no data yet, waiting since"
    return (
        '<span data-state="stale" style="color:#fff;background:#cf222e;padding:2px 8px;'
        f'border-radius:4px;font-weight:600">{what} {since}</span>'
        f" &nbsp;worker {worker_url}: {snap.error or 'not reachable'}"
        " — showing the last figures, retrying"
    )


def totals_html(revenue: Mapping[str, Any] | None, customers: int | None) -> str:
    """Return the big numbers: total revenue, orders, rejected orders, known customers."""
    r = revenue or {}
    cards = [
        ("total_revenue", "Total revenue", money(int(r.get("total_revenue", 0)))),
        ("orders", "Orders", count(int(r.get("orders", 0)))),
        ("rejected", "Rejected orders", count(int(r.get("rejected", 0)))),
        ("customers", "Customers", "–" if customers is None else count(customers)),
    ]
    return (
        '<div style="display:flex;gap:40px;align-items:flex-end">'
        + "".join(
            f'<div><div style="font-size:12px;color:#57606a;text-transform:uppercase;'
            f'letter-spacing:.04em">{title}</div><div data-metric="{key}" '
            f'style="font-size:34px;font-weight:700;font-variant-numeric:tabular-nums">'
            f"{value}</div></div>"
            for key, title, value in cards
        )
        + "</div>"
    )


# --- columns for the plots ------------------------------------------------------


def revenue_columns(revenue: Mapping[str, Any] | None) -> dict[str, list]:
    """Return the one-row source of the totals from ``/api/revenue``."""
    r = revenue or {}
    total = int(r.get("total_revenue", 0))
    return {
        "total_revenue": [total],
        "total_revenue_usd": [dollars(total)],
        "orders": [int(r.get("orders", 0))],
        "rejected": [int(r.get("rejected", 0))],
    }


def customer_columns(rows: Iterable[Mapping[str, Any]] | None) -> dict[str, list]:
    """Return the columns of the top-customers bars (best first) from their view."""
    rows = list(rows or [])
    return {
        "label": [label(r.get("name"), r["customer_id"]) for r in rows],
        "customer_id": [r["customer_id"] for r in rows],
        "name": [r.get("name") or "" for r in rows],
        "revenue": [r["revenue"] for r in rows],
        "revenue_usd": [dollars(r["revenue"]) for r in rows],
        "orders": [r["orders"] for r in rows],
    }


def product_columns(rows: Iterable[Mapping[str, Any]] | None) -> dict[str, list]:
    """Return the columns of a top-products bar chart (best first) from its view."""
    rows = list(rows or [])
    return {
        "label": [label(r.get("product_name"), r["product_id"]) for r in rows],
        "product_id": [r["product_id"] for r in rows],
        "product_name": [r.get("product_name") or "" for r in rows],
        "quantity": [r["quantity"] for r in rows],
        "revenue": [r["revenue"] for r in rows],
        "revenue_usd": [dollars(r["revenue"]) for r in rows],
    }


def _dimension_order(dimension: str, keys: Iterable[str], figures: Mapping[str, Any]) -> list:
    keys = list(keys)
    if dimension == "age_band":
        return [b for b in AGE_BANDS if b in figures] + sorted(set(keys) - set(AGE_BANDS))
    if dimension in ("gender", "payment_method"):
        return sorted(keys)
    # category, location: biggest revenue first, ties by name
    return sorted(keys, key=lambda k: (-figures[k]["revenue"], k))


def sales_columns(
    dimension: str, figures: Mapping[str, Mapping[str, int]] | None, limit: int | None = None
) -> dict[str, list]:
    """Return the bars of revenue by one dimension from ``/api/sales/<dimension>``.

    Args:
        dimension: gender, age_band, location, category or payment_method.
        figures: The view's ``{key: {revenue, orders, quantity}}``.
        limit: Keep only this many keys (the biggest by revenue for location and
            category).
    """
    figures = figures or {}
    keys = _dimension_order(dimension, figures, figures)[:limit]
    names = {"payment_method": PAYMENT_LABELS, "gender": GENDER_LABELS}.get(dimension, {})
    return {
        "key": keys,
        "label": [names.get(k, k) for k in keys],
        "revenue": [figures[k]["revenue"] for k in keys],
        "revenue_usd": [dollars(figures[k]["revenue"]) for k in keys],
        "orders": [figures[k]["orders"] for k in keys],
        "quantity": [figures[k]["quantity"] for k in keys],
    }


def location_count_columns(
    counts: Mapping[str, int] | None, limit: int | None = None
) -> dict[str, list]:
    """Return the bars of customers per location, most first, ties by name."""
    counts = counts or {}
    keys = sorted(counts, key=lambda k: (-counts[k], k))[:limit]
    return {"location": keys, "customers": [counts[k] for k in keys]}


def low_stock_columns(rows: Iterable[Mapping[str, Any]] | None) -> dict[str, list]:
    """Return the low-stock table's columns from ``/api/stock/low`` (lowest first)."""
    rows = list(rows or [])
    return {
        "product_id": [r["product_id"] for r in rows],
        "product_name": [r.get("product_name") or "" for r in rows],
        "stock": [r["stock"] for r in rows],
    }


def rate_columns(points: Iterable[RatePoint], since: int = -1) -> dict[str, list]:
    """Return the rate lines' new rows: the points after sequence number ``since``."""
    new = [p for p in points if p.seq > since]
    return {
        "t": [p.t_ms for p in new],
        "orders_per_s": [p.orders_per_s for p in new],
        "revenue_per_min": [p.revenue_per_min for p in new],
        "revenue_per_min_usd": [dollars(p.revenue_per_min) for p in new],
    }


# --- the reader -----------------------------------------------------------------


class WorkerUnavailable(Exception):
    """The worker did not answer a view, or answered with an error status."""


class _Http:
    """GETs JSON over one keep-alive connection, reconnecting when it breaks."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"worker URL must be http://host:port, got {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get_json(self, path: str) -> Any:
        for attempt in (1, 2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, self._timeout)
            try:
                self._conn.request("GET", path, headers={"Accept": "application/json"})
                resp = self._conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                # a kept-alive connection the server closed: try once on a fresh one
                if reused and attempt == 1:
                    continue
                raise WorkerUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
            if resp.status == 503:
                raise WorkerUnavailable("recovering (HTTP 503): tables are being restored")
            if resp.status != 200:
                raise WorkerUnavailable(f"HTTP {resp.status} on {path}")
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise WorkerUnavailable(f"bad JSON on {path}: {exc}") from exc
        raise AssertionError("unreachable")


Subscriber = Callable[[Snapshot], None]


class Feed:
    """Polls the worker's views in a daemon thread and tells subscribers.

    Args:
        options: Worker URL, poll interval, data directory.
        clock_wall: Returns the current UTC time (tests pass their own).
    """

    def __init__(
        self, options: Options, clock_wall: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.options = options
        self._now = clock_wall
        # one keep-alive connection per view, all read at once: a poll takes as long as
        # the slowest view, not the sum (27 ms median against 69 ms with the worker at
        # 2,000 orders/s, whose event loop serves the views between batches)
        self._http = {key: _Http(options.worker_url, options.timeout) for key in VIEWS}
        self._pool = ThreadPoolExecutor(len(VIEWS), thread_name_prefix="dashboard-feed-get")
        self._meter = RateMeter()
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = clock_wall()
        self._next_nightly = 0.0
        self._snapshot = Snapshot(stale_since=self._started, error="not polled yet")

    @property
    def snapshot(self) -> Snapshot:
        """The latest snapshot (an immutable object: read it without a lock)."""
        return self._snapshot

    def subscribe(self, callback: Subscriber) -> None:
        """Call ``callback(snapshot)`` from the feed's thread after every poll."""
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        with self._lock, contextlib.suppress(ValueError):
            self._subscribers.remove(callback)

    def subscribers(self) -> int:
        """Return how many callbacks are subscribed (open sessions)."""
        with self._lock:
            return len(self._subscribers)

    def start(self) -> None:
        """Start polling in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dashboard-feed", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and close the connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        for conn in self._http.values():
            conn.close()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # the reader must outlive any one bad poll
                log.exception("dashboard feed: poll failed")
            next_at = max(next_at + self.options.interval, time.monotonic())
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _read_nightly(self, prev: Snapshot) -> nightly.Nightly | None:
        mono = time.monotonic()
        if mono < self._next_nightly:
            return prev.nightly
        self._next_nightly = mono + self.options.nightly_every
        return nightly.load_latest(self.options.data_dir, prev.nightly)

    def poll(self) -> Snapshot:
        """Read every view once, publish the snapshot, tell subscribers, return it."""
        prev = self._snapshot
        views: dict[str, Any] = {}
        error = None
        gets = {key: self._pool.submit(self._http[key].get_json, p) for key, p in VIEWS.items()}
        for key, get in gets.items():
            try:
                views[key] = get.result()
            except WorkerUnavailable as exc:
                error = error or str(exc)
        now = self._now()
        night = self._read_nightly(prev)
        if error is None:
            rev = views["revenue"]
            self._meter.add(
                time.monotonic(), now.timestamp() * 1000, rev["orders"], rev["total_revenue"]
            )
            if prev.stale_since is not None and prev.as_of is not None:
                log.info("dashboard feed: worker %s answers again", self.options.worker_url)
            snap = Snapshot(
                views=views,
                rates=tuple(self._meter.points),
                as_of=now,
                version=prev.version + 1,
                nightly=night,
            )
        else:
            self._meter.reset()
            if prev.stale_since is None or prev.version == 0:  # once per outage
                log.warning("dashboard feed: worker %s: %s", self.options.worker_url, error)
            snap = replace(
                prev,
                stale_since=prev.stale_since or prev.as_of or now,
                error=error,
                version=prev.version + 1,
                nightly=night,
            )
        self._snapshot = snap
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(snap)
            except Exception:  # a closed session must not stop the others
                log.debug("dashboard feed: subscriber failed; dropping it", exc_info=True)
                self.unsubscribe(callback)
        return snap


# --- one feed per Bokeh server --------------------------------------------------

_feeds: dict[int, Feed] = {}


def attach(server_context: object, feed: Feed) -> None:
    """Register the feed of a Bokeh server context (``on_server_loaded``)."""
    _feeds[id(server_context)] = feed


def detach(server_context: object) -> Feed | None:
    """Unregister and return the feed of a server context (``on_server_unloaded``)."""
    return _feeds.pop(id(server_context), None)


def lookup(server_context: object) -> Feed | None:
    """Return the feed of a server context, None when it has none."""
    return _feeds.get(id(server_context))
