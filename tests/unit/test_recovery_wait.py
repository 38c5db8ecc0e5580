"""faust's recovery loop takes a queued changelog event without a pass of the event
loop, and still times out on an empty queue (streamproc/faust_fixes.py)."""

from __future__ import annotations

import asyncio

import pytest
from mode.utils.queues import FlowControlEvent, ThrowableQueue

from streamproc import faust_fixes

wait_for = faust_fixes._RecoveryAsyncio.wait_for


def changelog_queue() -> ThrowableQueue:
    flow = FlowControlEvent()
    flow.resume()
    return ThrowableQueue(maxsize=100, flow_control=flow)


@pytest.mark.parametrize(("wait", "passes"), [(asyncio.wait_for, True), (wait_for, False)])
def test_a_queued_event_is_taken_without_a_loop_pass(wait, passes) -> None:
    async def run() -> tuple[str, bool]:
        queue = changelog_queue()
        await queue.put("event")
        ran = []
        asyncio.get_running_loop().call_soon(ran.append, True)
        return await wait(queue.get(), 5.0), bool(ran)

    assert asyncio.run(run()) == ("event", passes)


def test_an_empty_queue_still_times_out() -> None:
    async def run() -> None:
        await wait_for(changelog_queue().get(), 0.05)

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(run())


def test_the_fix_replaces_the_recovery_module_s_asyncio() -> None:
    from faust.tables import recovery

    faust_fixes.apply()
    assert recovery.asyncio.wait_for is wait_for
    assert recovery.asyncio.sleep is asyncio.sleep  # everything else is asyncio's
