"""Fixtures of the dashboard tests: a stub worker and in-process dashboard servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from streamproc.settings import Settings
from tests.dashboard.harness import DashboardServer, StubWorker


@pytest.fixture
def stub_worker() -> Iterator[StubWorker]:
    """A stub of the worker's web views on a free loopback port."""
    stub = StubWorker().start()
    yield stub
    stub.stop()


@pytest.fixture
def dashboard_server() -> Iterator[Callable[..., DashboardServer]]:
    """Start dashboards with ``dashboard_server(settings, worker_url)``; stopped after."""
    started: list[DashboardServer] = []

    def start(settings: Settings, worker_url: str, interval: float = 0.25) -> DashboardServer:
        server = DashboardServer(settings, worker_url, interval).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
