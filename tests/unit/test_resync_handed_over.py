"""Which input partitions the resync waits on: those handed over past what was applied,
once their agent's queue is empty (streamproc/runtime.py, on stand-ins)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka.consumer.subscription_state import SubscriptionState
from faust.types import TP
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streamproc import runtime
from streamproc.ordering import InOrder

ORDERS = runtime.settings.topic("orders")
CHANGELOG = runtime.settings.topic("orders-seen-changelog")


def _consumer(positions: dict[TP, int | None], paused: set[TP] = frozenset()) -> SimpleNamespace:
    """faust's consumer with aiokafka's own subscription state at ``positions``."""
    state = SubscriptionState()
    state.subscribe(topics={tp.topic for tp in positions})
    state.assign_from_subscribed(set(positions))
    for tp, position in positions.items():
        if position is not None:
            state.seek(tp, position)
    aio = SimpleNamespace(_subscription=state)
    return SimpleNamespace(
        _thread=SimpleNamespace(_consumer=aio),
        _paused_partitions=set(paused),
        _buffered_partitions=set(),
        highwater=lambda tp: 10_000,  # the log end, far ahead (a backlog)
    )


class _Channel:
    def __init__(self, queue: FlowControlQueue) -> None:
        self.queue = queue


@pytest.fixture
def agent_queue(monkeypatch: pytest.MonkeyPatch) -> FlowControlQueue:
    """The orders agent's queue, read by every orders partition (as faust indexes it)."""
    queue = FlowControlQueue(maxsize=100, flow_control=FlowControlEvent())
    channel = _Channel(queue)
    index = {TP(ORDERS, p): {channel} for p in range(4)}
    monkeypatch.setattr(runtime, "app", SimpleNamespace(topics=SimpleNamespace(_tp_index=index)))
    return queue


def test_positions_of_unpaused_input_partitions_once_the_queue_is_empty(agent_queue) -> None:
    async def body() -> None:  # aiokafka's subscription state wants a running loop
        tps = [TP(ORDERS, p) for p in range(4)]
        consumer = _consumer(
            {tps[0]: 500, tps[1]: 300, tps[2]: 700, tps[3]: None, TP(CHANGELOG, 0): 9},
            paused={tps[2]},
        )
        assigned = set(consumer._thread._consumer._subscription.subscription.assignment.tps)
        assert runtime._handed_over(consumer, assigned) == {(ORDERS, 0): 500, (ORDERS, 1): 300}
        agent_queue.put_nowait("a batch of some orders partition")
        assert runtime._handed_over(consumer, assigned) == {}  # on their way: wait on nothing

    asyncio.run(body())


def test_a_partition_starved_by_the_fetcher_is_not_sought_back(agent_queue) -> None:
    """Nothing handed over (position = next offset), a log end far ahead: no seek."""

    async def body() -> None:
        tp = TP(ORDERS, 0)
        clock = SimpleNamespace(now=0.0)
        order = InOrder(lambda key: 99, clock=lambda: clock.now)
        consumer = _consumer({tp: 100})
        for _ in range(5):
            order.behind(runtime._handed_over(consumer, {tp}))
            clock.now += 2.0
            assert order.due() == {}
        consumer._thread._consumer._subscription.seek(tp, 160)  # 100-159 handed over, lost
        order.behind(runtime._handed_over(consumer, {tp}))
        clock.now += 2.0
        assert order.due() == {(ORDERS, 0): 100}

    asyncio.run(body())
