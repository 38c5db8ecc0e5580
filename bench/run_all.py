"""Run every benchmark in bench/ and write BENCHMARKS.md and the raw JSON beside it.

Each benchmark prints one JSON object at the end of its stdout; this script keeps
them in ``bench/results/<name>.json`` and ``BENCHMARKS.json`` and renders every
figure into ``BENCHMARKS.md`` with the machine it ran on.  No figure is typed in by
hand.

Usage: python bench/run_all.py [--quick] [--only generator,producer,...]
``--quick`` runs smaller sizes (minutes instead of an hour).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: name -> (full arguments, --quick arguments)
BENCHES = {
    "generator": ([], ["--orders", "500000", "--runs", "3"]),
    "producer": ([], ["--orders", "100000", "--runs", "3"]),
    "stream": (
        ["--orders", "300000", "--runs", "3"],
        ["--orders", "30000", "--runs", "1", "--seconds", "10"],
    ),
    # 6.7 million orders: about 1 GB of orders as the JSON lines mrjob reads (150 MB a
    # million); --size counts Parquet bytes, and 1 GB of those is about 47 million orders.
    # inline runs the ETL in this process; local in a process per task, both cores busy
    "batch": (["--orders", "6700000", "--runners", "inline,local"], ["--orders", "100000"]),
    "refresh": ([], ["--runs", "3"]),
    "dashboard": (
        ["--sessions", "50", "--rate", "2000", "--minutes", "5", "--samples", "30"],
        ["--minutes", "1", "--samples", "10"],
    ),
    "state": ([], ["--customers", "100000", "--products", "10000"]),
    "dag": (
        ["--size", "1GB", "--runner", "inline"],
        ["--size", "20MB", "--customers", "5000", "--products", "500", "--runner", "inline"],
    ),
}


def machine() -> dict[str, str]:
    """Cores, memory and the versions that matter."""
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    versions = {
        name: metadata.version(name)
        for name in ("faust-streaming", "aiokafka", "kafka-python", "happybase", "pyspark")
    }
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "java": java.splitlines()[0] if java else "?",
        **versions,
    }


def run(name: str, args: list[str], out: Path) -> dict:
    """Run ``bench_<name>.py`` with ``args``; return (and keep) its JSON."""
    cmd = [sys.executable, f"bench/bench_{name}.py", *args]
    print(f"== {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:  # reported in BENCHMARKS.md, the other benchmarks still run
        return {"command": " ".join(["python", *cmd[1:]]), "error": f"exit {done.returncode}"}
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):  # pretty-printed JSON: take the whole output
        result = json.loads(done.stdout[done.stdout.index("{") :])
    result = {
        "command": " ".join(["python", *cmd[1:]]),
        "ran_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_s": round(time.monotonic() - t0, 1),
        **result,
    }
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _rows(prefix: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _rows(f"{prefix}.{k}" if prefix else k, v)]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [row for i, v in enumerate(value) for row in _rows(f"{prefix}[{i}]", v)]
    return [(prefix, json.dumps(value) if isinstance(value, list) else str(value))]


def render(info: dict[str, str], results: dict[str, dict]) -> str:
    """Return BENCHMARKS.md for ``results``."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python bench/run_all.py`) on {when}; raw JSON in",
        "`BENCHMARKS.json`. Medians of the runs each benchmark states; baselines (raw",
        "aiokafka consumer, DuckDB) are measured in the same run. A benchmark not rerun",
        "keeps the figures of its last run (`--only`); each says when it ran.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
    ]
    for name, result in results.items():
        lines += [
            "",
            f"## {name}",
            "",
            f"`{result['command']}`",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in _rows("", result) if k != "command"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated names")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {unknown}; expected some of {list(BENCHES)}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    # the figures of benchmarks not rerun this time are kept: from bench/results/ (this
    # checkout's runs), else from the BENCHMARKS.json they were published in
    published = ROOT / "BENCHMARKS.json"
    kept = json.loads(published.read_text()) if published.is_file() else {}
    kept.update({p.stem: json.loads(p.read_text()) for p in out.glob("*.json")})
    results = {n: run(n, BENCHES[n][1 if args.quick else 0], out) for n in names}
    for name in BENCHES:
        if name not in results and name in kept:
            results[name] = kept[name]
    results = {n: results[n] for n in BENCHES if n in results}
    info = machine()
    (ROOT / "BENCHMARKS.md").write_text(render(info, results))
    (ROOT / "BENCHMARKS.json").write_text(json.dumps({"machine": info, **results}, indent=2) + "\n")
    print(f"wrote {ROOT / 'BENCHMARKS.md'}", file=sys.stderr)
    failed = [n for n in names if "error" in results[n]]
    if failed:  # written down in BENCHMARKS.md, and the command fails
        sys.exit(f"failed: {', '.join(failed)} (see the errors above)")


if __name__ == "__main__":
    main()
