"""Where a task waits, through coroutines and async generators (streamproc.diagnostics)."""

from __future__ import annotations

import asyncio
import logging

from streamproc import diagnostics


async def _innermost(gate: asyncio.Event) -> None:
    await gate.wait()


async def _batches(gate: asyncio.Event):  # noqa: ANN202 - an async generator
    while True:
        await _innermost(gate)
        yield 1


async def _agent(gate: asyncio.Event) -> None:
    async for _ in _batches(gate):
        pass


def test_chain_goes_through_an_async_generator_to_the_future() -> None:
    async def main() -> list[str]:
        gate = asyncio.Event()
        task = asyncio.create_task(_agent(gate), name="agent")
        await asyncio.sleep(0.01)
        chain = diagnostics.await_chain(task.get_coro())
        task.cancel()
        return chain

    chain = asyncio.run(main())
    functions = [line.rsplit(" in ", 1)[-1] for line in chain[:-1]]
    # mode's dump stops at the agent's ``async for``; this one reaches the Event
    assert functions[:3] == ["_agent", "_batches", "_innermost"]
    assert functions[-1] == "Event.wait"
    assert chain[-1].startswith("awaits <Future pending")


def test_a_finished_coroutine_has_no_chain() -> None:
    async def done() -> int:
        return 1

    coro = done()
    try:
        coro.send(None)
    except StopIteration:
        pass
    assert diagnostics.await_chain(coro) == []


def test_dump_tasks_logs_each_task(caplog) -> None:  # noqa: ANN001 - pytest fixture
    async def main() -> int:
        gate = asyncio.Event()
        task = asyncio.create_task(_agent(gate), name="agent-x")
        await asyncio.sleep(0.01)
        with caplog.at_level(logging.WARNING, logger="streamproc.diagnostics"):
            count = diagnostics.dump_tasks()
        task.cancel()
        return count

    assert asyncio.run(main()) == 2  # main and agent-x
    text = caplog.text
    assert "task agent-x:" in text and "in _innermost" in text
