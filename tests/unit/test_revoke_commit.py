"""A rebalance first commits what the agents applied, and the partitions' transactions
commit together (streamproc/faust_fixes.py, on stand-ins of faust's consumer and
producer); the real proof is in tests/integration/test_scale.py."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka.structs import TopicPartition
from faust.types import TP

from streamproc import faust_fixes

REVOKED = {TP("orders", 1), TP("orders", 0)}


class _Consumer:
    """The parts of faust's consumer that the commit before a revoke touches."""

    def __init__(self, generation: int, fail: bool = False) -> None:
        self.in_transaction = True
        self.app = SimpleNamespace(should_stop=False, flow_control=SimpleNamespace())
        self.app.flow_control.suspend = lambda: self.calls.append("suspend")
        coordinator = SimpleNamespace(generation=generation)
        self._thread = SimpleNamespace(_consumer=SimpleNamespace(_coordinator=coordinator))
        self.calls: list = []
        self._fail = fail

    def _new_topicpartition(self, topic: str, partition: int) -> TopicPartition:
        return TopicPartition(topic, partition)

    def stop_flow(self) -> None:
        self.calls.append("stop_flow")

    async def _commit_tps(self, tps: list, start_new_transaction: bool) -> bool:
        self.calls.append(("commit", tps, start_new_transaction))
        if self._fail:
            raise RuntimeError("broker gone")
        return True


@pytest.fixture
def revoke(monkeypatch: pytest.MonkeyPatch):
    async def faust_revoke(self: _Consumer, revoked: set) -> None:
        self.calls.append(("faust revoke", revoked))

    monkeypatch.setattr(faust_fixes, "_original_partitions_revoked", faust_revoke)
    return lambda consumer: asyncio.run(faust_fixes._commit_before_revoke(consumer, REVOKED))


def test_a_member_stops_the_flow_and_commits_before_faust_revokes(revoke) -> None:
    consumer = _Consumer(generation=7)
    revoke(consumer)
    assert consumer.calls == [
        "stop_flow",
        "suspend",
        ("commit", sorted(REVOKED), True),
        ("faust revoke", REVOKED),
    ]
    # aiokafka's send_offsets_to_transaction refuses faust's TP
    assert {type(tp) for tp in consumer.calls[2][1]} == {TopicPartition}


def test_a_member_the_group_dropped_commits_nothing(revoke) -> None:
    consumer = _Consumer(generation=-1)  # aiokafka's reset_generation()
    revoke(consumer)
    assert consumer.calls == [("faust revoke", REVOKED)]


def test_a_failed_commit_still_lets_faust_revoke(revoke, caplog) -> None:
    consumer = _Consumer(generation=7, fail=True)
    revoke(consumer)
    assert consumer.calls[-1] == ("faust revoke", REVOKED)
    assert "commit before the rebalance failed" in caplog.text


def test_the_fix_replaces_faust_revoke() -> None:
    from faust.transport.consumer import Consumer

    faust_fixes.apply()
    assert Consumer.on_partitions_revoked is faust_fixes._commit_before_revoke


def test_the_partitions_transactions_commit_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """faust commits one transactional id after the other; each waits here until all
    have started, which only overlapping commits get past."""
    started: list[str] = []

    async def commit_one(producer, offsets, group_id, start_new_transaction):
        [tid] = offsets
        started.append(tid)
        while len(started) < 3:
            await asyncio.sleep(0)
        assert (group_id, start_new_transaction) == ("shop", True)

    monkeypatch.setattr(faust_fixes, "_original_commit_transactions", commit_one)
    offsets = {f"shop-0-{p}": {TP("orders", p): 10 + p} for p in range(3)}
    asyncio.run(asyncio.wait_for(faust_fixes._commit_transactions(None, offsets, "shop", True), 5))
    assert sorted(started) == sorted(offsets)


class _Manager:
    def __init__(self, in_transaction: bool) -> None:
        self.in_transaction = in_transaction

    def is_in_transaction(self) -> bool:
        return self.in_transaction


@pytest.mark.parametrize(
    ("producers", "begun"),
    [
        ({"shop-0-1": SimpleNamespace(_txn_manager=_Manager(True))}, []),  # kept, begun
        ({"shop-0-1": SimpleNamespace(_txn_manager=_Manager(False))}, ["shop-0-1"]),
        ({}, ["shop-0-1"]),  # newly assigned: faust creates the producer
    ],
)
def test_a_transaction_already_begun_is_not_begun_again(
    monkeypatch: pytest.MonkeyPatch, producers: dict, begun: list
) -> None:
    """aiokafka refuses IN_TRANSACTION -> IN_TRANSACTION; faust logged it at each rebalance."""
    calls: list[str] = []

    async def faust_begin(producer, transactional_id: str) -> None:
        calls.append(transactional_id)

    monkeypatch.setattr(faust_fixes, "_original_maybe_begin_transaction", faust_begin)
    producer = SimpleNamespace(_transaction_producers=producers)
    asyncio.run(faust_fixes._maybe_begin_transaction(producer, "shop-0-1"))
    assert calls == begun
