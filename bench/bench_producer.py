"""Producer benchmark: orders per second into the local broker, acknowledged.

Draws N orders once (the on-the-fly shop), then R times sends them with
``producer.produce`` at ``--rate 0`` to a fresh 8-partition topic and times from
the first order to the last acknowledgement (the final flush).  Reports the median
records/s.  Every topic it makes is deleted at the end, also on failure.

Prints a summary on stderr and one JSON object on stdout.
Usage: python bench/bench_producer.py [--orders N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from itertools import islice

from streamproc import kafka_admin, producer
from streamproc.producer import Feed, Topics
from streamproc.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()

    fixed = datetime(2025, 6, 1, tzinfo=UTC)
    live = producer.live_feed(1, 1_000, 500, first_order_id=1, now=lambda: fixed)
    orders = list(islice(live.orders, args.orders))
    value_bytes = sum(len(v) for _, v in orders) / len(orders)

    made: list[str] = []
    rates = []
    try:
        for run in range(args.runs):
            topics = Topics.prefixed(f"bench-producer-{uuid.uuid4().hex[:8]}-")
            names = [topics.customers, topics.products, topics.orders, topics.stock_updates]
            made += names
            kafka_admin.ensure_topics(settings, tuple(names))
            kafka = producer.make_producer(settings)
            try:
                feed = Feed(customers=[], products=[], orders=iter(orders), stock_batches=iter(()))
                t0 = time.perf_counter()
                delivery = producer.produce(kafka, feed, topics, rate=0, stock_interval=0)
                seconds = time.perf_counter() - t0
            finally:
                kafka.close(timeout=10)
            if delivery.unacknowledged:
                raise SystemExit(f"{delivery.unacknowledged} records were not acknowledged")
            rates.append(len(orders) / seconds)
            print(
                f"run {run + 1}: {len(orders):,} orders in {seconds:.2f} s, "
                f"{rates[-1]:,.0f} records/s",
                file=sys.stderr,
            )
    finally:
        if made:
            kafka_admin.delete_topics(settings, made)

    result = {
        "orders": len(orders),
        "runs": args.runs,
        "records_per_s_median": round(statistics.median(rates)),
        "records_per_s_runs": [round(r) for r in rates],
        "value_bytes_mean": round(value_bytes, 1),
        "compression": producer.compression_codec(),
        "acks": producer.PRODUCER_CONFIG["acks"],
        "idempotent": producer.PRODUCER_CONFIG["enable_idempotence"],
    }
    print(
        f"producer: {result['records_per_s_median']:,} records/s (median of {args.runs}), "
        f"{result['compression']}, acks=all, idempotent",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
