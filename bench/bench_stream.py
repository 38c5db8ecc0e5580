"""Stream drain benchmark: one worker against a raw aiokafka consumer, same topic, same run.

Preloads N orders (plus their customers and products) into fresh topics of the
real broker, then measures
  * raw: an aiokafka consumer reading the orders topic from the start to the end;
  * pipeline: a Faust worker (every table, HBase writes, dead letters on) counting
    every order, timed from its start-up being ready to ``/api/revenue`` showing N.
Prints one JSON object. Usage: python bench/bench_stream.py [--orders N] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import numpy as np
import orjson
from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer

from streamproc import hbase, kafka_admin
from streamproc.settings import get_settings
from streamproc.supervise import get_json, kill_worker, start_worker, wait_ready

CITIES = ["Lyon, France", "Porto, Portugal", "Leeds, United Kingdom", "Kyoto, Japan"]
CATEGORIES = ["Books", "Toys", "Garden", "Kitchen", "Electronics"]


def preload(settings, customers: int, products: int, orders: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        linger_ms=20,
        batch_size=1 << 20,
        compression_type="gzip",
        max_request_size=8 << 20,
    )
    t = settings.topic
    for cid in range(1, customers + 1):
        rec = {
            "customer_id": cid,
            "name": f"Customer {cid}",
            "email": f"c{cid}@example.com",
            "phone": "+44 7700 900123",
            "age": int(18 + cid % 60),
            "gender": "MFO"[cid % 3],
            "location": CITIES[cid % len(CITIES)],
        }
        producer.send(t("customers"), key=str(cid).encode(), value=orjson.dumps(rec))
    prices = rng.integers(100, 50_000, products + 1)
    for pid in range(1, products + 1):
        rec = {
            "product_id": pid,
            "product_name": f"Product {pid}",
            "category": CATEGORIES[pid % len(CATEGORIES)],
            "price": int(prices[pid]),
            "stock_quantity": 1_000_000,
        }
        producer.send(t("products"), key=str(pid).encode(), value=orjson.dumps(rec))
    producer.flush()
    cust = rng.integers(1, customers + 1, orders)
    prod = rng.integers(1, products + 1, orders)
    qty = rng.integers(1, 4, orders)
    secs = rng.integers(0, 365 * 86400, orders)
    base = np.datetime64("2025-01-01T00:00:00")
    for i in range(orders):
        ts = str(base + np.timedelta64(int(secs[i]), "s")) + "Z"
        rec = {
            "order_id": i + 1,
            "customer_id": int(cust[i]),
            "product_id": int(prod[i]),
            "quantity": int(qty[i]),
            "total_amount": int(prices[prod[i]] * qty[i]),
            "transaction_date": ts,
            "payment_method": int(1 + i % 5),
        }
        producer.send(t("orders"), key=str(cust[i]).encode(), value=orjson.dumps(rec))
    producer.flush()
    producer.close()


async def raw_drain(settings, n: int) -> float:
    consumer = AIOKafkaConsumer(
        settings.topic("orders"),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        fetch_max_bytes=50 << 20,
        max_partition_fetch_bytes=8 << 20,
    )
    await consumer.start()
    seen = 0
    t0 = time.perf_counter()
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=100_000)
            seen += sum(len(v) for v in batch.values())
    finally:
        await consumer.stop()
    return time.perf_counter() - t0


def pipeline_drain(settings, n: int, log) -> tuple[float, int]:
    proc = start_worker(settings, log)
    try:
        wait_ready(settings, proc, timeout=120)
        t0 = time.perf_counter()
        while True:
            got = get_json(settings, "/api/revenue")
            if isinstance(got, dict) and got.get("orders", 0) >= n:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        rss = int(open(f"/proc/{proc.pid}/status").read().split("VmHWM:")[1].split()[0])
        return elapsed, rss
    finally:
        kill_worker(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    results = {"orders": args.orders, "pipeline_s": [], "raw_s": [], "peak_rss_kib": []}
    for _ in range(args.runs):
        token = uuid.uuid4().hex[:8]
        settings = get_settings().model_copy(
            update={
                "topic_prefix": f"bench{token}-",
                "app_id": f"bench{token}",
                "hbase_table_prefix": f"bench{token}_",
            }
        )
        kafka_admin.ensure_topics(settings)
        conn = hbase.connect(settings)
        hbase.ensure_tables(conn, settings)
        try:
            preload(settings, args.customers, args.products, args.orders)
            results["raw_s"].append(asyncio.run(raw_drain(settings, args.orders)))
            elapsed, rss = pipeline_drain(
                settings, args.orders, settings.state_dir / f"bench-{token}.log"
            )
            results["pipeline_s"].append(elapsed)
            results["peak_rss_kib"].append(rss)
        finally:
            hbase.drop_tables(conn, settings)
            conn.close()
            names = [
                settings.topic(n)
                for n in (
                    "customers",
                    "products",
                    "stock-updates",
                    "orders",
                    "orders-dlq",
                    "low-stock",
                )
            ]
            kafka_admin.delete_topics(settings, names)
    pipe = statistics.median(results["pipeline_s"])
    raw = statistics.median(results["raw_s"])
    results["pipeline_orders_per_s"] = round(args.orders / pipe)
    results["raw_orders_per_s"] = round(args.orders / raw)
    results["peak_rss_mib"] = round(statistics.median(results["peak_rss_kib"]) / 1024)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
