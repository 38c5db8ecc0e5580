"""Recovery's check for aborted transactions takes a changelog's position only once it
has held still with nothing applied (streamproc/faust_fixes.py, on stand-ins)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka.consumer.subscription_state import SubscriptionState
from faust.types import TP

from streamproc import faust_fixes


class _Thread:
    """faust's consumer thread, holding aiokafka's own subscription state."""

    def __init__(self, *tps: TP) -> None:
        state = SubscriptionState()
        state.subscribe(topics={tp.topic for tp in tps})
        state.assign_from_subscribed(set(tps))
        self._consumer = SimpleNamespace(_subscription=state, _fetcher=SimpleNamespace(_records={}))

    def fetched_to(self, tp: TP, position: int) -> None:
        self._consumer._subscription.seek(tp, position)


def _fetch_delivered(consumer: SimpleNamespace) -> None:
    """One more fetch of _drain_messages taken and delivered in full."""
    consumer._fetch_rounds[0] += 1
    consumer._fetch_rounds[1] = consumer._fetch_rounds[0]


def test_recovery_takes_a_position_only_once_it_held_still_with_nothing_applied() -> None:
    tp, unread = TP("customers-changelog", 0), TP("customers-changelog", 1)
    recovery = SimpleNamespace(active_offsets={})
    consumer = SimpleNamespace(
        _positions_seen={},
        _fetch_rounds=[0, 0],
        transport=SimpleNamespace(app=SimpleNamespace(tables=SimpleNamespace(recovery=recovery))),
    )

    async def checks() -> None:
        consumer._thread = _Thread(tp, unread)

        async def check(part: TP = tp) -> int:
            return await faust_fixes._settled_position(consumer, part)

        # the thread fetched up to the highwater (100); recovery has applied up to 49
        consumer._thread.fetched_to(tp, 100)
        recovery.active_offsets[tp] = 49
        assert await check() == -1  # first sight: not yet
        recovery.active_offsets[tp] = 98  # the fetched records arrive
        _fetch_delivered(consumer)
        assert await check() == -1  # something was applied since: not yet
        # held still, but no fetch was delivered since the check that first saw it:
        # records the consumer thread took before it may still be on their way
        assert await check() == -1
        _fetch_delivered(consumer)
        assert await check() == 100  # held still, nothing applied: the rest are markers
        consumer._thread.fetched_to(tp, 101)
        assert await check() == -1  # it moved again
        # no position yet (faust compared None: TypeError); aiokafka's position()
        # would wait for one on the consumer thread
        assert await check(unread) == -1 and await check(unread) == -1

    asyncio.run(checks())


def test_the_fix_replaces_the_position_faust_recovery_reads() -> None:
    from faust.transport.drivers.aiokafka import Consumer

    faust_fixes.apply()
    assert Consumer.position is faust_fixes._settled_position


def test_a_changelog_read_to_its_end_counts_as_recovered_without_a_quiet_spell() -> None:
    """faust waits for 10 s with no changelog event at all; another worker writing the
    global table's changelog kept a restarted worker in recovery."""
    done, behind = TP("totals-changelog", 0), TP("sales-changelog", 0)
    recovery = SimpleNamespace(
        in_recovery=True,
        active_highwaters={done: 100, behind: 500},
        active_offsets={done: 98, behind: 200},
    )
    queue: list = []
    app = SimpleNamespace(
        in_transaction=True,
        consumer_generation_id=3,
        tables=SimpleNamespace(
            recovery=recovery, changelog_queue=SimpleNamespace(qsize=queue.__len__)
        ),
    )

    async def checks() -> None:
        thread = _Thread(done, behind)
        app.consumer = SimpleNamespace(_thread=thread, flow_active=True, _fetch_rounds=[0, 0])
        for tp in (done, behind):
            thread.fetched_to(tp, 101)  # done: past the commit marker at 100
        await faust_fixes.settle_recovered_changelogs(app)
        assert recovery.active_offsets == {done: 98, behind: 200}  # first sight: not yet
        # records fetched, not yet delivered: aiokafka's buffer or faust's queue
        thread._consumer._fetcher._records[done] = object()
        await faust_fixes.settle_recovered_changelogs(app)
        del thread._consumer._fetcher._records[done]
        queue.append("event")
        await faust_fixes.settle_recovered_changelogs(app)
        queue.clear()
        assert recovery.active_offsets[done] == 98
        # nothing queued or buffered, but no fetch delivered since the first check that
        # saw this: what the consumer thread took before it may be on its way (a
        # restarted worker counted its customers changelog recovered with none of it
        # applied)
        await faust_fixes.settle_recovered_changelogs(app)
        assert recovery.active_offsets[done] == 98
        _fetch_delivered(app.consumer)
        await faust_fixes.settle_recovered_changelogs(app)  # held still, nothing pending
        assert recovery.active_offsets[done] == 100  # the rest were markers: recovered
        assert recovery.active_offsets[behind] == 200  # its position is short of 500

        recovery.active_offsets[done] = 98  # a rebalance restarted the recovery
        app.consumer_generation_id = 4
        _fetch_delivered(app.consumer)  # so only the generation can hold it back
        await faust_fixes.settle_recovered_changelogs(app)
        assert recovery.active_offsets[done] == 98  # not what the last generation saw

        app.consumer.flow_active = False  # a rebalance stopped the flow: start afresh
        await faust_fixes.settle_recovered_changelogs(app)
        assert faust_fixes._recovery_seen == {}
        app.consumer.flow_active = True
        _fetch_delivered(app.consumer)  # so only the cleared sight can hold it back
        await faust_fixes.settle_recovered_changelogs(app)
        assert recovery.active_offsets[done] == 98

        recovery.in_recovery = False  # the recovery ended: the next one starts afresh
        await faust_fixes.settle_recovered_changelogs(app)
        assert faust_fixes._recovery_seen == {}

    asyncio.run(checks())
