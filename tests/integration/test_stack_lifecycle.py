"""`stack up` is idempotent, `stack down` leaves nothing, a taken port is named."""

import os
import socket
from pathlib import Path

import pytest

from stack import process
from stack.exceptions import PortTakenError
from stack.services import all_services

pytestmark = pytest.mark.integration


def _pids(settings):
    return {s.name: process.read_pid(s, settings) for s in all_services(settings)}


def _stack_processes(settings):
    """Every live process whose command line mentions this stack's state dir."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(settings.state_dir).encode() in cmd and b"java" in cmd:
                found.append(int(entry.name))
    return found


def test_up_twice_down_and_up_again(stack):
    before = _pids(stack)
    assert all(before.values())
    process.up(stack, report=lambda _m: None)
    assert _pids(stack) == before  # idempotent: nothing restarted

    stopped = process.down(stack, report=lambda _m: None)
    try:
        assert sorted(stopped) == sorted(before.values())
        for pid in before.values():
            assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"pid {pid} survived"
        assert _stack_processes(stack) == []
        assert all(not process.port_taken(p) for s in all_services(stack) for p in s.ports.values())
    finally:
        process.up(stack, report=lambda _m: None)  # leave the session's stack running
    assert all(r.healthy for r in process.status(stack))


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_taken_port_is_named(stack, tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        other = stack.model_copy(
            update={"kafka_bootstrap_servers": f"127.0.0.1:{port}", "state_dir": tmp_path}
        )
        kafka = all_services(other)[0]
        with pytest.raises(PortTakenError, match=f"port {port} \\(broker\\)"):
            process.start(kafka, other)
    assert process.read_pid(kafka, other) is None
    assert os.listdir(tmp_path) == []  # nothing was started or written
