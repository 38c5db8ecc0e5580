"""Dashboard benchmark: update delay from the worker's table to the page, and server memory.

On fresh topics and tables of the real stack, starts a stream worker, a producer
streaming orders at ``--rate`` and ``streamproc dashboard`` in a subprocess, and keeps
``--sessions`` sessions open on /dashboard for ``--minutes`` (bare websocket clients
on one loop, see ``dashboard_sessions.py``). Meanwhile it
  * takes ``--samples`` delay samples spread over the run: ``/api/revenue`` is polled
    every 10 ms until its order count changes, and a sample is, for every session, the
    time from that poll to the server's patch setting its revenue source to at least
    the new count reaching the session (so it includes the wait for the dashboard's
    next poll of the worker, ``--interval``, and not the browser's drawing);
  * reads the dashboard server's RSS at start and every minute.
Every topic and table it makes is deleted at the end, also on failure.

Prints a summary on stderr and one JSON object on stdout (and to ``--json PATH``).
Usage: python bench/bench_dashboard.py [--minutes M] [--rate N] [--sessions S] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from dashboard_sessions import Sessions  # bench/, on sys.path as the script's directory

from streamproc import provision
from streamproc.settings import get_settings
from streamproc.supervise import get_json, settings_env, start_worker, stop_worker, wait_ready


def spawn(args: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen:
    """Start ``streamproc ARGS`` in a session of its own, so it is stopped by its pid."""
    with log_file.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streamproc.cli", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def wait_listening(host: str, port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    # a connection, not a GET of the page: that would open a session of its own
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            socket.create_connection((host, port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def counted(settings) -> int:
    """The worker's order count; a 503 while it restores its tables is waited out."""
    return get_json(settings, "/api/revenue", recovering=60)["orders"]


def delay_sample(settings, sessions: Sessions, timeout: float = 10) -> list[float | None]:
    """Seconds from the table's order count changing to each session being sent it
    (None for a session that was not within ``timeout``)."""
    deadline = time.monotonic() + timeout
    before = counted(settings)
    while (after := counted(settings)) == before:
        if time.monotonic() > deadline:
            return [None] * sessions.n
        time.sleep(0.01)
    changed = time.monotonic()
    arrivals = [sessions.arrival(i, after) for i in range(sessions.n)]
    while None in arrivals and time.monotonic() < deadline:
        time.sleep(0.01)
        arrivals = [sessions.arrival(i, after) for i in range(sessions.n)]
    # the dashboard may read the worker before this loop sees the change: 0, not less
    return [None if t is None else max(0.0, t - changed) for t in arrivals]


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return max(values)
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200, help="orders per second")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--sessions", type=int, default=1, help="pages open at once")
    parser.add_argument("--interval", type=float, default=0.4, help="dashboard poll, s")
    parser.add_argument("--web-port", type=int, default=6366, help="the worker's web views")
    parser.add_argument("--port", type=int, default=5306, help="the dashboard")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()

    token = uuid.uuid4().hex[:8]
    settings = provision.scoped(
        get_settings(), f"benchdash{token}", web_port=args.web_port, dashboard_port=args.port
    )
    env = {**os.environ, **settings_env(settings)}
    logs = settings.state_dir / f"bench-dashboard-{token}"
    logs.mkdir(parents=True, exist_ok=True)
    provision.create(settings)
    procs: list[subprocess.Popen] = []
    worker = None
    sessions: Sessions | None = None
    try:
        worker = start_worker(settings, logs / "worker.log")
        wait_ready(settings, worker, timeout=120)
        seconds = args.minutes * 60
        for name, cmd in (
            ("producer", ["produce", "--rate", f"{args.rate}/s", "--duration",
                          str(seconds + 900), "--topic-prefix", settings.topic_prefix]),
            ("dashboard", ["dashboard", "--port", str(args.port), "--interval",
                           str(args.interval), "--worker-url",
                           f"http://{settings.web_host}:{settings.web_port}"]),
        ):  # fmt: skip
            procs.append(spawn(cmd, env, logs / f"{name}.log"))
        board = procs[1]
        url = f"http://{settings.web_host}:{args.port}/dashboard"
        wait_listening(settings.web_host, args.port, board)
        rss = [rss_mib(board.pid)]
        sessions = Sessions(url, args.sessions)
        sessions.wait_open()
        deadline = time.monotonic() + 120
        # customers and products first: wait until every session shows an order
        while not all(sessions.shown(i) for i in range(sessions.n)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"a session showed no order in 120 s: {sessions.errors}")
            time.sleep(0.1)
        counted0 = counted(settings)

        delays: list[float] = []  # one per session and sample
        slowest: list[float | None] = []  # the last session to show each sample
        per_sample: list[int | None] = []  # each sample's median, ms
        missed = sampled = 0
        t0 = time.monotonic()
        spacing = seconds / args.samples
        next_sample, next_rss = t0 + spacing / 2, t0 + 60
        while (now := time.monotonic()) < t0 + seconds:
            for proc in (worker, *procs):
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
            if now >= next_rss:
                rss.append(rss_mib(board.pid))
                print(f"{(now - t0) / 60:4.1f} min  dashboard RSS {rss[-1]:.0f} MiB",
                      file=sys.stderr)  # fmt: skip
                next_rss += 60
            if now >= next_sample and sampled < args.samples:
                sample = delay_sample(settings, sessions)
                missed += sample.count(None)
                delays += [d for d in sample if d is not None]
                slowest.append(None if None in sample else max(sample))
                shown = [d for d in sample if d is not None]
                per_sample.append(round(statistics.median(shown) * 1000) if shown else None)
                sampled += 1
                next_sample += spacing
            time.sleep(0.2)
        rss.append(rss_mib(board.pid))
        if sessions.errors:
            raise RuntimeError(f"{len(sessions.errors)} sessions failed: {sessions.errors[:5]}")
        orders = counted(settings) - counted0
        elapsed = time.monotonic() - t0
    finally:
        if sessions is not None:
            sessions.close()
        for proc in procs:
            stop_worker(proc, grace=15)
        if worker is not None:
            stop_worker(worker)
        provision.drop(settings)

    result = {
        "minutes": args.minutes,
        "rate_orders_per_s": args.rate,
        "counted_orders_per_s": round(orders / elapsed, 1),
        "interval_s": args.interval,
        "sessions": args.sessions,
        "delay_samples": sampled,
        "delay_missed": missed,
        "delay_ms_median": round(statistics.median(delays) * 1000),
        "delay_ms_p95": round(percentile(delays, 95) * 1000),
        "delay_ms_p99": round(percentile(delays, 99) * 1000),
        "delay_ms_max": round(max(delays) * 1000),
        "sample_medians_ms": per_sample,
        "slowest_session_ms_median": round(
            statistics.median(s for s in slowest if s is not None) * 1000
        ),
        "rss_mib_start": round(rss[0], 1),
        "rss_mib_peak": round(max(rss), 1),
        "rss_mib_final": round(rss[-1], 1),
        "rss_mib_per_minute": [round(r, 1) for r in rss],
    }
    print(
        f"dashboard: table -> page {result['delay_ms_median']} ms median, "
        f"{result['delay_ms_p95']} ms p95, {result['delay_ms_max']} ms max "
        f"({sampled} samples x {args.sessions} sessions, {missed} missed, "
        f"poll {args.interval} s); "
        f"RSS {result['rss_mib_start']} MiB at start, {result['rss_mib_peak']} peak, "
        f"{result['rss_mib_final']} final after {args.minutes:g} min at {args.rate:g} orders/s",
        file=sys.stderr,
    )
    print(json.dumps(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
