"""The HBase sink's write-behind queue: back-pressure while HBase keeps up, buffering
(bounded) while it is down or stalled, nothing lost or reordered once it is back.
HBase itself is replaced by a recorder (the real one is in the integration tests)."""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections import Counter

import pytest

from streamproc.settings import Settings
from streamproc.sinks.hbase import HBaseSink, id_of, row_key


class FakeHBase:
    """Stands in for ``HBaseSink._write``: records rows; fails or blocks on demand."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.up = threading.Event()
        self.up.set()
        self.failing = False

    def __call__(self, rows) -> None:
        if self.failing and not self.up.is_set():
            raise OSError("connection refused")
        self.up.wait()  # not failing: a stalled server
        for puts in rows.values():
            self.written.extend(puts)


def sink_with(fake: FakeHBase, max_pending_rows: int = 1_000, lanes: int = 1, **kw) -> HBaseSink:
    """A sink writing to ``fake``; one lane unless told, so that every row is in order."""
    settings = Settings(hbase_max_pending_rows=max_pending_rows)
    sink = HBaseSink(settings, max_delay=0.01, lanes=lanes, **kw)
    sink._write = fake
    sink._close = lambda: None
    return sink


async def hand_over(sink: HBaseSink, start: int, n: int) -> None:
    for i in range(start, start + n):
        sink.add("orders", b"%06d" % i, {b"info:order_id": b"%d" % i})
        await sink.write_behind()


async def blocks(coro, wait: float = 0.3) -> asyncio.Future | None:
    """Return the task of ``coro`` if it is still waiting after ``wait`` seconds."""
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=wait)
    if done:
        task.result()
        return None
    return task


def test_a_slow_hbase_holds_the_agents_back_after_four_batches():
    async def run():
        fake = FakeHBase()
        fake.up.clear()  # every write waits, but none fails and none is stalled yet
        sink = sink_with(fake, stall_after=60)
        assert not await blocks(hand_over(sink, 0, 4))  # four batches handed over
        waiting = await blocks(hand_over(sink, 4, 1))  # the fifth waits for the first
        assert waiting
        fake.up.set()
        await waiting
        await sink.drain()
        return fake.written

    assert asyncio.run(run()) == [b"%06d" % i for i in range(5)]


@pytest.mark.parametrize("outage", ["refused", "stalled"])
def test_while_hbase_is_down_the_agents_go_on_up_to_the_row_bound(outage):
    async def run():
        fake = FakeHBase()
        fake.up.clear()
        fake.failing = outage == "refused"
        sink = sink_with(fake, max_pending_rows=50, stall_after=0.05)
        await hand_over(sink, 0, 1)
        await asyncio.sleep(0.1)  # the first write failed (or stalled)
        assert sink.degraded()
        assert not await blocks(hand_over(sink, 1, 49))  # 50 rows held, no waiting
        assert sink.pending() == 50
        waiting = await blocks(hand_over(sink, 50, 5))  # past the bound: back-pressure
        assert waiting
        fake.up.set()
        await waiting
        await sink.drain()
        return fake.written, sink

    written, sink = asyncio.run(run())
    assert written == [b"%06d" % i for i in range(55)]  # each row once, in order
    assert not sink.degraded() and sink.pending() == 0
    assert (sink.retries > 0) == (outage == "refused")


def test_a_drain_waits_for_the_rows_handed_over_before_it_not_for_later_ones():
    """Under a backlog the agents keep four writes in flight; a commit's drain that
    waited for an empty queue never ended, and the worker never committed."""
    handed = [0]

    async def refill(sink: HBaseSink) -> None:  # another agent, handing over row after row
        while True:
            await hand_over(sink, handed[0], 1)
            handed[0] += 1

    async def run():
        fake = FakeHBase()
        sink = sink_with(fake)

        def slow_write(rows):  # HBase taking 10 ms a batch
            time.sleep(0.01)
            fake(rows)

        sink._write = slow_write
        refilling = asyncio.ensure_future(refill(sink))
        await asyncio.sleep(0.1)
        before = handed[0]  # every row handed over when the drain starts
        await asyncio.wait_for(sink.drain(), 5)
        assert not refilling.done()  # the queue never emptied meanwhile
        refilling.cancel()
        return before, list(fake.written)

    before, written = asyncio.run(run())
    assert before > 5
    assert written[:before] == [b"%06d" % i for i in range(before)]  # all written, in order


def test_each_row_keeps_its_lane_so_a_later_put_of_it_lands_last():
    """Two lanes write at once; the puts of one row stay in the order handed over."""
    log: list[tuple[str, bytes, bytes]] = []

    def write(rows):
        time.sleep(0.001)  # let the other lane run meanwhile
        for puts in rows.values():
            for row, data in puts.items():
                log.append((threading.current_thread().name, row, data[b"info:v"]))

    async def run():
        sink = sink_with(FakeHBase(), lanes=2)
        sink._write = write
        for version in range(20):
            for i in range(50):
                sink.add("products", b"%06d" % i, {b"info:v": b"%d" % version})
            await sink.write_behind()
        await sink.drain()

    asyncio.run(run())
    assert len(log) == 20 * 50
    lanes = {row: {name for name, r, _ in log if r == row} for _, row, _ in log}
    assert all(len(names) == 1 for names in lanes.values())  # a row keeps its lane
    assert len({name for names in lanes.values() for name in names}) == 2  # both used
    for i in range(50):
        versions = [v for _, row, v in log if row == b"%06d" % i]
        assert versions == [b"%d" % v for v in range(20)]  # in the order handed over


@pytest.mark.parametrize("entity_id", [1, 9, 42, 123_456, 10**11 + 7, 999_999_999_999, 10**13])
def test_row_keys_are_the_salt_of_the_decimal_id_then_the_id_padded_to_twelve(entity_id):
    digits = str(entity_id)
    salt = zlib.crc32(digits.encode()) % 16
    assert row_key(entity_id) == f"{salt:02x}|{digits:>012}".encode()
    assert id_of(row_key(entity_id)) == entity_id


def test_row_keys_spread_over_every_salt_bucket():
    salts = Counter(row_key(i)[:2] for i in range(1, 16_001))
    assert len(salts) == 16
    assert max(salts.values()) < 1.2 * min(salts.values())


def test_a_commit_drain_gives_up_once_hbase_stalls_and_the_writes_go_on():
    async def run():
        fake = FakeHBase()
        sink = sink_with(fake, stall_after=0.05)
        await hand_over(sink, 0, 3)
        assert await sink.drain(give_up=True)  # HBase up: every row written
        fake.up.clear()  # HBase stalls
        await hand_over(sink, 3, 2)
        started = time.monotonic()
        assert not await asyncio.wait_for(sink.drain(give_up=True), 5)
        gave_up_after = time.monotonic() - started
        assert sink.pending() == 2  # still being written, not dropped
        fake.up.set()
        assert await sink.drain()
        return fake.written, gave_up_after

    written, gave_up_after = asyncio.run(run())
    assert written == [b"%06d" % i for i in range(5)]
    assert gave_up_after < 2
