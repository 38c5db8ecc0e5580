"""Recovery's check for aborted transactions takes a changelog's position only once it
has held still with nothing applied (streamproc/faust_fixes.py, on stand-ins)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

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
