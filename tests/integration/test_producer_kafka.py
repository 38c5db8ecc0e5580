"""The producer against the real local broker, on topics made unique per test."""

from collections import Counter, defaultdict
from datetime import date

import orjson
import pytest
from click.testing import CliRunner
from kafka import KafkaConsumer, TopicPartition

from streamproc import generator, kafka_admin, producer, producer_cli
from streamproc.producer import Topics, directory_feed, live_feed

pytestmark = pytest.mark.integration


@pytest.fixture
def topics(settings, unique):
    """Four fresh topics (customers, products, orders, stock-updates), deleted after."""
    made = Topics.prefixed(f"test-{unique}-")
    names = [made.customers, made.products, made.orders, made.stock_updates]
    kafka_admin.ensure_topics(settings, tuple(names))
    yield made
    kafka_admin.delete_topics(settings, names)


def consume_all(settings, topic):
    """Return every record of ``topic``, read up to the end offsets taken now."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        **settings.kafka_client_options(),
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records = []
        for _ in range(600):
            if all(consumer.position(tp) >= end[tp] for tp in partitions):
                break
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        assert len(records) == sum(end.values())
        return records
    finally:
        consumer.close()


def test_every_record_arrives_once_with_key_and_value_intact(settings, topics, tmp_path):
    manifest = generator.generate(
        21, 300, 80, 5_000, tmp_path, "jsonl", dirty_rate=0.05,
        start=date(2024, 5, 1), end=date(2024, 5, 31), progress=False,
    )  # fmt: skip
    expected = directory_feed(tmp_path)
    sent = {
        topics.customers: list(expected.customers),
        topics.products: list(expected.products),
        topics.orders: list(expected.orders),
    }
    kafka = producer.make_producer(settings)
    try:
        delivery = producer.produce(
            kafka, directory_feed(tmp_path), topics, rate=0, stock_interval=0
        )
    finally:
        kafka.close(timeout=10)
    assert delivery.unacknowledged == 0 and delivery.failed == 0
    assert delivery.sent[topics.orders] == manifest["counts"]["orders"] == 5_000

    for topic, messages in sent.items():
        got = consume_all(settings, topic)
        assert len(got) == len(messages), topic
        assert Counter((r.key, r.value) for r in got) == Counter(messages), topic
    garbage = [r for r in consume_all(settings, topics.orders) if b"\xff\xfe" in r.value]
    assert len(garbage) == manifest["dirt"]["orders"]["non_utf8"] > 0


def test_duplicate_order_ids_land_in_the_same_partition(settings, topics):
    feed = live_feed(8, 50, 30, first_order_id=1)
    orders = feed.orders
    feed.orders = (message for message in orders for _ in range(2))  # every order twice
    kafka = producer.make_producer(settings)
    try:
        delivery = producer.produce(kafka, feed, topics, rate=0, max_orders=4_000,
                                    stock_interval=0)  # fmt: skip
    finally:
        kafka.close(timeout=10)
    assert delivery.unacknowledged == 0
    partitions = defaultdict(set)
    for record in consume_all(settings, topics.orders):
        partitions[orjson.loads(record.value)["order_id"]].add(record.partition)
    assert len(partitions) == 2_000
    assert all(len(p) == 1 for p in partitions.values())  # orders are keyed by customer
    assert len(set().union(*partitions.values())) == settings.topic_partitions  # spread out


def test_stock_update_batches_keep_their_interval(settings, topics):
    kafka = producer.make_producer(settings)
    try:
        delivery = producer.produce(
            kafka, live_feed(9, 50, 250), topics, rate=200, duration=4.0, stock_interval=1.5
        )
    finally:
        kafka.close(timeout=10)
    assert delivery.unacknowledged == 0
    assert delivery.sent[topics.orders] == pytest.approx(200 * 4.0, rel=0.1)

    stamps = sorted(r.timestamp for r in consume_all(settings, topics.stock_updates))
    batches = [[stamps[0]]]
    for ms in stamps[1:]:
        if ms - batches[-1][-1] > 500:
            batches.append([])
        batches[-1].append(ms)
    assert [len(b) for b in batches] == [5, 5, 5]  # 2% of 250 products, at 0, 1.5 and 3 s
    starts = [b[0] for b in batches]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(1_350 <= gap <= 1_650 for gap in gaps), gaps
    assert all(b[-1] - b[0] < 200 for b in batches)  # a batch goes out at once


def test_command_replays_a_parquet_directory(settings, topics, tmp_path):
    manifest = generator.generate(
        22, 100, 40, 2_000, tmp_path, "parquet",
        start=date(2024, 1, 1), end=date(2024, 1, 10), progress=False,
    )  # fmt: skip
    prefix = topics.orders.removesuffix("orders")
    result = CliRunner().invoke(
        producer_cli.produce,
        ["--from", str(tmp_path), "--rate", "0", "--stock-interval", "0.2",
         "--topic-prefix", prefix],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{prefix}orders 2,000" in result.output
    assert len(consume_all(settings, topics.orders)) == manifest["counts"]["orders"]
    assert len(consume_all(settings, topics.customers)) == 100
