"""``kill -USR2`` on a running worker logs where each task waits, and the worker goes on.

mode's worker answers SIGUSR2 itself with the pdb debugger; the unit tests of
``streamproc.diagnostics`` call the dump directly and could not see that it never ran.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from streamproc.supervise import get_json, start_worker, stop_worker, wait_ready
from tests.integration import stream_harness as h

pytestmark = pytest.mark.integration


def test_sigusr2_logs_every_task_and_the_worker_goes_on(stack, unique, tmp_path):
    settings = h.isolated(stack, unique)
    h.create(settings)
    log = tmp_path / "worker.log"
    proc = start_worker(settings, log)
    try:
        wait_ready(settings, proc)
        os.kill(proc.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while " tasks" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        text = log.read_text()
        assert "Starting debugger" not in text and "BdbQuit" not in text
        # the agents' tasks, each down to what it awaits inside its stream
        assert "in orders_agent" in text and "in Stream.take_events" in text
        assert proc.poll() is None
        assert get_json(settings, "/api/revenue")["orders"] == 0
    finally:
        stop_worker(proc)
        h.destroy(settings)
