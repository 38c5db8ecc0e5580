"""Write RELIABILITY.md from the figures the reliability tests recorded.

Run by ``make reliability`` after ``pytest tests/reliability``:
``python -m tests.reliability.report [--out RELIABILITY.md]``.  Every figure comes
from a file a test wrote in this run's state dir; a test that did not run is listed
as not run, never filled in by hand.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from streamproc.settings import get_settings
from tests.reliability.figures import folder

ROOT = Path(__file__).resolve().parents[2]

#: test key -> (title, the test that records it, what it shows)
TESTS = {
    "crash_and_bad_input": (
        "Crash and bad input: SIGKILL x5 during 1,000,000 orders with 10,000+ bad records",
        "tests/reliability/test_stream_faults.py",
        "Every generator dirt kind plus crafted ones (truncated and non-UTF-8 bytes, a "
        "70 KB message, ints past 64 bits, wrong types, zero and negative quantities, "
        "dates in 1970 and 2999, ids that never resolve, resent orders) mixed in at "
        "random places, and the worker SIGKILLed at five random points and restarted. "
        "Every web view equals pandas over the generated files, HBase holds one row "
        "per counted order, every bad record is in `orders-dlq` once with its reason, "
        "and the worker never stopped by itself (no traceback in its log).",
    ),
    "hbase_outage": (
        "HBase outage: Thrift server, then HBase, 30 s each",
        "tests/reliability/test_outages.py::test_hbase_thrift_then_hbase_down_for_30_s_mid_stream",
        "Orders stream in at 1,000/s; the Thrift server is stopped for 30 s, later HBase "
        "itself (master, region server, ZooKeeper). The tables keep counting while "
        "the rows wait in the worker (bounded by `ECOM_HBASE_MAX_PENDING_ROWS`), "
        "`/api/health` shows `degraded`, the pending rows and the retries; once HBase "
        "is back every row is written and the views equal pandas.",
    ),
    "broker_restart": (
        "Kafka broker restart mid-stream",
        "tests/reliability/test_outages.py::test_kafka_broker_restart_mid_stream",
        "The project's producer streams at 1,000 orders/s; the broker is stopped, "
        "left down 10 s and started again. Neither the producer nor the worker is "
        "restarted; every order is acknowledged and counted once.",
    ),
    "dashboard_load": (
        "Dashboard: 50 sessions at 2,000 orders/s",
        "tests/reliability/test_dashboard_load.py",
        "`bench/bench_dashboard.py --sessions 50 --rate 2000`: 50 websocket sessions "
        "(bare Bokeh protocol clients on one loop, `bench/dashboard_sessions.py`) must "
        "each be sent every sampled change of the order count; the delays (goal: "
        "under 1 s) are reported, not asserted.",
    ),
    "injection": (
        "Injection: hostile text end to end",
        "tests/reliability/test_injection.py",
        "Quotes, newlines, `$(…)`, backticks, semicolons, markup and five scripts in "
        "names, emails, locations, product names and categories, compared byte for "
        "byte in HBase, the web views, the dashboard's columns, the HBase export and "
        "the MapReduce ETL; a canary file that any executed text would create is "
        "absent.",
    ),
    "sasl": (
        "SASL/SCRAM profile: credentials from the settings, others refused",
        "tests/reliability/test_sasl.py",
        "A broker started with `ECOM_KAFKA_SECURITY=sasl` (SCRAM-SHA-256 user created "
        "with the KRaft storage; the config file readable by its owner only). A client "
        "without credentials and one with a wrong password are refused; the topics, "
        "the project's producer and a worker connect with the settings' user and "
        "password (`SecretStr`), every view equals pandas, and neither the worker's "
        "log nor the broker's logs contain the password.",
    ),
    "loopback": (
        "Every listening socket on 127.0.0.1",
        "tests/reliability/test_security.py",
        "The listening TCP sockets of Kafka, HBase, the Thrift server and a worker, "
        "read from /proc; plus a scan of every tracked file for keys and passwords, "
        "and of the code for `shell=True`, `os.system`, `eval`.",
    ),
}

#: parts of issue 9 with no test yet
NOT_YET = [
    "SASL over TLS (`ECOM_KAFKA_SECURITY=sasl_ssl`): the clients' options exist; the "
    "local stack has no certificates, so it serves plaintext or SASL/SCRAM only.",
]


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, check=True
        )
        return out.stdout.decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _figures(data: dict) -> str:
    skip = {"test", "at", "host"}
    lines = []
    for key, value in data.items():
        if key in skip:
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        lines.append(f"| {key.replace('_', ' ')} | {value} |")
    return "\n".join(["| figure | value |", "|---|---|", *lines])


def render(found: dict[str, dict]) -> str:
    out = [
        "# Reliability",
        "",
        "Written by `python -m tests.reliability.report` (the last step of "
        "`make reliability`) from the figures the tests of `tests/reliability` recorded "
        f"in the state dir, rendered at commit `{_commit()}`; when each test ran is in "
        "its row. The same tests run in `make test`.",
        "",
        "| test | lost | doubled | run at |",
        "|---|---|---|---|",
    ]
    for key, (title, _where, _what) in TESTS.items():
        data = found.get(key)
        if data is None:
            out.append(f"| {title} | not run | not run | |")
            continue
        lost = data.get("lost", "–")
        doubled = data.get("doubled", "–")
        out.append(f"| {title} | {lost} | {doubled} | {data['at']} |")
    for key, (title, where, what) in TESTS.items():
        out += ["", f"## {title}", "", f"`{where}`", "", what, ""]
        data = found.get(key)
        out.append(_figures(data) if data else "Not run in this report's run.")
    out += ["", "## Not tested yet", ""]
    out += [f"- {item}" for item in NOT_YET]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "RELIABILITY.md")
    parser.add_argument(
        "--clear", action="store_true", help="delete the recorded figures (before a run)"
    )
    args = parser.parse_args(argv)
    if args.clear:
        for path in folder(get_settings()).glob("*.json"):
            path.unlink()
        return 0
    found = {}
    for path in sorted(folder(get_settings()).glob("*.json")):
        data = json.loads(path.read_text())
        found[data["test"]] = data
    args.out.write_text(render(found))
    missing = [key for key in TESTS if key not in found]
    print(f"wrote {args.out} ({len(found)} tests; not run: {', '.join(missing) or 'none'})")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
