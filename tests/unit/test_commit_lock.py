"""A commit that finds HBase down while it holds the agents' lock lets go of it and
starts over (streamproc/faust_fixes.py, on a stand-in of faust's consumer); the real
outage is in tests/reliability/test_outages.py."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from faust.types import TP

from streamproc import faust_fixes
from streamproc.outbox import Outbox

PART = TP("orders", 0)


class _Consumer:
    """The field of faust's Consumer that the commit reads."""

    def __init__(self) -> None:
        self._committed_offset = defaultdict(lambda: None)


class _HBase:
    """Stands in for the sink's drain: up, or down from the first drain under the lock."""

    def __init__(self, goes_down: bool) -> None:
        self.up = asyncio.Event()
        self.up.set()
        self.goes_down = goes_down
        self.drains: list[str] = []

    async def drain(self, *, give_up: bool = False) -> bool:
        self.drains.append("under the lock" if give_up else "before the lock")
        if give_up and self.goes_down:  # HBase goes down in those few milliseconds
            self.goes_down = False
            self.up.clear()
            return False
        await self.up.wait()
        return True


@pytest.mark.parametrize("goes_down", [False, True])
def test_the_agents_go_on_while_the_commit_waits_for_hbase(monkeypatch, goes_down):
    log: list[str] = []

    async def faust_commit(self, tps, start_new_transaction) -> bool:
        log.append("commit")
        return True

    async def run() -> list[str]:
        outbox, hbase = Outbox(), _HBase(goes_down)
        outbox.before_commit(hbase.drain)
        monkeypatch.setattr(faust_fixes, "outbox", outbox)
        monkeypatch.setattr(faust_fixes, "_original_commit_tps", faust_commit)
        commit = asyncio.ensure_future(faust_fixes._commit_tps(_Consumer(), [PART], True))
        await asyncio.sleep(0.05)
        # an agent applies a batch under the lock: it gets it whether HBase is up or down
        async with asyncio.timeout(1):
            async with outbox.commit_lock():
                log.append("batch")
        hbase.up.set()  # HBase is back
        assert await asyncio.wait_for(commit, 1)
        return hbase.drains

    drains = asyncio.run(run())
    if goes_down:
        assert log == ["batch", "commit"]  # committed once HBase was back, not before
        assert drains == ["before the lock", "under the lock"] * 2
    else:
        assert log == ["commit", "batch"]
        assert drains == ["before the lock", "under the lock"]
