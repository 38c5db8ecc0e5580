"""Helpers for the dashboard tests: a stub worker, an in-process Bokeh server, a
client session pumped until a condition holds, and a headless Chromium."""

from __future__ import annotations

import asyncio
import copy
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from bokeh_server.feed import VIEWS
from streamproc.settings import Settings

PATH_TO_KEY = {path: key for key, path in VIEWS.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_views() -> dict[str, Any]:
    """Web-view answers shaped like streamproc/views.py's, with colliding names."""
    sales = {
        "revenue": {"total_revenue": 12_345_678, "orders": 1_234, "rejected": 5, "as_of": "x"},
        "top_customers": [
            {"customer_id": 7, "name": "Ada Okoro", "revenue": 90_000, "orders": 3},
            {"customer_id": 3, "name": "Ada Okoro", "revenue": 80_000, "orders": 2},
            {"customer_id": 11, "name": None, "revenue": 500, "orders": 1},
        ],
        "top_products_quantity": [
            {"product_id": 4, "product_name": "Steel Lamp", "quantity": 40, "revenue": 4_000},
            {"product_id": 9, "product_name": "Oak Desk", "quantity": 12, "revenue": 120_000},
        ],
        "top_products_revenue": [
            {"product_id": 9, "product_name": "Oak Desk", "quantity": 12, "revenue": 120_000},
            {"product_id": 4, "product_name": "Steel Lamp", "quantity": 40, "revenue": 4_000},
        ],
        "sales_gender": {
            "F": {"revenue": 600, "orders": 6, "quantity": 7},
            "M": {"revenue": 500, "orders": 5, "quantity": 5},
            "O": {"revenue": 10, "orders": 1, "quantity": 1},
        },
        "sales_age_band": {
            "18-24": {"revenue": 100, "orders": 1, "quantity": 1},
            "65+": {"revenue": 300, "orders": 3, "quantity": 3},
            "25-34": {"revenue": 200, "orders": 2, "quantity": 2},
        },
        "sales_location": {
            f"City{i}, Land": {"revenue": 100 * i, "orders": i, "quantity": i} for i in range(1, 21)
        },
        "sales_category": {
            "Books": {"revenue": 700, "orders": 7, "quantity": 9},
            "Garden": {"revenue": 900, "orders": 2, "quantity": 2},
        },
        "sales_payment_method": {
            "1": {"revenue": 400, "orders": 4, "quantity": 4},
            "3": {"revenue": 300, "orders": 3, "quantity": 3},
        },
        "customers_by_location": {"Oslo, Norway": 4, "Lima, Peru": 9, "Rome, Italy": 4},
        "low_stock": [
            {"product_id": 5, "product_name": "Tin Cup", "stock": 0},
            {"product_id": 2, "product_name": "Clay Pot", "stock": 3},
        ],
    }
    return sales


class StubWorker:
    """An aiohttp server answering the worker's view paths from :attr:`views`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.views = sample_views()
        self.status = 200
        self.hits = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        key = PATH_TO_KEY.get(request.path_qs)
        if key is None:
            return web.json_response({"error": "no such view"}, status=404)
        if self.status != 200:
            return web.json_response({"error": "stubbed"}, status=self.status)
        return web.Response(body=orjson.dumps(self.views[key]), content_type="application/json")

    def start(self) -> StubWorker:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10), "stub worker did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def update(self, change: Callable[[dict], None]) -> None:
        views = copy.deepcopy(self.views)
        change(views)
        self.views = views


POLL_S = 0.25  # the test server's poll interval


class DashboardServer:
    """``make_server`` run on its own IOLoop in a thread, stopped by :meth:`stop`."""

    def __init__(self, settings: Settings, worker_url: str, interval: float = POLL_S) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/dashboard"
        self._settings = settings
        self._worker_url = worker_url
        self._interval = interval
        self._server = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> DashboardServer:
        from streamproc.dashboard_cli import make_server

        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            try:
                self._server = make_server(
                    self._settings,
                    port=self.port,
                    worker_url=self._worker_url,
                    interval=self._interval,
                )
                self._server.start()
            except BaseException as exc:
                self.error = exc
                raise
            finally:
                ready.set()
            self._server.io_loop.start()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(30) and self.error is None, f"dashboard did not start: {self.error}"
        return self

    def bound_addresses(self) -> set[str]:
        """The addresses the server listens on."""
        return {sock.getsockname()[0] for sock in self._server._http._sockets.values()}

    def stop(self) -> None:
        server = self._server
        if server is None or self._thread is None:
            return

        def shutdown() -> None:
            server.stop()
            server.io_loop.stop()

        server.io_loop.add_callback(shutdown)
        self._thread.join(15)
        self._server = self._thread = None


class Watcher:
    """A ``pull_session`` whose pushes are applied by a thread, as a browser would.

    ``force_roundtrip`` drops the patches that arrive while it waits for its reply,
    so the client loop runs in the background (``loop_until_closed``) instead.
    """

    def __init__(self, url: str) -> None:
        from bokeh.client import pull_session

        self.session = pull_session(url=url)
        self.document = self.session.document
        pump = self.session._connection.loop_until_closed
        self._thread = threading.Thread(target=pump, daemon=True)
        self._thread.start()

    def until(self, predicate: Callable[[], bool], timeout: float) -> float:
        """Wait until ``predicate()`` holds; return the seconds it took."""
        t0 = time.monotonic()
        while True:
            try:
                if predicate():
                    return time.monotonic() - t0
            except RuntimeError:  # the document changed while being read: look again
                pass
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"condition not met within {timeout} s")
            time.sleep(0.005)

    def source(self, name: str) -> dict[str, list]:
        model = self.document.get_model_by_name(name)
        assert model is not None, f"no model named {name!r}"
        return dict(model.data)

    def text(self, name: str) -> str:
        model = self.document.get_model_by_name(name)
        assert model is not None, f"no model named {name!r}"
        return model.text

    def state(self) -> str:
        return "live" if 'data-state="live"' in self.text("status") else "stale"

    def close(self) -> None:
        self.session._connection.io_loop.add_callback(self.session.close)
        self._thread.join(10)


# --- headless Chromium -----------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1320,1900",
)

#: every element matching a CSS selector, inside shadow roots too (Bokeh 3 renders there)
DEEP_QUERY = """
const sel = arguments[0];
const found = [];
const visit = (root) => {
  root.querySelectorAll(sel).forEach((e) => found.push(e));
  root.querySelectorAll('*').forEach((e) => { if (e.shadowRoot) visit(e.shadowRoot); });
};
visit(document);
return found.map((e) => [e.getAttribute('data-state'), e.textContent]);
"""


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def browser(user_data: Path):
    """A headless Chromium driven by Selenium through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = chromium_paths()
    assert found is not None, "chromium and chromium-driver are not installed"
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data}")
    return webdriver.Chrome(service=Service(found[1]), options=options)


def deep(driver, selector: str) -> list[tuple[str | None, str]]:
    return [tuple(x) for x in driver.execute_script(DEEP_QUERY, selector)]


def wait_page(driver, check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def dollars_text(text: str) -> int:
    """Return cents from a shown amount like ``$1,234.56``."""
    return round(float(text.replace("$", "").replace(",", "")) * 100)
