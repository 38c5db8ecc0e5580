"""Start, wait for and stop a stream-processor worker process (demo, tests, benchmarks)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson

from streamproc.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """Return ``ECOM_*`` variables that reproduce ``settings`` in a child process."""
    env = {}
    for name, value in settings:
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"ECOM_{name.upper()}"] = str(value)
    return env


def airflow_env(settings: Settings, work: Path, mrjob_runner: str) -> dict[str, str]:
    """Return the environment of ``airflow dags test bda_pipeline`` run over ``settings``.

    What ``make dag-test`` sets, with the data, state and ``AIRFLOW_HOME`` under
    ``work``; the runner reaches the DAG as the Airflow Variable ``mrjob_runner``.
    """
    repo = Path(__file__).resolve().parents[1]
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ECOM_"))},
        **settings_env(settings),
        "ECOM_DATA_DIR": str(work / "data"),
        "ECOM_STATE_DIR": str(work / "state"),
        "AIRFLOW_HOME": str(work / "state" / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(repo / "airflow" / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_VAR_MRJOB_RUNNER": mrjob_runner,
    }


def start_worker(settings: Settings, log_file: Path, loglevel: str = "warn") -> subprocess.Popen:
    """Start ``faust -A streamproc.app worker`` with ``settings``; return the process."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings_env(settings)}
    with log_file.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", "streamproc.app", "worker", "-l", loglevel],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def get_json(
    settings: Settings, path: str, timeout: float = 5.0, recovering: float = 0.0
) -> object:
    """GET ``path`` from the worker's web server and decode the JSON.

    Args:
        settings: Where the worker's web server listens.
        path: The view, e.g. ``/api/revenue``.
        timeout: Seconds one request may take.
        recovering: Seconds to keep asking while the worker answers 503 (its tables
            are being restored, e.g. after a rebalance); 0 raises the first 503.
    """
    url = f"http://{settings.web_host}:{settings.web_port}{path}"
    deadline = time.monotonic() + recovering
    while True:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
                return orjson.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() >= deadline:
                raise
        time.sleep(0.1)


def wait_ready(settings: Settings, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait until ``/api/health`` says the tables are restored; raise on exit or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode} during start-up")
        try:
            if get_json(settings, "/api/health", timeout=2.0).get("ready"):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"worker not ready within {timeout:.0f} s")


def stop_worker(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """Stop the worker by its pid: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            kill_worker(proc)


def kill_worker(proc: subprocess.Popen) -> None:
    """SIGKILL the worker's whole process group and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
