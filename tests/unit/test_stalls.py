"""The worker's two stall fixes, on stand-ins: transactions committed together, and
full collections kept off what survived (the latency they buy is measured by
``bench/bench_stream.py``)."""

from __future__ import annotations

import asyncio
import collections
import gc
import weakref

import pytest

from streamproc import faust_fixes
from streamproc.collector import Survivors


class _Transaction:
    """A transactional producer whose commit waits until the test lets it end."""

    def __init__(self, log: list[str], name: str, release: asyncio.Event, fail: bool) -> None:
        self.log, self.name, self.release, self.fail = log, name, release, fail

    async def send_offsets_to_transaction(self, offsets: dict, group_id: str) -> None:
        self.log.append(f"offsets {self.name} {offsets} {group_id}")

    async def commit_transaction(self) -> None:
        await self.release.wait()
        if self.fail:
            raise RuntimeError(f"fenced: {self.name}")
        self.log.append(f"commit {self.name}")

    async def begin_transaction(self) -> None:
        self.log.append(f"begin {self.name}")


class _Producer:
    """The fields of faust's aiokafka Producer that ``commit_transactions`` reads."""

    def __init__(self, names: list[str], fail: str | None = None) -> None:
        self.log: list[str] = []
        self.release = asyncio.Event()
        self._trn_locks = collections.defaultdict(asyncio.Lock)
        self._transaction_producers = {
            n: _Transaction(self.log, n, self.release, n == fail) for n in names
        }


def test_every_partition_sends_its_offsets_before_any_transaction_ends() -> None:
    async def scenario() -> list[str]:
        producer = _Producer(["app-0", "app-1", "app-2"])
        offsets = {"app-0": {"tp0": 5}, "app-1": {"tp1": 7}, "app-2": {"tp2": 9}}
        commit = asyncio.create_task(faust_fixes._commit_transactions(producer, offsets, "group"))
        await asyncio.sleep(0.05)
        started = list(producer.log)
        producer.release.set()
        await commit
        return started + ["--"] + producer.log[len(started) :]

    log = asyncio.run(scenario())
    # one after another (faust), the second would send its offsets after the first ended
    assert log[:4] == [
        "offsets app-0 {'tp0': 5} group",
        "offsets app-1 {'tp1': 7} group",
        "offsets app-2 {'tp2': 9} group",
        "--",
    ]
    assert sorted(log[4:]) == sorted(
        [f"{step} app-{p}" for p in range(3) for step in ("commit", "begin")]
    )


def test_a_failed_transaction_is_raised_after_the_others_ended() -> None:
    async def scenario() -> _Producer:
        producer = _Producer(["app-0", "app-1"], fail="app-0")
        producer.release.set()
        with pytest.raises(RuntimeError, match="fenced: app-0"):
            await faust_fixes._commit_transactions(
                producer, {"app-0": {"a": 1}, "app-1": {"b": 2}}, "group"
            )
        return producer

    producer = asyncio.run(scenario())
    assert "commit app-1" in producer.log and "begin app-1" in producer.log
    assert "commit app-0" not in producer.log


class _Node:
    """An object in a reference cycle: only a full collection frees it."""

    def __init__(self) -> None:
        self.me = self


def test_survivors_are_frozen_until_the_next_compaction() -> None:
    now = [0.0]
    survivors = Survivors(compact_every=60.0, clock=lambda: now[0])
    node = _Node()
    ref = weakref.ref(node)
    try:
        survivors.tick()
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert ref() is not None  # frozen: full collections skip it
        now[0] = 59.0
        survivors.tick()  # not yet: freezes again
        assert ref() is not None and survivors.compactions == 0
        now[0] = 60.0
        survivors.tick()
        assert ref() is None and survivors.compactions == 1
        assert gc.get_freeze_count() > 0  # what lives is frozen again
    finally:
        gc.unfreeze()
