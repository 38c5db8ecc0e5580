"""A commit takes its offsets under the outbox lock (the cut), then waits for HBase with
the agents going on: what they apply meanwhile goes into the next transaction
(streamproc/faust_fixes.py, on stand-ins of faust's consumer, producer and the HBase
drain); the real proof is the SIGKILL tests in tests/integration and tests/reliability."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types import TP

from streamproc import faust_fixes
from streamproc.outbox import Outbox

PART = TP("orders", 0)


class _Flow:
    def __init__(self, active: bool) -> None:
        self.active = active

    def is_active(self) -> bool:
        return self.active


class _Consumer:
    """The parts of faust's consumer that a commit touches; offsets from ``progress``."""

    def __init__(self, flowing: bool = True) -> None:
        self.in_transaction = True
        self.sent: list[bytes] = []  # records handed to the (one) producer, in order
        self.acked: list[int] = []
        self.commits: list[tuple[dict, list[bytes]]] = []  # offsets, records sent before
        self.progress = -1
        self._committed_offset: dict = {}
        producer = SimpleNamespace(send=self._send)
        self.app = SimpleNamespace(
            in_transaction=False, producer=producer, flow_control=_Flow(flowing)
        )

    async def _send(self, topic, key, value, partition, timestamp, headers) -> None:
        self.sent.append(value)

    def _filter_committable_offsets(self, tps: list) -> dict:
        return {tp: self.progress + 1 for tp in tps}

    async def _handle_attached(self, offsets: dict) -> None:
        return None

    async def _commit_offsets(self, offsets: dict, start_new_transaction: bool) -> bool:
        self.commits.append((dict(offsets), list(self.sent)))
        self._committed_offset.update(offsets)
        return True


class _Stream:
    def __init__(self, consumer: _Consumer) -> None:
        self.consumer = consumer

    async def ack(self, event: int) -> None:
        self.consumer.acked.append(event)


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Outbox:
    fresh = Outbox()
    monkeypatch.setattr(faust_fixes, "outbox", fresh)
    monkeypatch.setattr(faust_fixes, "_commit_order", None)
    return fresh


async def apply_batch(outbox: Outbox, consumer: _Consumer, offset: int) -> None:
    """What runtime.commit_batch does for a batch of one record at ``offset``."""
    async with outbox.commit_lock():
        consumer.progress = offset
        outbox.add("orders-changelog", 0, None, b"r%d" % offset)
        await outbox.flush(consumer.app, "orders")
        await outbox.ack(_Stream(consumer), [offset])


def hbase_gate(outbox: Outbox) -> asyncio.Event:
    """Make every drain but the first wait for the returned event (HBase busy)."""
    gate, calls = asyncio.Event(), [0]

    async def drain() -> None:
        calls[0] += 1
        if calls[0] > 1:
            await gate.wait()

    outbox.before_commit(drain)
    return gate


def test_batches_applied_while_a_commit_waits_for_hbase_go_into_the_next_transaction(outbox):
    async def run() -> _Consumer:
        consumer = _Consumer()
        gate = hbase_gate(outbox)
        await apply_batch(outbox, consumer, 0)
        commit = asyncio.ensure_future(faust_fixes._commit_tps(consumer, [PART], True))
        await asyncio.sleep(0.01)  # the commit took its cut and waits for HBase
        await asyncio.wait_for(apply_batch(outbox, consumer, 1), 1)  # the agent goes on
        assert consumer.sent == [b"r0"] and consumer.acked == [0]  # batch 1 held back
        gate.set()
        assert await commit
        return consumer

    consumer = asyncio.run(run())
    assert consumer.commits == [({PART: 1}, [b"r0"])]  # the cut: batch 0 only
    assert consumer.sent == [b"r0", b"r1"] and consumer.acked == [0, 1]  # then batch 1
    assert not outbox.holding


def test_a_failed_commit_still_hands_the_held_batches_over(outbox):
    async def run() -> _Consumer:
        consumer = _Consumer()
        gate = hbase_gate(outbox)

        async def broker_gone(offsets: dict, start_new_transaction: bool) -> bool:
            raise RuntimeError("broker gone")

        consumer._commit_offsets = broker_gone
        commit = asyncio.ensure_future(faust_fixes._commit_tps(consumer, [PART], True))
        await asyncio.sleep(0.01)
        await asyncio.wait_for(apply_batch(outbox, consumer, 0), 1)
        gate.set()
        with pytest.raises(RuntimeError):
            await commit
        return consumer

    consumer = asyncio.run(run())
    assert consumer.sent == [b"r0"] and consumer.acked == [0]
    assert not outbox.holding


def test_in_a_rebalance_the_commit_holds_the_agents_and_takes_all_they_applied(outbox):
    async def run() -> tuple[_Consumer, bool]:
        consumer = _Consumer(flowing=False)  # faust's flow suspended: a rebalance
        gate = hbase_gate(outbox)
        await apply_batch(outbox, consumer, 0)
        commit = asyncio.ensure_future(faust_fixes._commit_tps(consumer, [PART], True))
        await asyncio.sleep(0.01)
        agent = asyncio.ensure_future(apply_batch(outbox, consumer, 1))
        await asyncio.sleep(0.05)
        blocked = not agent.done()
        gate.set()
        await commit
        await agent
        return consumer, blocked

    consumer, blocked = asyncio.run(run())
    assert blocked  # the agent waited for the commit
    assert consumer.commits == [({PART: 1}, [b"r0"])]
    assert consumer.sent == [b"r0", b"r1"]


def test_while_hbase_stalls_the_commit_gives_its_cut_up_and_lets_the_records_go(
    outbox, monkeypatch
):
    """The agents' records are held back for HOLD_LIMIT_S at most, not for an outage."""
    monkeypatch.setattr(faust_fixes, "HOLD_LIMIT_S", 0.05)

    async def run() -> tuple[_Consumer, bool]:
        consumer = _Consumer()
        gate = hbase_gate(outbox)
        await apply_batch(outbox, consumer, 0)
        commit = asyncio.ensure_future(faust_fixes._commit_tps(consumer, [PART], True))
        await asyncio.sleep(0.01)
        await apply_batch(outbox, consumer, 1)  # held
        did_commit = await asyncio.wait_for(commit, 1)  # HBase never answered
        await apply_batch(outbox, consumer, 2)  # straight into the open transaction
        gate.set()
        return consumer, did_commit

    consumer, did_commit = asyncio.run(run())
    assert not did_commit and consumer.commits == []
    assert consumer.sent == [b"r0", b"r1", b"r2"] and consumer.acked == [0, 1, 2]
    assert not outbox.holding
