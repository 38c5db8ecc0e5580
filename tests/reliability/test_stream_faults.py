"""A million orders through the real stack with over 10,000 bad records of 37 kinds
(29 on the orders topic) mixed in, while the worker is SIGKILLed five times at random
moments.  One run proves both: the kills lose and double nothing, and no bad record
stops the worker (it is never found exited between the kills, and its log holds no
traceback).  The expected figures come from pandas over the generated files
(``stream_harness``); each crafted bad record carries the reason code the validator
documents for it, written here as a literal."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from streamproc.generator import generate
from streamproc.supervise import get_json, kill_worker, start_worker, stop_worker, wait_ready
from tests.integration import stream_harness as h
from tests.reliability.figures import record

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]

ORDERS = 1_000_000
SEED = 20261128
KILLS = 5


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """1,000,000 orders, 0.4% of every file dirty with each generator dirt kind."""
    data = tmp_path_factory.mktemp("million")
    manifest = generate(SEED, 20_000, 2_000, ORDERS, data, dirty_rate=0.004, progress=False)
    return data, manifest


# --- bad records ----------------------------------------------------------------------


def _order(base: dict, **changes) -> bytes:
    obj = {**base, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...}).encode()


#: reason code -> how to spoil a good order (``o``, its dict; ``i``, a counter)
CRAFTED = {
    "zero_quantity": lambda o, i: _order(o, quantity=0),
    "invalid_payment_method": lambda o, i: _order(o, payment_method=6 + i % 90),
    "future_date": lambda o, i: _order(o, transaction_date="2999-01-01T00:00:00Z"),
    "past_date": lambda o, i: _order(o, transaction_date="1970-01-01T00:00:00Z"),
    "invalid_date": lambda o, i: _order(o, transaction_date="2025-02-30T10:00:00Z"),
    "not_utc": lambda o, i: _order(o, transaction_date="2025-03-04T12:34:56+02:00"),
    "oversized:order_id": lambda o, i: _order(o, order_id=2**63 + i),
    "oversized:message": lambda o, i: _order(o, note="x" * 70_000),
    "empty_message": lambda o, i: b"",
    "not_object": lambda o, i: b"[%d, 2, 3]" % i,
    "invalid_json": lambda o, i: b"{order_id: %d}" % i,
    "wrong_type:order_id": lambda o, i: _order(o, order_id=str(o["order_id"])),
    "wrong_type:total_amount": lambda o, i: _order(o, total_amount=o["total_amount"] / 100),
    "missing_field:customer_id": lambda o, i: _order(o, customer_id=...),
    "invalid_order_id": lambda o, i: _order(o, order_id=-1 - i),
    "invalid_customer_id": lambda o, i: _order(o, customer_id=0),
    # shape-valid orders whose references never arrive: parked, then expired
    "unknown_customer": lambda o, i: _order(o, order_id=10**12 + i, customer_id=10**9 + i),
    "unknown_product": lambda o, i: _order(o, order_id=2 * 10**12 + i, product_id=10**9 + i),
    "non_utf8": lambda o, i: _order(o)[:-1] + b', "name": "\xff\xfe%d"}' % i,
    "truncated_json": lambda o, i: _order(o)[: 10 + i % 50],
}
PER_KIND = 300
DUPLICATES = 300


def _mix(good: list[bytes], bad: list[bytes], rng: random.Random) -> list[bytes]:
    """Return ``good`` in its order with ``bad`` spread over random places."""
    cuts = sorted(rng.randrange(len(good) + 1) for _ in bad)
    out, start = [], 0
    for cut, raw in zip(cuts, bad, strict=True):
        out.extend(good[start:cut])
        out.append(raw)
        start = cut
    out.extend(good[start:])
    return out


def _stock_update_reasons(data, stock: list[bytes]) -> Counter:
    """The dead letters the stock updates should give: their dirt, and the updates of
    products that were rejected (so never known)."""
    known = set(h.valid_products(data)["product_id"])
    out = Counter()
    for raw in stock:
        update = json.loads(raw)
        if update["stock_quantity"] < 0:
            out["negative_stock"] += 1
        elif update["product_id"] not in known:
            out["unknown_product"] += 1
    return out


def test_a_million_orders_with_ten_thousand_bad_records_and_five_sigkills(
    stack, shop, unique, tmp_path
):
    data, manifest = shop
    settings = h.isolated(stack, unique, park_timeout=30.0, web_port=6171)
    h.create(settings)
    started = time.monotonic()
    good = h.lines(data, "orders")
    _, _, _, counted_raws = h.order_verdicts(data, [])
    rng = random.Random(SEED)
    templates = [json.loads(r) for r in rng.sample(counted_raws, PER_KIND)]
    crafted = [
        (reason, spoil(o, i)) for reason, spoil in CRAFTED.items() for i, o in enumerate(templates)
    ]
    stream = _mix(good, [raw for _, raw in crafted], rng)
    duplicates = rng.sample(counted_raws, DUPLICATES)
    stream += duplicates  # after their originals: counted once
    references = [("customers", r) for r in h.lines(data, "customers")]
    references += [("products", r) for r in h.lines(data, "products")]
    stock = h.lines(data, "stock-updates")

    want = h.expected_views(data, duplicates)
    want["revenue"]["rejected"] += len(crafted)
    total = want["revenue"]["orders"]
    generator_dirt = {topic: sum(kinds.values()) for topic, kinds in manifest["dirt"].items()}
    stock_reasons = _stock_update_reasons(data, stock)
    bad_sent = (
        len(crafted)
        + DUPLICATES
        + generator_dirt["customers"]
        + generator_dirt["products"]
        + sum(manifest["dirt"]["orders"].values())
        + sum(stock_reasons.values())
    )
    # and the orders of the generator's dirty customers and products, never known
    expected_letters = bad_sent + sum(want["unknown"].values())
    kinds = {
        *CRAFTED,
        "duplicate_order_id",
        *(f"{topic}:{kind}" for topic, kinds in manifest["dirt"].items() for kind in kinds),
    }
    log = tmp_path / "worker.log"
    proc = start_worker(settings, log, loglevel="info")
    kills, recoveries = [], []
    sender = ThreadPoolExecutor(1)
    try:
        # references first: a stock update of a product not seen yet is dead-lettered
        # at once (it is not parked like an order), so the race is kept out of the count
        wait_ready(settings, proc, timeout=300)
        h.produce(settings, references)
        while get_json(settings, "/api/health")["records"] < len(references):
            assert proc.poll() is None, "the worker exited by itself"
            time.sleep(0.2)
        # sent while the worker is killed: the kills land mid-stream, not in a drain the
        # worker may have finished (it keeps up with this producer, about 11,000/s)
        records = [("stock-updates", r) for r in stock] + [("orders", r) for r in stream]
        sending = sender.submit(h.produce, settings, records)
        for _ in range(KILLS):
            # a random point of what is left to count: fixed points at or below the
            # count a restart restores fired the moment the worker was ready again
            start = get_json(settings, "/api/revenue")["orders"]
            at_least = start + int(rng.uniform(0.05, 0.25) * (total - start))
            counted = h.wait_counted(settings, proc, at_least, log, sending)
            time.sleep(rng.uniform(0, 0.5))  # not always right at a poll
            kill_worker(proc)  # SIGKILL: no shutdown, no final commit
            kills.append(counted)
            t0 = time.monotonic()
            proc = start_worker(settings, log, loglevel="info")
            wait_ready(settings, proc, timeout=900)
            recoveries.append(round(time.monotonic() - t0, 1))
        sending.result(timeout=600)  # raises what the producer raised
        h.wait_for(settings, total, want["revenue"]["rejected"], timeout=900)
        assert proc.poll() is None, "the worker exited by itself"
        got = h.actual_views(settings)
        rows = h.hbase_row_count(settings, "orders")
        letters = h.dead_letters(settings, expected_letters, timeout=120)
        orders_topic = settings.topic("orders")
        reasons = h.reason_counts(letters, orders_topic)
        # the generator's dirt, the orders of its dirty customers and products (never
        # known), and the crafted kinds
        expected_reasons = (
            Counter(manifest["dirt"]["orders"])
            + Counter(want["unknown"])
            + Counter({reason: PER_KIND for reason in CRAFTED})
            + Counter({"duplicate_order_id": DUPLICATES})
        )
        tracebacks = log.read_text().count("Traceback")
        counted = got["revenue"]["orders"]
        record(
            settings,
            "crash_and_bad_input",
            orders_sent=len(good) - sum(manifest["dirt"]["orders"].values()),
            bad_records_sent=bad_sent,
            bad_kinds=len(kinds),
            kills=len(kills),
            killed_at_orders=kills,
            restart_to_ready_s=recoveries,
            orders_expected=total,
            orders_counted=counted,
            hbase_order_rows=rows,
            dead_letters_expected=expected_letters,
            dead_letters=len(letters),
            dead_letters_by_reason=dict(sorted(reasons.items())),
            lost=max(0, total - counted) + max(0, total - rows),
            doubled=max(0, counted - total) + max(0, rows - total),
            tracebacks=tracebacks,
            seconds=round(time.monotonic() - started, 1),
        )
        assert len(kinds) >= 20
        h.assert_views_match(got, want)
        assert rows == total
        assert reasons == expected_reasons
        for topic in ("customers", "products"):
            assert h.reason_counts(letters, settings.topic(topic)) == Counter(
                manifest["dirt"][topic]
            ), topic
        assert h.reason_counts(letters, settings.topic("stock-updates")) == stock_reasons
        assert len(letters) == expected_letters  # once each, across the kills
        sent = set(stream)
        assert all(d["value"] in sent for d in letters if d["dlq.topic"] == orders_topic)
        assert len(kills) == KILLS and all(0 < k < total for k in kills)
        assert tracebacks == 0
    finally:
        stop_worker(proc)
        sender.shutdown()  # the topics go once the producer is done with them
        h.destroy(settings)
