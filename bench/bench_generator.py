"""Generator and decoder benchmark.

* generate: ``generate()`` writes N orders (plus the shop's customers, products and
  stock updates) to Parquet, R times into fresh directories; the median MB/s counts
  the bytes of the order files over the whole call's wall time, rows/s the orders.
* decode: ``validation.decode("orders", raw)`` over 200k generated order lines,
  best of 3, as microseconds per order.

Prints a summary on stderr and one JSON object on stdout.
Usage: python bench/bench_generator.py [--orders N] [--runs R] [--customers C] [--products P]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow as pa

from streamproc import generator
from streamproc.validation import decode


def bench_generate(args: argparse.Namespace, root: Path) -> dict[str, float]:
    seconds, sizes = [], []
    for run in range(args.runs):
        out = root / f"run{run}"
        t0 = time.perf_counter()
        manifest = generator.generate(
            args.seed, args.customers, args.products, args.orders, out, "parquet",
            start=args.start, end=args.end, progress=False,
        )  # fmt: skip
        seconds.append(time.perf_counter() - t0)
        sizes.append(
            sum(f["bytes"] for name, f in manifest["files"].items() if name.startswith("orders/"))
        )
        files = sum(name.startswith("orders/") for name in manifest["files"])
        shutil.rmtree(out)
        print(
            f"run {run + 1}: {args.orders:,} orders, {sizes[-1] / 1e6:,.1f} MB in {files} files, "
            f"{seconds[-1]:.2f} s",
            file=sys.stderr,
        )
    median = statistics.median(seconds)
    mb_per_s = statistics.median(s / 1e6 / t for s, t in zip(sizes, seconds, strict=True))
    return {
        "orders": args.orders,
        "runs": args.runs,
        "seconds_median": round(median, 3),
        "parquet_mb_per_s": round(mb_per_s, 1),
        "parquet_gb_per_min": round(mb_per_s * 60 / 1000, 2),
        "rows_per_s": round(args.orders / median),
        "bytes_per_order": round(statistics.median(sizes) / args.orders, 1),
    }


def bench_decode(root: Path, n: int = 200_000) -> dict[str, float]:
    out = root / "decode"
    generator.generate(
        1, 10_000, 1_000, n, out, "jsonl",
        start=date(2025, 1, 1), end=date(2025, 1, 31), progress=False,
    )  # fmt: skip
    lines = [
        line
        for part in sorted((out / "orders").rglob("*.jsonl"))
        for line in part.read_bytes().splitlines()
    ]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for raw in lines:
            decode("orders", raw)
        best = min(best, time.perf_counter() - t0)
    if any(decode("orders", raw)[1] for raw in lines[:1000]):
        raise SystemExit("generated orders failed validation: the figure would be meaningless")
    per_order = best / len(lines) * 1e6
    print(f"decode+validate: {per_order:.2f} µs/order over {len(lines):,} orders", file=sys.stderr)
    return {"decode_validate_us_per_order": round(per_order, 2), "decode_orders": len(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2024, 12, 31))
    args = parser.parse_args()
    pa.array(["warm up"])  # pyarrow imports pandas on first use: keep that out of run 1
    with tempfile.TemporaryDirectory(prefix="bench-generator-") as tmp:
        root = Path(tmp)
        result = {"generate": bench_generate(args, root), "decode": bench_decode(root)}
    g = result["generate"]
    print(
        f"generate to Parquet: {g['parquet_mb_per_s']} MB/s ({g['parquet_gb_per_min']} GB/min), "
        f"{g['rows_per_s']:,} orders/s, median of {g['runs']}",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
