"""One full ``bda_pipeline`` run on a shop of a given size, streamed through a worker first.

Generates a shop whose order files weigh ``--size`` (e.g. ``1GB``), sends it to fresh
topics of the real broker with the project's producer, lets one worker count it
(tables, HBase rows, dead letters), then times ``airflow dags test bda_pipeline DAY``
from ``.venv-airflow`` against those HBase tables and that worker's views.  Prints
one JSON object: sizes, the stream's orders/s, the DAG's seconds and its outcome.
Usage: python bench/bench_dag.py [--size 1GB] [--runner local] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from rich.progress import Progress

from streamproc import provision
from streamproc.generator import generate
from streamproc.producer import Topics, directory_feed, make_producer, produce
from streamproc.settings import get_settings
from streamproc.supervise import airflow_env, get_json, start_worker, stop_worker, wait_ready

REPO = Path(__file__).resolve().parents[1]
AIRFLOW = REPO / ".venv-airflow" / "bin" / "airflow"


def counted(settings, sent: int) -> tuple[int, tuple[int, int] | None]:
    """Return the records read and, once every record is read, nothing is parked and
    every HBase row is written, (orders, rejected)."""
    health = get_json(settings, "/api/health", timeout=10)
    read = health["records"]
    if read < sent or health["parked_orders"] or health["hbase"]["pending_rows"]:
        return read, None
    revenue = get_json(settings, "/api/revenue", timeout=10)
    return read, (revenue["orders"], revenue["rejected"])


def stream(settings, shop: Path, work: Path) -> dict:
    """Send the shop and wait until the worker has counted all of it."""
    proc = start_worker(settings, work / "worker.log")
    try:
        wait_ready(settings, proc, timeout=180)
        t0 = time.monotonic()
        topics = Topics.prefixed(settings.topic_prefix)
        delivery = produce(make_producer(settings), directory_feed(shop), topics, stock_interval=0)
        sent = sum(delivery.sent.values())
        produced_s = time.monotonic() - t0
        with Progress(transient=True) as bar:
            task = bar.add_task("worker counting", total=sent)
            stable, last = 0, None
            while stable < 3:  # every record read, nothing parked, three equal polls
                time.sleep(2)
                read, got = counted(settings, sent)
                bar.update(task, completed=read)
                stable = stable + 1 if got is not None and got == last else 0
                last = got
        counted_s = time.monotonic() - t0 - 4  # the two polls that only confirmed it
        return {
            "records_sent": sent,
            "unacknowledged": delivery.unacknowledged,
            "produce_s": round(produced_s, 1),
            "stream_s": round(counted_s, 1),
            "orders_counted": last[0],
            "records_rejected": last[1],
            "orders_per_s": round(last[0] / counted_s),
            "worker": proc,
        }
    except BaseException:
        stop_worker(proc)
        raise


def dag_run(settings, work: Path, day: str, runner: str) -> dict:
    env = airflow_env(settings, work, runner)
    log = work / "airflow.log"
    with log.open("ab") as out:
        subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, stdout=out, stderr=out, check=True)
        t0 = time.monotonic()
        done = subprocess.run(
            [str(AIRFLOW), "dags", "test", "bda_pipeline", day], env=env, stdout=out, stderr=out
        )
    seconds = time.monotonic() - t0
    day_dir = work / "data" / "batch" / day
    reconcile = day_dir / "reconcile.json"
    result = {
        "runner": runner,
        "dag_s": round(seconds, 1),
        "exit_code": done.returncode,
        "reconcile": json.loads(reconcile.read_text()) if reconcile.exists() else None,
        "output_mb": round(
            sum(p.stat().st_size for p in day_dir.rglob("*") if p.is_file()) / 1e6, 1
        ),
    }
    if done.returncode:
        result["log_tail"] = log.read_text(errors="replace")[-3000:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1GB", help="bytes of order files, e.g. 1GB, 200MB")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--runner", default="local", choices=["inline", "local", "hadoop"])
    parser.add_argument("--day", default=datetime.now(UTC).date().isoformat())
    parser.add_argument("--keep", action="store_true", help="keep the topics, tables and files")
    parser.add_argument("--json", dest="json_path", default=None, help="also write here")
    args = parser.parse_args()
    if not AIRFLOW.exists():
        parser.error(f"{AIRFLOW} is missing: run `make airflow-venv` first")
    token = uuid.uuid4().hex[:8]
    settings = provision.scoped(get_settings(), f"dag{token}", park_timeout=30.0, web_port=6766)
    work = Path(tempfile.mkdtemp(prefix=f"bench-dag-{token}-"))
    results: dict = {"command": " ".join(["python bench/bench_dag.py", *sys.argv[1:]])}
    provision.create(settings)
    proc = None
    try:
        t0 = time.monotonic()
        manifest = generate(
            11, args.customers, args.products, None, work / "shop", size=args.size, dirty_rate=0.01
        )
        results["generate_s"] = round(time.monotonic() - t0, 1)
        orders_bytes = sum(p.stat().st_size for p in (work / "shop" / "orders").rglob("*.jsonl"))
        results["orders_jsonl_mb"] = round(orders_bytes / 1e6, 1)
        results["orders_generated"] = manifest["counts"]["orders"]
        results["stream"] = stream(settings, work / "shop", work)
        proc = results["stream"].pop("worker")
        results["dag"] = dag_run(settings, work, args.day, args.runner)
    finally:
        if proc is not None:
            stop_worker(proc)
        if not args.keep:
            provision.drop(settings)
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
