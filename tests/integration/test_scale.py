"""Two workers in one consumer group: they share the partitions, every web view on
either worker answers for all partitions (requests fan out to the other), and when
one is SIGKILLed the other takes its partitions over with the totals still exact."""

from __future__ import annotations

import shutil

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streamproc.generator import generate
from streamproc.supervise import get_json, kill_worker, start_worker, stop_worker, wait_ready
from streamproc.topic_names import INPUTS
from tests.integration import stream_harness as h

pytestmark = pytest.mark.integration


def _split(data, first, second):
    """Copies of the shop with the orders of the first and of the second half of its
    days (customers, products and stock updates in the first)."""
    days = sorted((data / "orders").glob("date=*"))
    for out, part in ((first, days[: len(days) // 2]), (second, days[len(days) // 2 :])):
        out.mkdir()
        for day in part:
            shutil.copytree(day, out / "orders" / day.name)
    for name in ("customers", "products", "stock-updates"):
        shutil.copy(data / f"{name}.jsonl", first / f"{name}.jsonl")
    return first, second


def _records(data):
    recs = [("customers", r) for r in h.lines(data, "customers")]
    recs += [("products", r) for r in h.lines(data, "products")]
    recs += [("stock-updates", r) for r in h.lines(data, "stock-updates")]
    return recs


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_two_workers_share_route_and_take_over(stack, unique, tmp_path, store):
    data = tmp_path / "shop"
    generate(21, 2_000, 300, 20_000, data, fmt="jsonl", dirty_rate=0.01, progress=False)
    first, second = _split(data, tmp_path / "first", tmp_path / "second")
    a = h.isolated(stack, unique, park_timeout=30.0, web_port=6171, faust_store=store)
    b = a.model_copy(update={"web_port": 6172})
    h.create(a)
    wa = start_worker(a, tmp_path / "a.log")
    wb = start_worker(b, tmp_path / "b.log")
    try:
        wait_ready(a, wa, timeout=120)
        wait_ready(b, wb, timeout=120)
        # phase 1: both workers up; each view on either equals pandas over all partitions
        h.produce(a, _records(first) + [("orders", r) for r in h.lines(first, "orders")])
        want = h.expected_views(first, [])
        h.wait_for(a, want["revenue"]["orders"], want["revenue"]["rejected"])
        health_a, health_b = get_json(a, "/api/health"), get_json(b, "/api/health")
        assert health_a["peers"] == ["http://127.0.0.1:6172"]
        assert health_b["peers"] == ["http://127.0.0.1:6171"]
        assert 0 < health_a["records"] and 0 < health_b["records"]  # both took partitions
        # each worker knows every product, the other's partitions' too
        products = len(h.valid_products(first))
        assert health_a["products_known"] == health_b["products_known"] == products
        assert health_a["products_followed"] > 0 and health_b["products_followed"] > 0
        h.assert_views_match(h.actual_views(a), want)
        h.assert_views_match(h.actual_views(b), want)

        # phase 2: B dies; A takes its partitions over and counts the rest exactly once
        kill_worker(wb)
        h.produce(a, [("orders", r) for r in h.lines(second, "orders")])
        want = h.expected_views(data, [])
        h.wait_for(a, want["revenue"]["orders"], want["revenue"]["rejected"], timeout=300)
        assert get_json(a, "/api/health")["peers"] == []
        h.assert_views_match(h.actual_views(a), want)
        assert h.hbase_row_count(a, "orders") == want["revenue"]["orders"]
    finally:
        stop_worker(wa)
        kill_worker(wb)
        h.destroy(a)


def _offsets(settings):
    """Each input partition holding records: its end offset, and the group's commit on it."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in (settings.topic(name) for name in INPUTS)
            for p in consumer.partitions_for_topic(topic)
        ]
        ends = {tp: n for tp, n in consumer.end_offsets(tps).items() if n}
        committed = admin.list_group_offsets({settings.app_id: tps})[settings.app_id]
        committed = {tp: c.offset for tp, c in committed.items() if tp in ends and c.offset >= 0}
        return ends, committed
    finally:
        consumer.close()
        admin.close()


def test_a_worker_losing_partitions_commits_what_it_applied_first(stack, unique, tmp_path):
    """At a rebalance a worker commits its open transactions before it gives up its
    partitions, commit interval or not: an open transaction holds back every other
    worker's read of the products changelog (read_committed), and so their recovery."""
    data = tmp_path / "shop"
    generate(23, 300, 60, 3_000, data, fmt="jsonl", dirty_rate=0.01, progress=False)
    a = h.isolated(stack, unique, park_timeout=30.0, web_port=6171, commit_interval=600.0)
    b = a.model_copy(update={"web_port": 6172})
    h.create(a)
    wa = start_worker(a, tmp_path / "a.log")
    wb = None
    try:
        wait_ready(a, wa, timeout=120)
        h.produce(a, _records(data) + [("orders", r) for r in h.lines(data, "orders")])
        want = h.expected_views(data, [])
        h.wait_for(a, want["revenue"]["orders"], want["revenue"]["rejected"])
        ends, committed = _offsets(a)
        assert committed == {}  # the next periodic commit is 10 minutes away
        wb = start_worker(b, tmp_path / "b.log")
        wait_ready(b, wb, timeout=120)  # the rebalance is over
        ends_after, committed = _offsets(a)
        assert ends_after == ends and committed == ends
        h.assert_views_match(h.actual_views(b), want)
    finally:
        stop_worker(wa)
        if wb is not None:
            stop_worker(wb)
        h.destroy(a)
