"""Load: the dashboard serves 50 sessions at once while orders stream at 2,000/s.

Runs ``bench/bench_dashboard.py`` (worker, producer and ``streamproc dashboard`` as
subprocesses on fresh topics and tables) with 50 sessions (bare websocket clients,
``bench/dashboard_sessions.py``), and checks that every session was sent every sampled
change of the order count; the delays (the goal is
under 1 s) are recorded for RELIABILITY.md, as speed figures are, not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.figures import record

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SESSIONS, RATE, SAMPLES = 50, 2_000, 20


def test_fifty_sessions_see_every_update_at_2000_orders_per_second(stack, tmp_path):
    out = tmp_path / "dashboard.json"
    # fmt: off
    args = [
        sys.executable, str(ROOT / "bench" / "bench_dashboard.py"),
        "--sessions", str(SESSIONS), "--rate", str(RATE), "--minutes", "2",
        "--samples", str(SAMPLES), "--web-port", "6175", "--port", "5375",
        "--json", str(out),
    ]
    # fmt: on
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=800)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    record(
        stack,
        "dashboard_load",
        sessions=result["sessions"],
        stream_orders_per_s=result["counted_orders_per_s"],
        samples=result["delay_samples"],
        updates_checked=result["delay_samples"] * result["sessions"],
        updates_missed=result["delay_missed"],
        delay_ms_median=result["delay_ms_median"],
        delay_ms_p99=result["delay_ms_p99"],
        delay_ms_max=result["delay_ms_max"],
        dashboard_rss_mib_peak=result["rss_mib_peak"],
        lost=result["delay_missed"],
    )
    assert result["sessions"] == SESSIONS
    assert result["delay_samples"] == SAMPLES
    assert result["delay_missed"] == 0  # every session showed every sampled change
