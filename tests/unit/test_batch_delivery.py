"""Batch delivery: a fetch's records reach their agent as one event per partition run."""

from __future__ import annotations

import asyncio
from functools import partial
from types import SimpleNamespace

import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition
from faust.transport import consumer as faust_consumer
from faust.types import TP
from mode.utils.queues import FlowControlEvent, FlowControlQueue, ThrowableQueue

from streamproc import faust_fixes
from streamproc.runtime import Record, unbatch


class _Message:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset
        self.tp = TopicPartition(topic, partition)  # aiokafka's, as faust's messages have
        self.refcount = 0

    def incref(self, n: int = 1) -> None:
        self.refcount += n


class _Channel:
    def __init__(self) -> None:
        self.queue = FlowControlQueue(maxsize=65_536, flow_control=FlowControlEvent())


def _consumer(tp_index: dict) -> SimpleNamespace:
    delivered: list = []

    async def callback(message: _Message) -> None:
        delivered.append(message)

    flow = FlowControlEvent()
    flow.resume()
    app = SimpleNamespace(
        flow_control=flow,
        topics=SimpleNamespace(_tp_index=tp_index),
        create_event=lambda key, value, headers, message: SimpleNamespace(
            key=key, value=value, message=message
        ),
    )
    paused: list = []
    active: set = set(tp_index)
    buffered: set = set()

    def on_buffer_full(tp: TP) -> None:  # faust's, out of recovery
        paused.append(("full", tp))
        active.discard(tp)
        buffered.add(tp)

    consumer = SimpleNamespace(
        callback=callback,
        _commit_every=None,
        _n_acked=0,
        _batch_drop_callbacks={},
        _buffered_partitions=buffered,
        _paused_partitions=set(),
        _get_active_partitions=lambda: active,
        app=app,
        delivered=delivered,
        paused=paused,
        on_buffer_full=on_buffer_full,
    )
    faust_fixes.apply()  # the worker's consumer calls faust's on_buffer_drop as apply() left it
    consumer.on_buffer_drop = partial(faust_consumer.Consumer.on_buffer_drop, consumer)
    return consumer


@pytest.fixture
def batched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faust_fixes, "_batched", frozenset({"orders"}))
    monkeypatch.setattr(faust_fixes, "_chunk", 3)


def test_runs_of_a_partition_become_batch_events_in_offset_order(batched) -> None:
    channel = _Channel()
    queue = channel.queue
    index = {TP("orders", 0): {channel}, TP("orders", 1): {channel}}
    consumer = _consumer(index)
    records = [_Message("orders", p, o) for o in range(4) for p in (0, 1)]  # interleaved
    records.append(_Message("ticks", 0, 7))
    asyncio.run(faust_fixes._deliver(consumer, records))
    events = [queue.get_nowait() for _ in range(queue.qsize())]
    got = [[(m.partition, m.offset) for m in e.value.records] for e in events]
    assert got == [
        [(0, 0), (0, 1), (0, 2)],
        [(0, 3)],
        [(1, 0), (1, 1), (1, 2)],
        [(1, 3)],
    ]
    # the event's message is the batch's last record, referenced once for the stream
    assert [(e.message.offset, e.message.refcount) for e in events] == [(2, 1), (3, 1)] * 2
    assert [(m.topic, m.offset) for m in consumer.delivered] == [("ticks", 7)]


def test_a_partition_not_read_by_exactly_one_channel_goes_record_by_record(batched) -> None:
    a, b = _Channel(), _Channel()
    consumer = _consumer({TP("orders", 0): {a, b}})
    records = [_Message("orders", 0, o) for o in range(4)]
    asyncio.run(faust_fixes._deliver(consumer, records))
    assert consumer.delivered == records
    assert a.queue.empty() and b.queue.empty()


def test_unbatch_gives_the_records_of_batches_and_single_events() -> None:
    batch = [_Message("orders", 0, o) for o in range(3)]
    single = SimpleNamespace(value=b"{}", message=_Message("orders", 1, 9))
    events = [SimpleNamespace(value=faust_fixes.Batch(batch), message=batch[-1]), single]
    records = unbatch(events)
    assert [r.message for r in records[:3]] == batch
    assert all(isinstance(r, Record) for r in records[:3])
    assert records[3] is single


def test_a_partition_whose_agent_is_behind_pauses_until_it_takes_a_batch(
    batched, monkeypatch
) -> None:
    monkeypatch.setattr(faust_fixes, "MAX_QUEUED_BATCHES", 2)
    channel = _Channel()
    tp = TP("orders", 0)
    consumer = _consumer({tp: {channel}})
    asyncio.run(faust_fixes._deliver(consumer, [_Message("orders", 0, o) for o in range(3)]))
    assert consumer.paused == []  # one batch queued
    asyncio.run(faust_fixes._deliver(consumer, [_Message("orders", 0, o) for o in range(3, 9)]))
    assert consumer.paused == [("full", tp)]  # three queued: no more fetching of tp
    asyncio.run(faust_fixes._deliver(consumer, [_Message("orders", 0, 9)]))
    assert consumer.paused == [("full", tp)]  # paused once, and nothing was dropped
    assert channel.queue.qsize() == 4

    async def take() -> None:
        await channel.queue.get()

    assert tp not in consumer._get_active_partitions()
    asyncio.run(take())
    assert tp in consumer._get_active_partitions()
    assert consumer._buffered_partitions == set()
    assert all(type(t) is TP for _, t in consumer.paused)  # faust's fetcher asserts it


def test_a_rebalance_clearing_the_queue_under_a_waiting_agent_resumes_the_partition(
    batched, monkeypatch
) -> None:
    """The hang of a two-worker drain: the agent waited on an empty queue, batches came
    and paused the partition, a rebalance cleared them before the agent woke, and the
    agent went back to waiting with the partition never fetched again."""
    monkeypatch.setattr(faust_fixes, "MAX_QUEUED_BATCHES", 2)
    faust_fixes.apply()  # installs the queue's clear
    flow = FlowControlEvent()
    flow.resume()
    channel = _Channel()  # an agent's queue, as faust makes it
    channel.queue = ThrowableQueue(maxsize=65_536, flow_control=flow, clear_on_resume=True)
    tp = TP("orders", 0)
    consumer = _consumer({tp: {channel}})
    consumer.app.flow_control = flow

    async def main() -> None:
        agent = asyncio.create_task(channel.queue.get())
        await asyncio.sleep(0)  # the agent waits on the empty queue
        await faust_fixes._deliver(consumer, [_Message("orders", 0, o) for o in range(9)])
        assert tp not in consumer._get_active_partitions()  # three batches: paused
        flow.suspend()
        flow.clear()  # faust's revoke, before the agent ran
        await asyncio.sleep(0.01)
        assert not agent.done()  # waiting again, the queue empty
        assert tp in consumer._get_active_partitions()  # and tp fetched again
        agent.cancel()

    asyncio.run(main())


def test_a_partition_paused_by_a_rebalance_stays_paused_when_its_queue_drains() -> None:
    tp = TP("orders", 0)
    consumer = _consumer({})
    consumer._buffered_partitions.add(tp)
    consumer._paused_partitions.add(tp)
    consumer.on_buffer_drop(tp)
    assert consumer._buffered_partitions == set()
    assert tp not in consumer._get_active_partitions()  # its resume makes it active


def test_the_worker_consumer_waits_at_most_fetch_max_wait_at_the_broker(monkeypatch) -> None:
    """faust asks aiokafka for 1,500 ms; one fetch in flight then held orders that long."""
    made = SimpleNamespace(_fetch_max_wait_ms=1500)
    monkeypatch.setattr(faust_fixes, "_original_create_worker_consumer", lambda self, t: made)
    faust_fixes.apply()  # installs the fix on faust's consumer thread
    thread = faust_fixes._driver.AIOKafkaConsumerThread
    assert thread._create_worker_consumer(None, None) is made
    assert made._fetch_max_wait_ms == faust_fixes.FETCH_MAX_WAIT_MS == 100


def _record(topic: str, partition: int, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"v", None, 1, 1, ())


def _to_message(tp, record) -> _Message:
    """faust's _to_message: the message it makes keeps ``tp``, which must be aiokafka's
    (aiokafka's transactional commit refuses any other key)."""
    assert type(tp) is TopicPartition
    return _Message(record.topic, record.partition, record.offset)


def _faust(tp, record) -> tuple:
    return ("faust", record.topic, record.partition, record.offset)


def test_a_batched_partition_keeps_aiokafka_records_but_each_batch_ends_with_faust_s(
    batched,
) -> None:
    """Only the records a batch event carries as its message (every 3rd, the last) convert."""
    for n, ends in ((7, [2, 5, 6]), (6, [2, 5])):
        channel = _Channel()
        consumer = _consumer({TP("orders", 0): {channel}})
        consumer._to_message = _to_message
        fetched = [_record("orders", 0, o) for o in range(n)]
        records = faust_fixes._faust_messages(_faust, TopicPartition("orders", 0), fetched)
        assert records == fetched  # as fetched: nothing converted yet
        asyncio.run(faust_fixes._deliver(consumer, records))
        events = [channel.queue.get_nowait() for _ in range(channel.queue.qsize())]
        delivered = [m for e in events for m in e.value.records]
        assert [m.offset for m in delivered] == list(range(n))
        assert [i for i, m in enumerate(delivered) if type(m) is _Message] == ends
        assert [(e.message.offset, e.message.refcount) for e in events] == [(i, 1) for i in ends]


def test_a_topic_not_batched_gets_faust_messages_only(batched) -> None:
    tp = TopicPartition("ticks", 1)
    got = faust_fixes._faust_messages(_faust, tp, [_record("ticks", 1, o) for o in range(4)])
    assert got == [("faust", "ticks", 1, o) for o in range(4)]


def test_fetched_records_of_a_partition_read_by_two_channels_become_faust_messages(
    batched,
) -> None:
    a, b = _Channel(), _Channel()
    consumer = _consumer({TP("orders", 0): {a, b}})
    consumer._to_message = _to_message
    records = [_record("orders", 0, 0), _Message("orders", 0, 1)]
    asyncio.run(faust_fixes._deliver(consumer, records))
    assert [(type(m), m.offset) for m in consumer.delivered] == [(_Message, 0), (_Message, 1)]
