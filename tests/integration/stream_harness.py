"""Helpers for the stream tests: isolated settings, replay of generated files, and the
expected figures computed independently with pandas over the same files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import Future
from pathlib import Path

import pandas as pd
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streamproc import hbase, provision
from streamproc.settings import Settings
from streamproc.supervise import get_json

TOPICS = ("customers", "products", "stock-updates", "orders", "orders-dlq", "low-stock")
KEY_FIELD = {
    "customers": "customer_id",
    "products": "product_id",
    "stock-updates": "product_id",
    "orders": "customer_id",
}
DIMENSIONS = (
    "month",
    "day",
    "hour",
    "category",
    "gender",
    "age_band",
    "location",
    "payment_method",
)
BANDS = [
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 200, "65+"),
]


def isolated(settings: Settings, token: str, **extra) -> Settings:
    """Settings with topics, consumer group, changelogs and HBase tables of their own."""
    return provision.scoped(settings, f"t{token}", web_port=extra.pop("web_port", 6166), **extra)


create = provision.create
destroy = provision.drop


def lines(data: Path, name: str) -> list[bytes]:
    if name == "orders":
        files = sorted((data / "orders").glob("date=*/part-*.jsonl"))
    else:
        files = [data / f"{name}.jsonl"]
    out = []
    for f in files:
        out.extend(line for line in f.read_bytes().split(b"\n") if line)
    return out


def _key(name: str, raw: bytes) -> bytes:
    found = re.search(rb'"%s":\s*(\d+)' % KEY_FIELD[name].encode(), raw)
    return found.group(1) if found else b"0"


def produce(settings: Settings, records: list[tuple[str, bytes]]) -> None:
    """Send raw lines, keyed like the producer keys them, and wait for every ack."""
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        linger_ms=10,
        batch_size=1 << 20,
        enable_idempotence=True,
    )
    for name, raw in records:
        producer.send(settings.topic(name), key=_key(name, raw), value=raw)
    producer.flush()
    producer.close()


# --- the expected figures, independently of streamproc's code -----------------


def _parse(raw: bytes):
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def valid_customers(data: Path) -> pd.DataFrame:
    rows = []
    for raw in lines(data, "customers"):
        c = _parse(raw)
        if (
            c
            and set(c) == {"customer_id", "name", "email", "phone", "age", "gender", "location"}
            and isinstance(c["name"], str)
            and c["name"].strip()
            and isinstance(c["email"], str)
            and re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", c["email"])
            and _is_int(c["age"])
            and 18 <= c["age"] <= 120
            and c["gender"] in ("M", "F", "O")
            and isinstance(c["location"], str)
            and ", " in c["location"]
        ):
            rows.append(c)
    return pd.DataFrame(rows).drop_duplicates("customer_id", keep="last")


def valid_products(data: Path) -> pd.DataFrame:
    rows = []
    for raw in lines(data, "products"):
        p = _parse(raw)
        if (
            p
            and _is_int(p.get("price"))
            and p["price"] >= 0
            and _is_int(p.get("stock_quantity"))
            and p["stock_quantity"] >= 0
            and p.get("product_name")
            and p.get("category")
        ):
            rows.append(p)
    return pd.DataFrame(rows).drop_duplicates("product_id", keep="last")


ORDER_KEYS = {
    "order_id",
    "customer_id",
    "product_id",
    "quantity",
    "total_amount",
    "transaction_date",
    "payment_method",
}


def order_verdicts(data: Path, extra: list[bytes]) -> tuple[pd.DataFrame, int, Counter, list]:
    """Return the counted orders (first copy of each id), the number rejected, the
    expected ``unknown_*`` dead-letter reasons, and the raw lines counted."""
    customers = set(valid_customers(data)["customer_id"])
    products = set(valid_products(data)["product_id"])
    counted, raws, rejected, seen, unknown = [], [], 0, set(), Counter()
    for raw in [*lines(data, "orders"), *extra]:
        o = _parse(raw)
        shape_ok = (
            o is not None
            and set(o) == ORDER_KEYS
            and all(_is_int(o[k]) for k in ORDER_KEYS - {"transaction_date"})
            and isinstance(o["transaction_date"], str)
            and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", o["transaction_date"])
            and o["quantity"] > 0
            and o["total_amount"] >= 0
            and 1 <= o["payment_method"] <= 5
        )
        if shape_ok and o["order_id"] not in seen:
            missing = [
                name
                for name, known in (
                    ("unknown_customer", o["customer_id"] in customers),
                    ("unknown_product", o["product_id"] in products),
                )
                if not known
            ]
            if missing:
                unknown[",".join(missing)] += 1
                rejected += 1
                continue
            seen.add(o["order_id"])
            counted.append(o)
            raws.append(raw)
        else:
            rejected += 1
    return pd.DataFrame(counted), rejected, unknown, raws


def expected_views(data: Path, extra: list[bytes]) -> dict:
    """Every web view's figures, from pandas joins over the generated files."""
    orders, rejected, unknown, _ = order_verdicts(data, extra)
    customers = valid_customers(data)
    products = valid_products(data)
    df = orders.merge(customers, on="customer_id").merge(products, on="product_id")
    df["month"] = df["transaction_date"].str[:7]
    df["day"] = df["transaction_date"].str[:10]
    df["hour"] = df["transaction_date"].str[:13]
    df["age_band"] = df["age"].map(
        lambda a: next(label for lo, hi, label in BANDS if lo <= a <= hi)
    )
    df["payment_method"] = df["payment_method"].astype(str)
    out = {
        "revenue": {
            "total_revenue": int(df["total_amount"].sum()),
            "orders": len(df),
            "rejected": rejected,
        },
        "sales": {},
        "unknown": unknown,
    }
    for dim in DIMENSIONS:
        g = df.groupby(dim).agg(
            revenue=("total_amount", "sum"),
            orders=("order_id", "size"),
            quantity=("quantity", "sum"),
        )
        out["sales"][dim] = {
            k: {c: int(v) for c, v in row.items()} for k, row in g.sort_index().iterrows()
        }
    cust = (
        df.groupby("customer_id")
        .agg(revenue=("total_amount", "sum"), orders=("order_id", "size"))
        .reset_index()
    )
    cust = cust.sort_values(["revenue", "customer_id"], ascending=[False, True]).head(100)
    out["top_customers"] = [
        {"customer_id": int(r.customer_id), "revenue": int(r.revenue), "orders": int(r.orders)}
        for r in cust.itertuples()
    ]
    prod = (
        df.groupby(["product_id", "product_name"])
        .agg(quantity=("quantity", "sum"), revenue=("total_amount", "sum"))
        .reset_index()
    )
    for by in ("quantity", "revenue"):
        top = prod.sort_values([by, "product_id"], ascending=[False, True]).head(100)
        out[f"top_products_{by}"] = [
            {
                "product_id": int(r.product_id),
                "product_name": r.product_name,
                "quantity": int(r.quantity),
                "revenue": int(r.revenue),
            }
            for r in top.itertuples()
        ]
    out["by_location"] = {
        k: int(v) for k, v in customers.groupby("location").size().sort_index().items()
    }
    return out


def actual_views(settings: Settings) -> dict:
    out = {"revenue": get_json(settings, "/api/revenue"), "sales": {}}
    out["revenue"].pop("as_of")
    for dim in DIMENSIONS:
        out["sales"][dim] = get_json(settings, f"/api/sales/{dim}")
    out["top_customers"] = [
        {k: r[k] for k in ("customer_id", "revenue", "orders")}
        for r in get_json(settings, "/api/top/customers?n=100")
    ]
    for by in ("quantity", "revenue"):
        out[f"top_products_{by}"] = get_json(settings, f"/api/top/products?by={by}&n=100")
    out["by_location"] = get_json(settings, "/api/customers/by-location")
    return out


def assert_views_match(got: dict, want: dict) -> None:
    """Assert every figure of :func:`actual_views` equals :func:`expected_views`."""
    assert got["revenue"] == want["revenue"]
    for dim, figures in want["sales"].items():
        assert got["sales"][dim] == figures, dim
    for view in ("top_customers", "top_products_quantity", "top_products_revenue", "by_location"):
        assert got[view] == want[view], view


def wait_for(settings: Settings, orders: int, rejected: int, timeout: float = 300) -> dict:
    """Wait until /api/revenue counts ``orders`` and ``rejected`` and every HBase row
    is written (the sink writes behind the tables: ``pending_rows`` in /api/health);
    return the revenue view."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = get_json(settings, "/api/revenue")
            if last.get("orders") == orders and last.get("rejected") == rejected:
                if get_json(settings, "/api/health")["hbase"]["pending_rows"] == 0:
                    return last
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(
        f"not settled in {timeout} s: {last} != {orders}/{rejected}; health: {_health(settings)}"
    )


def _health(settings: Settings) -> str:
    """Return /api/health as JSON text, or why the worker did not answer it."""
    try:
        return json.dumps(get_json(settings, "/api/health"))
    except (OSError, ValueError) as exc:
        return repr(exc)


def dump_task_stacks(proc: subprocess.Popen, seconds: float = 5) -> None:
    """Have the worker write every asyncio task's stack to its log (mode's, SIGUSR1)
    and each task's whole chain of awaits (``streamproc.diagnostics``, SIGUSR2), and
    give it ``seconds`` to do so."""
    os.kill(proc.pid, signal.SIGUSR1)
    os.kill(proc.pid, signal.SIGUSR2)
    time.sleep(seconds)


def wait_counted(
    settings: Settings,
    proc: subprocess.Popen,
    at_least: int,
    log: Path,
    sending: Future | None = None,
    stall_s: float = 180,
) -> int:
    """Wait until the worker has counted ``at_least`` orders and return its count.

    Fails at once if the worker exits or the producer thread (``sending``) raises, and
    within ``stall_s`` if the count stops moving, after the worker has written every
    task's stack to ``log``: a stalled worker is a bug to see, not a timeout.
    """
    last, moved = None, time.monotonic()
    while True:
        assert proc.poll() is None, f"the worker exited by itself ({proc.returncode})"
        if sending is not None and sending.done():
            sending.result()  # raises what the producer raised: no count would come
        counted = get_json(settings, "/api/revenue")["orders"]
        if counted >= at_least:
            return counted
        if counted != last:
            last, moved = counted, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            dump_task_stacks(proc)
            raise AssertionError(
                f"the worker counted nothing for {stall_s} s (stuck at {counted} of "
                f"{at_least}); task stacks in {log}; health: {_health(settings)}"
            )
        time.sleep(0.05)


def dead_letters(settings: Settings, expected: int, timeout: float = 60) -> list[dict]:
    """Read ``orders-dlq`` (committed records only) until ``expected`` arrived, then 2 s more."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    tps = [
        TopicPartition(settings.topic("orders-dlq"), p) for p in range(settings.topic_partitions)
    ]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    out = []
    deadline = time.monotonic() + timeout
    quiet_until = None
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            for msgs in batch.values():
                out.extend(
                    {"value": m.value, "key": m.key, **{k: v.decode() for k, v in m.headers}}
                    for m in msgs
                )
            if len(out) >= expected:
                quiet_until = quiet_until or time.monotonic() + 2
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return out


def reason_counts(letters: list[dict], topic: str) -> Counter:
    return Counter(d["dlq.reason"] for d in letters if d["dlq.topic"] == topic)


def hbase_row_count(settings: Settings, table: str) -> int:
    conn = hbase.connect(settings)
    try:
        rows = conn.table(settings.table_name(table)).scan(
            batch_size=5000, filter=b"FirstKeyOnlyFilter()"
        )
        return sum(1 for _ in rows)
    finally:
        conn.close()
