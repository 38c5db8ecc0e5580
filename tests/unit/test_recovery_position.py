"""Recovery's check for aborted transactions takes a changelog's position only once it
has held still with nothing applied (streamproc/faust_fixes.py, on stand-ins)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.types import TP

from streamproc import faust_fixes


class _Thread:
    def __init__(self) -> None:
        self.position_now: int | None = 0

    async def position(self, tp: str) -> int | None:
        return self.position_now


def test_recovery_takes_a_position_only_once_it_held_still_with_nothing_applied() -> None:
    recovery = SimpleNamespace(active_offsets={})
    consumer = SimpleNamespace(
        _thread=_Thread(),
        _positions_seen={},
        transport=SimpleNamespace(app=SimpleNamespace(tables=SimpleNamespace(recovery=recovery))),
    )

    def check() -> int:
        return asyncio.run(faust_fixes._settled_position(consumer, "customers-changelog-0"))

    # the thread fetched up to the highwater (100); recovery has applied up to 49
    consumer._thread.position_now = 100
    recovery.active_offsets["customers-changelog-0"] = 49
    assert check() == -1  # first sight: not yet
    recovery.active_offsets["customers-changelog-0"] = 98  # the fetched records arrive
    assert check() == -1  # something was applied since: not yet
    assert check() == 100  # held still, nothing applied: the rest are markers
    consumer._thread.position_now = 101
    assert check() == -1  # it moved again
    consumer._thread.position_now = None  # no position yet (faust compared None: TypeError)
    assert check() == -1 and check() == -1


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
    thread = _Thread()
    app = SimpleNamespace(
        in_transaction=True,
        consumer_generation_id=3,
        tables=SimpleNamespace(recovery=recovery),
        consumer=SimpleNamespace(_thread=thread),
    )

    def check() -> None:
        asyncio.run(faust_fixes.settle_recovered_changelogs(app))

    thread.position_now = 101  # fetched past the commit marker at 100 ...
    check()
    assert recovery.active_offsets == {done: 98, behind: 200}  # ... first sight: not yet
    check()  # held still, nothing applied (the same position serves both here)
    assert recovery.active_offsets[done] == 100  # the rest were markers: recovered
    assert recovery.active_offsets[behind] == 200  # its position is short of 500

    recovery.active_offsets[done] = 98  # a rebalance restarted the recovery
    app.consumer_generation_id = 4
    check()
    assert recovery.active_offsets[done] == 98  # not what the last generation saw

    recovery.in_recovery = False  # the recovery ended: the next one starts afresh
    check()
    assert faust_fixes._recovery_seen == {}
