"""Producer benchmark: orders per second into the local broker, acknowledged.

Draws N orders once (the on-the-fly shop), then R times sends them with
``producer.produce`` at ``--rate 0`` to a fresh 8-partition topic and times from
the first order to the last acknowledgement (the final flush).  The baseline, in the
same run: Kafka's own ``kafka-producer-perf-test`` (``ProducerPerformance``, Java)
R times, sending N of the same order JSON values (``--payload-file``) with the same
acks, idempotence, linger, batch size and codec.  Reports the medians and their
ratio.  Every topic it makes is deleted at the end, also on failure.

Prints a summary on stderr and one JSON object on stdout.
Usage: python bench/bench_producer.py [--orders N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from stack import jars
from stack.process import java_bin
from streamproc import kafka_admin, producer
from streamproc.producer import Feed, Topics
from streamproc.settings import get_settings


def perf_test(settings, topic: str, records: int, payloads: Path) -> float:
    """Run Kafka's ProducerPerformance once; return its records/s."""
    config = producer.PRODUCER_CONFIG
    # fmt: off
    cmd = [
        java_bin(settings), "-Xmx512m", "-cp", jars.classpath(settings.cache_dir, "kafka"),
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic, "--num-records", str(records), "--throughput", "-1",
        "--payload-file", str(payloads),  # one payload per line (the default delimiter)
        "--producer-props", f"bootstrap.servers={settings.kafka_bootstrap_servers}",
        f"acks={config['acks']}", f"enable.idempotence={str(config['enable_idempotence']).lower()}",
        f"linger.ms={config['linger_ms']}", f"batch.size={config['batch_size']}",
        f"compression.type={producer.compression_codec()}",
    ]
    # fmt: on
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    found = re.findall(r"(\d+) records sent, ([\d.]+) records/sec", done.stdout)
    if not found or int(found[-1][0]) != records:
        raise SystemExit(f"kafka-producer-perf-test said: {done.stdout[-500:]}{done.stderr[-500:]}")
    return float(found[-1][1])


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
    rates, baseline = [], []
    payloads = Path(tempfile.mkstemp(prefix="bench-producer-", suffix=".jsonl")[1])
    payloads.write_bytes(b"\n".join(v for _, v in orders[:100_000]))
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
        for run in range(args.runs):
            topic = f"bench-producer-perf-{uuid.uuid4().hex[:8]}"
            made.append(topic)
            kafka_admin.ensure_topics(settings, (topic,))
            baseline.append(perf_test(settings, topic, len(orders), payloads))
            print(
                f"kafka-producer-perf-test run {run + 1}: {baseline[-1]:,.0f} records/s",
                file=sys.stderr,
            )
    finally:
        payloads.unlink(missing_ok=True)
        if made:
            kafka_admin.delete_topics(settings, made)

    result = {
        "orders": len(orders),
        "runs": args.runs,
        "records_per_s_median": round(statistics.median(rates)),
        "records_per_s_runs": [round(r) for r in rates],
        "baseline": "kafka-producer-perf-test (Java), same payloads and producer settings",
        "baseline_records_per_s_median": round(statistics.median(baseline)),
        "baseline_records_per_s_runs": [round(r) for r in baseline],
        "ratio_to_baseline": round(statistics.median(rates) / statistics.median(baseline), 3),
        "value_bytes_mean": round(value_bytes, 1),
        "compression": producer.compression_codec(),
        "acks": producer.PRODUCER_CONFIG["acks"],
        "idempotent": producer.PRODUCER_CONFIG["enable_idempotence"],
    }
    print(
        f"producer: {result['records_per_s_median']:,} records/s (median of {args.runs}), "
        f"{result['compression']}, acks=all, idempotent; kafka-producer-perf-test "
        f"{result['baseline_records_per_s_median']:,} records/s "
        f"(ratio {result['ratio_to_baseline']})",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
