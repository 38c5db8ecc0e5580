"""State benchmark: a worker's peak memory with a big shop in its tables.

Generates ``--customers`` customers and ``--products`` products, sends them to fresh
topics, and for each table store of ``--stores`` (faust's ``memory://`` and
``rocksdb://``) starts a worker on its own topics, consumer group and tables, waits
until every record is applied, and reads the worker's peak RSS (``VmHWM``) and the
time it took.  The baseline is the same worker with no records at all (its RSS once
ready), measured in the same run.  Every topic, table and RocksDB directory it makes
is deleted at the end, also on failure.

Prints a summary on stderr and one JSON object on stdout.
Usage: python bench/bench_state.py [--customers N] [--products N] [--stores memory,rocksdb]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from streamproc import provision
from streamproc.generator import generate
from streamproc.producer import Topics, directory_feed, make_producer, produce
from streamproc.settings import get_settings
from streamproc.supervise import get_json, start_worker, stop_worker, wait_ready

STORES = {"memory": "memory://", "rocksdb": "rocksdb://"}


def memory_mib(pid: int) -> tuple[float, float]:
    """Return the RSS and the peak RSS (VmHWM) of ``pid`` in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _held(settings) -> tuple[int, int]:
    """Return how many customers and products the worker's tables hold."""
    customers = sum(get_json(settings, "/api/customers/by-location", timeout=60).values())
    return customers, get_json(settings, "/api/health", timeout=10)["products_known"]


def run_store(base, store: str, shop: Path | None, work: Path, size: tuple[int, int]) -> dict:
    """Load ``shop`` (None: nothing) into a fresh worker using ``store``; measure it.

    ``size`` is the shop's (customers, products), all valid: the tables must hold them.
    """
    token = f"state{uuid.uuid4().hex[:8]}"
    settings = provision.scoped(
        base, token, faust_store=STORES[store], state_dir=work / token, web_port=6466
    )  # a state dir of its own: the RocksDB files go there
    provision.create(settings)
    proc = start_worker(settings, work / f"{token}.log")
    try:
        wait_ready(settings, proc, timeout=180)
        if shop is None:
            time.sleep(5)
            rss, peak = memory_mib(proc.pid)
            return {"store": store, "records": 0, "rss_mib": round(rss, 1)}
        t0 = time.monotonic()
        delivery = produce(
            make_producer(settings),
            directory_feed(shop),
            Topics.prefixed(settings.topic_prefix),
            stock_interval=0,
        )
        sent = sum(delivery.sent.values())
        held = (0, 0)
        while held != size:  # the cheap health first; the tables' sizes once it says done
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited with {proc.returncode}")
            if time.monotonic() - t0 > 600:
                raise RuntimeError(
                    f"{store}: the tables hold {held[0]:,} customers and {held[1]:,} "
                    f"products, not {size[0]:,} and {size[1]:,}, after 600 s"
                )
            time.sleep(1)
            health = get_json(settings, "/api/health", timeout=10)
            print(
                f"  {store}: {health['records']:,}/{sent:,} records read", file=sys.stderr, end="\r"
            )
            lags = [p["lag"] for p in health["partitions"].values()]
            if health["records"] >= sent and all(lag == 0 for lag in lags):
                held = _held(settings)  # read is not applied: the tables must hold them
        seconds = time.monotonic() - t0
        while get_json(settings, "/api/health")["hbase"]["pending_rows"]:
            time.sleep(0.5)
        rss, peak = memory_mib(proc.pid)
        print(file=sys.stderr)
        return {
            "store": store,
            "records": sent,
            "apply_s": round(seconds, 1),
            "records_per_s": round(sent / seconds),
            "rss_mib": round(rss, 1),
            "peak_rss_mib": round(peak, 1),
        }
    finally:
        stop_worker(proc)
        provision.drop(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--stores", default="memory,rocksdb")
    args = parser.parse_args()
    stores = [s for s in args.stores.split(",") if s]
    unknown = [s for s in stores if s not in STORES]
    if unknown:
        parser.error(f"--stores: {unknown} not among {list(STORES)}")
    base = get_settings()
    work = Path(tempfile.mkdtemp(prefix="bench-state-"))
    try:
        shop = work / "shop"
        generate(7, args.customers, args.products, 0, shop, progress=False)
        size = (args.customers, args.products)
        baseline = run_store(base, "memory", None, work, size)
        results = [run_store(base, store, shop, work, size) for store in stores]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "customers": args.customers,
        "products": args.products,
        "baseline": "the same worker, tables empty, once ready",
        "baseline_rss_mib": baseline["rss_mib"],
        "stores": results,
    }
    for r in results:
        print(
            f"state: {r['store']}: peak RSS {r['peak_rss_mib']:,.0f} MiB with "
            f"{args.customers:,} customers and {args.products:,} products "
            f"(empty worker {baseline['rss_mib']:,.0f} MiB); applied in {r['apply_s']} s, "
            f"{r['records_per_s']:,}/s",
            file=sys.stderr,
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
