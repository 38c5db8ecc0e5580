"""Keyed round trips through the real broker with both Python clients."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer

pytestmark = pytest.mark.integration


def test_kafka_python_keyed_round_trip(stack, topic):
    records = {f"k{i}".encode(): uuid.uuid4().bytes for i in range(200)}
    producer = KafkaProducer(
        bootstrap_servers=stack.kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    for key, value in records.items():
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=stack.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    got = {}
    partitions_of = {}
    for msg in consumer:
        got[msg.key] = msg.value
        partitions_of.setdefault(msg.key, set()).add(msg.partition)
        if len(got) == len(records):
            break
    consumer.close()
    assert got == records
    assert len({p for ps in partitions_of.values() for p in ps}) > 1  # keys spread out


def test_aiokafka_keyed_round_trip(stack, topic):
    async def run():
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.kafka_bootstrap_servers, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            sent = [
                await producer.send_and_wait(topic, key=b"order-7", value=b"%d" % i)
                for i in range(50)
            ]
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=stack.kafka_bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got = []
        try:
            while len(got) < 50:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 20)
                for msgs in batch.values():
                    got.extend(msgs)
        finally:
            await consumer.stop()
        return sent, got

    sent, got = asyncio.run(run())
    # one key -> one partition, order kept
    assert {m.partition for m in sent} == {got[0].partition}
    assert [m.value for m in got] == [b"%d" % i for i in range(50)]
    assert all(m.key == b"order-7" for m in got)
