"""The stream processor on the real stack: every web view equals pandas over the same
generated files; HBase holds every valid order once; dead letters carry the reasons;
SIGKILLed twice mid-stream, the totals are still exact."""

from __future__ import annotations

import math
import random

import pytest

from streamproc.generator import generate
from streamproc.supervise import kill_worker, start_worker, stop_worker, wait_ready
from tests.integration import stream_harness as h

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """~50,000 orders with 1% dirt of every kind, plus 50 resent (duplicate) orders."""
    data = tmp_path_factory.mktemp("shop")
    manifest = generate(
        11, 5_000, 1_000, 50_000, data, fmt="jsonl", dirty_rate=0.01, progress=False
    )
    counted = h.order_verdicts(data, [])[3]
    duplicates = random.Random(5).sample(counted[:40_000], 50)  # resent counted orders
    return data, manifest, duplicates


def _records(data, duplicates):
    recs = [("customers", r) for r in h.lines(data, "customers")]
    recs += [("products", r) for r in h.lines(data, "products")]
    recs += [("stock-updates", r) for r in h.lines(data, "stock-updates")]
    recs += [("orders", r) for r in h.lines(data, "orders")]
    recs += [("orders", r) for r in duplicates]
    return recs


def test_views_hbase_and_dead_letters_match_pandas(stack, shop, unique, tmp_path):
    data, manifest, duplicates = shop
    # the orders burst in right behind their customers: under load a customer may be
    # applied seconds after its order was parked; 30 s is the wait a reference gets
    settings = h.isolated(stack, unique, park_timeout=30.0)
    h.create(settings)
    proc = start_worker(settings, tmp_path / "worker.log")
    try:
        wait_ready(settings, proc)
        h.produce(settings, _records(data, duplicates))
        want = h.expected_views(data, duplicates)
        h.wait_for(settings, want["revenue"]["orders"], want["revenue"]["rejected"])
        assert want["revenue"]["orders"] > 40_000
        h.assert_views_match(h.actual_views(settings), want)

        assert h.hbase_row_count(settings, "orders") == want["revenue"]["orders"]
        assert h.hbase_row_count(settings, "customers") == len(h.valid_customers(data))

        rejected_customers = sum(manifest["dirt"]["customers"].values())
        rejected_products = sum(manifest["dirt"]["products"].values())
        letters = h.dead_letters(
            settings, want["revenue"]["rejected"] + rejected_customers + rejected_products
        )
        orders_topic = settings.topic("orders")
        reasons = h.reason_counts(letters, orders_topic)
        assert reasons == {
            **manifest["dirt"]["orders"],
            "duplicate_order_id": 50,
            **want["unknown"],
        }
        assert (
            h.reason_counts(letters, settings.topic("customers")) == manifest["dirt"]["customers"]
        )
        assert h.reason_counts(letters, settings.topic("products")) == manifest["dirt"]["products"]
        # each dead letter carries the original bytes and where they came from, once
        coords = [(d["dlq.topic"], d["dlq.partition"], d["dlq.offset"]) for d in letters]
        assert len(coords) == len(set(coords))
        sent_orders = set(h.lines(data, "orders"))
        assert all(d["value"] in sent_orders for d in letters if d["dlq.topic"] == orders_topic)
    finally:
        stop_worker(proc)
        h.destroy(settings)


@pytest.mark.slow
@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_sigkill_twice_mid_stream_keeps_totals_exact(stack, shop, unique, tmp_path, store):
    data, _manifest, duplicates = shop
    settings = h.isolated(stack, unique, park_timeout=30.0, web_port=6167, faust_store=store)
    h.create(settings)
    h.produce(settings, _records(data, duplicates))  # all in the topics before the worker
    want = h.expected_views(data, duplicates)
    total = want["revenue"]["orders"]
    log = tmp_path / "worker.log"
    proc = start_worker(settings, log, loglevel="info")
    kills = []
    try:
        for fraction in (0.3, 0.65):
            wait_ready(settings, proc, timeout=120)
            counted = h.wait_counted(settings, proc, math.ceil(fraction * total), log)
            kill_worker(proc)  # SIGKILL: no shutdown, no final commit
            kills.append(counted)
            proc = start_worker(settings, log, loglevel="info")
        wait_ready(settings, proc, timeout=120)
        try:
            h.wait_for(settings, total, want["revenue"]["rejected"])
        except AssertionError:
            h.dump_task_stacks(proc, seconds=3)
            lines = log.read_text().splitlines()
            notable = [ln for ln in lines if "seeking" in ln or "ERROR" in ln]
            print("\n".join(notable[-40:]))
            raise
        got = h.actual_views(settings)
        assert got["revenue"] == want["revenue"]
        for dim, figures in want["sales"].items():
            assert got["sales"][dim] == figures, dim
        assert got["top_customers"] == want["top_customers"]
        assert h.hbase_row_count(settings, "orders") == total
        assert len(kills) == 2 and all(0 < k < total for k in kills)
    finally:
        stop_worker(proc)
        h.destroy(settings)
