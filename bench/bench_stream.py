"""Stream drain benchmark: one worker against a raw aiokafka consumer, same topic, same run.

Preloads N orders (plus their customers and products) into fresh topics of the
real broker, their times ascending with their ids over a year (``--shuffled-dates``:
at random; see :func:`preload`), then measures
  * raw: an aiokafka consumer reading the orders topic from the start to the end;
  * pipeline: a Faust worker (every table, HBase writes, dead letters on) counting
    every order, timed from its start-up being ready to ``/api/revenue`` showing N;
    then the same with two workers in one consumer group, on fresh topics holding
    the same records; during the one worker's drain, the CPU each process used per
    order (the worker, the broker, HBase, its Thrift server) and how busy the
    machine's cores were;
  * restart: the one worker SIGKILLed once it has counted the N orders, and started
    again: the seconds from its start to ``/api/health`` saying its tables are
    restored (the changelogs of N orders read back);
  * latency: orders produced at a steady rate to a running worker; the k-th order's
    latency is the time from its send to the first ``/api/revenue`` poll (every 5 ms)
    that counts k orders.  The first ``--warmup`` seconds of orders warm the worker,
    HBase and the broker up and are timed apart; p50/p99/max of the orders after
    them, per rate, median of ``--runs`` runs.
Prints one JSON object.
Usage: python bench/bench_stream.py [--orders N] [--runs R] [--rates 500,2000,10000]
       [--shuffled-dates]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer

from stack.process import read_pid
from stack.services import all_services
from streamproc import provision
from streamproc.producer import compression_codec
from streamproc.settings import get_settings
from streamproc.supervise import get_json, kill_worker, start_worker, wait_ready

CITIES = ["Lyon, France", "Porto, Portugal", "Leeds, United Kingdom", "Kyoto, Japan"]
CATEGORIES = ["Books", "Toys", "Garden", "Kitchen", "Electronics"]


def order(i: int, customer: int, product: int, qty: int, price: int, secs: int) -> bytes:
    ts = str(np.datetime64("2025-01-01T00:00:00") + np.timedelta64(secs, "s")) + "Z"
    return orjson.dumps(
        {
            "order_id": i,
            "customer_id": customer,
            "product_id": product,
            "quantity": qty,
            "total_amount": price * qty,
            "transaction_date": ts,
            "payment_method": 1 + i % 5,
        }
    )


def preload(
    settings, customers: int, products: int, orders: int, seed: int = 7, shuffled: bool = False
) -> None:
    """Send the customers, the products, then the orders, ids and times ascending together.

    The orders span a year, ``transaction_date`` rising with ``order_id`` as in the
    generator's data and a live shop's (so a batch of a few thousand orders falls in a
    few days' hours).  ``shuffled`` draws each order's time at random over the year
    instead, as a backfill of unsorted history would: then nearly every order of a
    batch opens its own hour and day cells in the ``sales`` table.
    """
    rng = np.random.default_rng(seed)
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        linger_ms=20,
        batch_size=1 << 20,
        compression_type=compression_codec(),  # what the project's producer sends
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
    if not shuffled:
        secs.sort()
    for i in range(orders):
        price = int(prices[prod[i]])
        rec = order(i + 1, int(cust[i]), int(prod[i]), int(qty[i]), price, int(secs[i]))
        producer.send(t("orders"), key=str(cust[i]).encode(), value=rec)
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


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_now(settings, worker_pid: int) -> dict[str, float]:
    """Return the CPU seconds of the worker and of each service, and the machine's
    busy and total core-seconds (``/proc/stat``)."""
    pids = {"worker": worker_pid}
    for service in all_services(settings):
        pid = read_pid(service, settings)
        if pid is not None:
            pids[service.name] = pid
    out = {name: cpu_seconds(pid) for name, pid in pids.items()}
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    out["machine_total"] = sum(ticks) / hz
    out["machine_busy"] = (sum(ticks) - ticks[3] - ticks[4]) / hz  # less idle, iowait
    return out


def cpu_per_order(before: dict, after: dict, n: int) -> dict[str, float]:
    """Return µs of CPU per order for each process, and the cores' busy share (%)."""
    used = {k: after[k] - before[k] for k in before if k in after}
    out = {f"{k}_us": round(v / n * 1e6, 1) for k, v in used.items() if not k.startswith("m")}
    out["machine_busy_pct"] = round(100 * used["machine_busy"] / used["machine_total"], 1)
    return out


#: a drain slower than 1,000 orders/s plus this is stuck, not slow
DRAIN_DEADLINE_S = 120


def pipeline_drain(
    settings, n: int, logs: Path, workers: int = 1
) -> tuple[float, list[int], dict[str, float]]:
    """Return the seconds from the first worker being ready until the workers have
    counted ``n`` orders together, each worker's peak RSS (KiB), and the CPU each
    process used per order meanwhile (the first worker's; see :func:`cpu_per_order`).

    With two workers the second starts once the first is ready and joins while the
    first already drains: the time includes its start-up and that rebalance, as a
    worker added to a running group would.  (Started together, the one that joined
    first drained before the time began whenever it was not the one waited for: the
    figure swung between about 7,000 and 22,000 orders/s from run to run.)
    """
    group = [
        settings.model_copy(update={"web_port": settings.web_port + i}) for i in range(workers)
    ]
    procs = [start_worker(group[0], logs / f"{group[0].app_id}-0.log")]
    try:
        wait_ready(group[0], procs[0], timeout=120)
        cpu_before = cpu_now(settings, procs[0].pid)
        t0 = time.perf_counter()
        for i, s in enumerate(group[1:], start=1):
            procs.append(start_worker(s, logs / f"{s.app_id}-{i}.log"))
            wait_ready(s, procs[-1], timeout=120)
        deadline = time.monotonic() + DRAIN_DEADLINE_S + n / 1_000
        while True:
            got = get_json(settings, "/api/revenue", recovering=60)
            if isinstance(got, dict) and got.get("orders", 0) >= n:
                break
            if time.monotonic() > deadline:  # a worker stuck: say so, don't wait forever
                for proc in procs:  # where each task waits, into the workers' logs
                    os.kill(proc.pid, signal.SIGUSR2)
                time.sleep(2)
                counted = got.get("orders") if isinstance(got, dict) else got
                raise TimeoutError(
                    f"{workers} worker(s) counted {counted} of {n:,} orders in "
                    f"{time.perf_counter() - t0:.0f} s; their logs: {logs}"
                )
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu = cpu_per_order(cpu_before, cpu_now(settings, procs[0].pid), n)
        rss = [
            int(Path(f"/proc/{p.pid}/status").read_text().split("VmHWM:")[1].split()[0])
            for p in procs
        ]
        return elapsed, rss, cpu
    finally:
        for proc in procs:
            kill_worker(proc)


def restart(settings, log: Path) -> float:
    """Return the seconds a worker takes from its start to ready, with state to restore."""
    t0 = time.perf_counter()
    proc = start_worker(settings, log)
    try:
        wait_ready(settings, proc, timeout=600)
        return time.perf_counter() - t0
    finally:
        kill_worker(proc)


def latency(settings, rate: int, seconds: float, warmup: float, customers: int, products: int, log):
    """Return the latency percentiles (ms) of orders produced at ``rate`` per second
    for ``seconds`` after ``warmup`` seconds of them."""
    preload(settings, customers, products, 0)
    proc = start_worker(settings, log)
    sent: list[float] = []
    polls: list[tuple[float, int]] = []
    try:
        wait_ready(settings, proc, timeout=120)
        deadline = time.perf_counter() + 120  # the shop loaded first: orders only are timed
        by_location = "/api/customers/by-location"
        while sum(get_json(settings, by_location, recovering=60).values()) < customers:
            if time.perf_counter() > deadline:
                raise TimeoutError("customers not loaded in 120 s")
            time.sleep(0.2)
        warm = int(rate * warmup)
        n = warm + int(rate * seconds)
        rng = np.random.default_rng(3)
        cust, prod = rng.integers(1, customers + 1, n), rng.integers(1, products + 1, n)

        def produce() -> None:
            producer = KafkaProducer(
                bootstrap_servers=settings.kafka_bootstrap_servers, acks=1, linger_ms=0
            )
            t0 = time.perf_counter()
            for i in range(n):
                due = t0 + i / rate
                while (now := time.perf_counter()) < due:
                    time.sleep(min(due - now, 0.002))
                rec = order(i + 1, int(cust[i]), int(prod[i]), 1, 1000, i)
                producer.send(settings.topic("orders"), key=str(cust[i]).encode(), value=rec)
                sent.append(time.perf_counter())
            producer.flush()
            producer.close()

        thread = threading.Thread(target=produce)
        thread.start()
        deadline = time.perf_counter() + seconds + 60
        while time.perf_counter() < deadline:
            count = get_json(settings, "/api/revenue", recovering=60)["orders"]
            polls.append((time.perf_counter(), count))
            if count >= n:
                break
            time.sleep(0.005)
        thread.join()
    finally:
        kill_worker(proc)
    lat, j = [], 0
    for k, t_sent in enumerate(sent, start=1):
        while j < len(polls) and polls[j][1] < k:
            j += 1
        if j == len(polls):
            break  # never seen: counted as missing below
        lat.append((polls[j][0] - t_sent) * 1000)
    timed = lat[warm:]
    return {
        "rate": rate,
        "orders": len(sent) - warm,
        "seen": len(timed),
        "p50_ms": round(float(np.percentile(timed, 50)), 1),
        "p99_ms": round(float(np.percentile(timed, 99)), 1),
        "max_ms": round(max(timed), 1),
        "warmup_orders": warm,
        "warmup_p99_ms": round(float(np.percentile(lat[:warm], 99)), 1) if warm else None,
    }


def isolated(token: str):
    """Settings with topics, consumer group and HBase tables of their own, created."""
    settings = provision.scoped(get_settings(), f"bench{token}")
    provision.create(settings)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rates", default="500,2000,10000", help="latency rates; '' for none")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed, per latency rate")
    parser.add_argument("--warmup", type=float, default=5.0, help="untimed first seconds")
    parser.add_argument(
        "--shuffled-dates",
        action="store_true",
        help="orders' times drawn at random over the year instead of ascending with the id",
    )
    parser.add_argument("--json", dest="json_path", default=None, help="also write here")
    args = parser.parse_args()
    results = {
        "orders": args.orders,
        "dates": "shuffled" if args.shuffled_dates else "ascending",
        "pipeline_s": [],
        "two_workers_s": [],
        "raw_s": [],
        "peak_rss_kib": [],
        "restart_s": [],
        "cpu_per_order": [],
    }
    for _ in range(args.runs):
        for workers, key in ((1, "pipeline_s"), (2, "two_workers_s")):
            settings = isolated(uuid.uuid4().hex[:8])
            try:
                preload(
                    settings, args.customers, args.products, args.orders,
                    shuffled=args.shuffled_dates,
                )  # fmt: skip
                if workers == 1:  # the baseline, on the same topic in the same run
                    results["raw_s"].append(asyncio.run(raw_drain(settings, args.orders)))
                elapsed, rss, cpu = pipeline_drain(
                    settings, args.orders, settings.state_dir, workers
                )
                results[key].append(elapsed)
                if workers == 1:  # the memory, CPU and restart figures are one worker's
                    results["peak_rss_kib"].append(rss[0])
                    results["cpu_per_order"].append(cpu)
                    log = settings.state_dir / f"{settings.app_id}-restart.log"
                    results["restart_s"].append(restart(settings, log))
            finally:
                provision.drop(settings)
            print(f"drain, {workers} worker(s): {args.orders / elapsed:,.0f} orders/s",
                  file=sys.stderr, flush=True)  # fmt: skip
    raw = statistics.median(results["raw_s"])
    results["pipeline_orders_per_s"] = round(args.orders / statistics.median(results["pipeline_s"]))
    results["two_workers_orders_per_s"] = round(
        args.orders / statistics.median(results["two_workers_s"])
    )
    results["raw_orders_per_s"] = round(args.orders / raw)
    results["peak_rss_mib"] = round(statistics.median(results["peak_rss_kib"]) / 1024)
    results["restart_to_ready_s"] = round(statistics.median(results["restart_s"]), 1)
    runs = results["cpu_per_order"]
    results["cpu_us_per_order"] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    results["latency"] = []
    for rate in [int(r) for r in args.rates.split(",") if r]:
        runs = []
        for _ in range(args.runs):
            settings = isolated(uuid.uuid4().hex[:8])
            try:
                log = settings.state_dir / f"{settings.app_id}-latency.log"
                runs.append(
                    latency(
                        settings, rate, args.seconds, args.warmup, args.customers,
                        args.products, log,
                    )
                )  # fmt: skip
            finally:
                provision.drop(settings)
            print(f"latency at {rate}/s: {runs[-1]}", file=sys.stderr, flush=True)
        median = {k: statistics.median(r[k] for r in runs) for k in ("p50_ms", "p99_ms", "max_ms")}
        results["latency"].append({"rate": rate, **median, "runs": runs})
    print(json.dumps(results, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
