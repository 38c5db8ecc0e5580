"""Many dashboard sessions from one process, on one event loop.

Each session is a bare websocket client (:mod:`bokeh_server.wire`): it opens the page's
session as the JavaScript does, finds the ``revenue`` source in its document, and
from then on reads every ``PATCH-DOC`` the server pushes, noting each order count
the source is set to and when it arrived.  It builds no Bokeh models as
``bokeh.client`` does: a browser applies its page's patches on its own machine,
while fifty Python documents in one process on this 2-core machine took a whole
core and made the client's own backlog most of the measured delay (2.6 s median
with 50 ``pull_session``s, against 1.0 s with these clients, same server, same run
conditions).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque

import aiohttp

from bokeh_server.wire import ProtocolError, column, data_changes, find_model, open_session


class Sessions:
    """``n`` sessions of one dashboard page, run by a daemon thread's event loop.

    Args:
        url: The app's page, e.g. ``http://127.0.0.1:5006/dashboard``.
        n: How many sessions to open.
        source: The name of the source whose ``orders`` column is watched.
    """

    def __init__(self, url: str, n: int, source: str = "revenue") -> None:
        self.url = url
        self.n = n
        self.source = source
        #: per session: (monotonic arrival time, order count) of each value it was sent
        self.seen: list[deque[tuple[float, int]]] = [deque(maxlen=10_000) for _ in range(n)]
        self.errors: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._opened = threading.Event()
        self._open_count = 0
        self._tasks: list[asyncio.Task] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(60)

    async def _start(self) -> None:
        self._http = aiohttp.ClientSession()
        self._tasks = [asyncio.create_task(self._run(i)) for i in range(self.n)]

    def wait_open(self, timeout: float = 120) -> None:
        """Wait until every session has its document; raise at the first failed one."""
        deadline = time.monotonic() + timeout
        while not self._opened.wait(0.1):
            if self.errors or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self._open_count} of {self.n} sessions opened in "
                    f"{timeout - deadline + time.monotonic():.0f} s; errors: {self.errors[:3]}"
                )

    async def _run(self, i: int) -> None:
        try:
            ws, sock, doc = await open_session(self._http, self.url)
            async with ws:
                model = find_model(doc, self.source)
                if model is None:
                    raise ProtocolError(f"no model named {self.source!r} in the document")
                self._note(i, model["attributes"]["data"])
                self._open_count += 1
                if self._open_count == self.n:
                    self._opened.set()
                while True:
                    header, content = await sock.receive()
                    if header["msgtype"] == "PATCH-DOC":
                        for data in data_changes(content, model["id"]):
                            self._note(i, data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # recorded; the bench fails on any
            self.errors.append(f"session {i}: {type(exc).__name__}: {exc}")

    def _note(self, i: int, data: dict) -> None:
        if orders := column(data, "orders"):
            self.seen[i].append((time.monotonic(), int(orders[0])))

    def shown(self, i: int) -> int | None:
        """The last order count session ``i`` was sent (None before any)."""
        seen = self.seen[i]
        return seen[-1][1] if seen else None

    def arrival(self, i: int, at_least: int) -> float | None:
        """When session ``i`` was first sent an order count of at least ``at_least``."""
        for when, orders in list(self.seen[i]):
            if orders >= at_least:
                return when
        return None

    def close(self) -> None:
        """Close every session and stop the loop."""

        async def stop() -> None:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._http.close()

        try:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
