"""Start, check and stop the stack's processes: ``up``, ``down``, ``status``, ``reset``."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from stack import jars
from stack.exceptions import PortTakenError, StackError
from stack.services import Service, all_services
from streamproc.settings import Settings

Report = Callable[[str], None]


def java_bin(settings: Settings) -> str:
    """Return the java executable: ``ECOM_JAVA_HOME/bin/java`` or java on PATH."""
    if settings.java_home:
        return str(settings.java_home / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise StackError("java is not on PATH: install OpenJDK 17 or set ECOM_JAVA_HOME")
    return java


def read_pid(service: Service, settings: Settings) -> int | None:
    """Return the pid of the running process of ``service``, or None.

    A pid file whose process is gone, or whose pid now belongs to another program,
    counts as not running.
    """
    path = service.pid_file(settings)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if _cmdline_has(pid, service.main_class):
        return pid
    return None


def _cmdline_has(pid: int, needle: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and needle.encode() in cmdline


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether ``host:port`` is already bound by some process."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def log_tail(service: Service, settings: Settings, lines: int = 30) -> str:
    """Return the last lines of the service's logs (stdout file and main log)."""
    out = []
    for path in sorted(service.log_dir(settings).glob("*")):
        if path.is_file() and path.suffix in {".out", ".log"} and path.stat().st_size:
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path} ---\n" + "\n".join(text))
    return "\n".join(out) or f"(no log under {service.log_dir(settings)})"


def start(service: Service, settings: Settings) -> int:
    """Start ``service`` unless it runs; return its pid."""
    pid = read_pid(service, settings)
    if pid is not None:
        return pid
    for label, port in service.ports.items():
        if port_taken(port):
            raise PortTakenError(
                f"{service.name}: port {port} ({label}) on 127.0.0.1 is already taken by "
                f"another process; stop it or change the port (see `ss -ltnp 'sport = :{port}'`)"
            )
    if not jars.is_fetched(settings.cache_dir, service.component):
        jars.fetch(settings.cache_dir, service.component)
    home = service.home(settings)
    conf = service.conf_dir(settings)
    for path in (conf, service.log_dir(settings)):
        path.mkdir(parents=True, exist_ok=True)
    service.write_config(settings, conf)
    if service.prepare:
        service.prepare(settings, service)
    cmd = [
        java_bin(settings),
        *service.jvm_opts,
        "-cp",
        jars.classpath(
            settings.cache_dir, service.component, *(home / p for p in service.extra_cp)
        ),
        service.main_class,
        *service.args,
    ]
    with service.log_file(settings).open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service.pid_file(settings).write_text(f"{proc.pid}\n")
    return proc.pid


def check(service: Service, settings: Settings, timeout: float = 5.0) -> str | None:
    """Run the health check once; return None when healthy, else the reason."""
    try:
        service.health(settings, timeout)
    except Exception as exc:  # noqa: BLE001 - any failure of the probe is "unhealthy"
        return f"{type(exc).__name__}: {exc}"
    return None


def wait_healthy(service: Service, settings: Settings, deadline: float) -> None:
    """Wait until ``service`` passes its health check or raise with its log tail."""
    delay = 0.25
    reason = "not checked"
    while time.monotonic() < deadline:
        if read_pid(service, settings) is None and not _pid_file_alive(service, settings):
            raise StackError(
                f"{service.name} exited during start-up\n{log_tail(service, settings)}"
            )
        reason = check(service, settings, timeout=min(5.0, max(deadline - time.monotonic(), 1)))
        if reason is None:
            return
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    raise StackError(
        f"{service.name} was not healthy within {settings.stack_timeout:.0f} s ({reason})\n"
        f"{log_tail(service, settings)}"
    )


def up(settings: Settings, report: Report = print) -> dict[str, float]:
    """Fetch, start and wait for every service; idempotent; return seconds per service."""
    t0 = time.monotonic()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda c: jars.fetch(settings.cache_dir, c), jars.COMPONENTS))
    report(f"jars ready in {time.monotonic() - t0:.1f} s ({settings.cache_dir})")
    deadline = time.monotonic() + settings.stack_timeout
    services = all_services(settings)
    started = []
    try:
        for service in services:
            already = read_pid(service, settings)
            pid = start(service, settings)
            started.append(service)
            report(f"{service.name}: {'already running' if already else 'started'} (pid {pid})")
        elapsed = {}
        for service in services:
            wait_healthy(service, settings, deadline)
            elapsed[service.name] = time.monotonic() - t0
            report(f"{service.name}: healthy on 127.0.0.1:{service.main_port}")
    except StackError:
        report("start-up failed; stopping what was started")
        down(settings, report=lambda _msg: None)
        raise
    return elapsed


def stop(service: Service, settings: Settings, grace: float = 30.0) -> int | None:
    """Stop ``service`` by its pid (SIGTERM, then SIGKILL after ``grace``); return the pid."""
    pid = read_pid(service, settings)
    if pid is None:
        service.pid_file(settings).unlink(missing_ok=True)
        return None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    service.pid_file(settings).unlink(missing_ok=True)
    return pid


def _pid_file_alive(service: Service, settings: Settings) -> bool:
    """Return True while the pid file's process lives, whatever its command line.

    Right after the fork the command line can still be the parent's.
    """
    try:
        return _alive(int(service.pid_file(settings).read_text().strip()))
    except (FileNotFoundError, ValueError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # reap it if it is our child, then look for a zombie
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def down(settings: Settings, report: Report = print) -> list[int]:
    """Stop every service, last started first; return the pids stopped."""
    stopped = []
    for service in reversed(all_services(settings)):
        grace = 30.0 if service.name == "hbase" else 15.0
        pid = stop(service, settings, grace=grace)
        if pid is not None:
            stopped.append(pid)
            report(f"{service.name}: stopped (pid {pid})")
        else:
            report(f"{service.name}: not running")
    return stopped


@dataclass(frozen=True)
class ServiceStatus:
    """What ``status`` knows of one service."""

    name: str
    pid: int | None
    port: int
    healthy: bool
    detail: str


def status(settings: Settings) -> list[ServiceStatus]:
    """Return the state of every service (pid, port, health)."""
    out = []
    for service in all_services(settings):
        pid = read_pid(service, settings)
        reason = check(service, settings, timeout=3.0) if pid else "not running"
        out.append(
            ServiceStatus(service.name, pid, service.main_port, reason is None, reason or "ok")
        )
    return out


def reset(settings: Settings, report: Report = print) -> None:
    """Stop the stack and delete its data and the worker's local state."""
    down(settings, report)
    if settings.state_dir.exists():
        shutil.rmtree(settings.state_dir)
        report(f"deleted {settings.state_dir}")
