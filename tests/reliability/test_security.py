"""Security facts of the repository and of the running stack: no secret is committed,
no code path hands data to a shell or to ``eval``, and every listening socket of the
stack and of a worker is bound to the loopback interface."""

from __future__ import annotations

import ast
import re
import socket
import subprocess
from pathlib import Path

import pytest

from stack import process
from stack.services import all_services
from streamproc.supervise import start_worker, stop_worker, wait_ready
from tests.integration import stream_harness as h
from tests.reliability.figures import record

ROOT = Path(__file__).resolve().parents[2]

# built from parts so this file does not match itself
_BEGIN = "-----" + "BEGIN"
SECRET_SHAPES = {
    "private key": re.compile(_BEGIN + r" [A-Z ]*PRIVATE KEY-----"),
    "Fernet key": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
}
SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|fernet|api_?key|credential)")
# config lines such as KEY=value or key: value, the value a literal (not ${VAR}, not empty)
CONFIG_ASSIGNMENT = re.compile(
    r"^[ \t]*[-#]?[ \t]*([A-Za-z0-9_.]+)[ \t]*[:=][ \t]*[\"']?([^\s\"'#]+)", re.MULTILINE
)
SECRET_FILES = re.compile(r"(^|/)(\.env|airflow\.cfg|.*\.(pem|key|jks|p12|keytab))$")


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError):
        return None  # binary (a PNG), or deleted in the work tree


def _literal_secrets(source: str) -> list[str]:
    """Python: names like ``password`` bound to a non-empty string literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        pairs = []
        if isinstance(node, ast.Assign):
            pairs = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.keyword) and node.arg:
            pairs = [(node.arg, node.value)]
        elif isinstance(node, ast.Dict):
            pairs = [
                (k.value, v)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            ]
        for name, value in pairs:
            if (
                SECRET_NAME.search(name)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
                and len(value.value) >= 6
                and " " not in value.value  # prose (a description), not a secret
            ):
                found.append(f"{name} = {value.value!r}")
    return found


def test_no_secret_key_or_password_is_committed():
    files = tracked_files()
    assert len(files) > 50
    problems = [str(p.relative_to(ROOT)) for p in files if SECRET_FILES.search(str(p))]
    scanned = 0
    for path in files:
        text = _text(path)
        if text is None:
            continue
        scanned += 1
        rel = path.relative_to(ROOT)
        problems += [f"{rel}: {kind}" for kind, rx in SECRET_SHAPES.items() if rx.search(text)]
        if path.suffix == ".py":
            if "tests" not in rel.parts:  # tests hold made-up credentials on purpose
                problems += [f"{rel}: {hit}" for hit in _literal_secrets(text)]
        elif path.suffix in {".yaml", ".yml", ".env", ".example", ".cfg", ".ini", ".toml", ""}:
            for name, value in CONFIG_ASSIGNMENT.findall(text):
                if SECRET_NAME.search(name) and not value.startswith("$"):
                    problems.append(f"{rel}: {name}={value}")
    assert scanned > 50
    assert problems == []


def test_the_scanner_finds_what_it_looks_for():
    """The patterns above are not vacuous: each matches a made-up example."""
    fake_fernet = "Zm9v" * 10 + "YmE" + "="  # built at run time: no such run in this file
    assert SECRET_SHAPES["Fernet key"].search(f"fernet_key = {fake_fernet}")
    assert SECRET_SHAPES["private key"].search(_BEGIN + " RSA PRIVATE KEY-----")
    assert _literal_secrets("db_password = 'hunter22'") == ["db_password = 'hunter22'"]
    assert _literal_secrets("password = settings.password") == []
    assert CONFIG_ASSIGNMENT.findall("AIRFLOW_FERNET_KEY=abc123") == [
        ("AIRFLOW_FERNET_KEY", "abc123")
    ]


SHELL_CALLS = {"system", "popen", "getoutput", "getstatusoutput", "eval", "exec"}


def test_no_code_path_hands_data_to_a_shell_or_eval():
    """No ``shell=True``, ``os.system``/``popen``, ``eval`` or ``exec`` in the project;
    subprocesses get argument lists, HBase gets happybase calls, never command text."""
    problems = []
    for path in tracked_files():
        rel = path.relative_to(ROOT)
        if path.suffix != ".py" or rel.parts[0] == "tests":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in SHELL_CALLS:
                problems.append(f"{rel}:{node.lineno} {name}()")
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    problems.append(f"{rel}:{node.lineno} shell=")
    assert problems == []


# --- listening sockets ----------------------------------------------------------------


def _listening() -> dict[str, tuple[str, int]]:
    """Socket inode -> (address, port) of every TCP socket in LISTEN state."""
    out = {}
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            hex_addr, hex_port = fields[1].split(":")
            raw = bytes.fromhex(hex_addr)
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            out[fields[9]] = (socket.inet_ntop(family, words), int(hex_port, 16))
    return out


def _sockets_of(pid: int, listening: dict[str, tuple[str, int]]) -> list[tuple[str, int]]:
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = fd.readlink().as_posix()
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in listening:
            found.append(listening[link[8:-1]])
    return found


LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


@pytest.mark.integration
def test_every_listening_socket_of_the_stack_and_a_worker_is_on_loopback(stack, unique, tmp_path):
    settings = h.isolated(stack, unique, web_port=6173)
    h.create(settings)
    proc = start_worker(settings, tmp_path / "worker.log")
    try:
        wait_ready(settings, proc)
        listening = _listening()
        seen = {"worker": _sockets_of(proc.pid, listening)}
        for service in all_services(stack):
            pid = process.read_pid(service, stack)
            assert pid is not None, f"{service.name} is not running"
            seen[service.name] = _sockets_of(pid, listening)
    finally:
        stop_worker(proc)
        h.destroy(settings)
    exposed = {name: [s for s in socks if s[0] not in LOOPBACK] for name, socks in seen.items()}
    record(
        settings,
        "loopback",
        listening_sockets={name: sorted(p for _, p in socks) for name, socks in seen.items()},
        exposed=sum(len(v) for v in exposed.values()),
    )
    assert all(seen.values()), seen  # each process listens somewhere: the check saw it
    assert exposed == {name: [] for name in seen}
