"""Run the four MapReduce jobs over an export and collect their outputs.

``run_etl(day_dir)`` reads ``<day>/{customers,products,orders}.jsonl`` and writes
``<day>/etl/``: ``customers.jsonl``, ``products.jsonl`` and ``orders.jsonl`` (the
clean and enriched records, one JSON object a line), ``rejects.jsonl`` (every
rejected record with its reasons), ``sales.json`` (the sums by dimension) and
``summary.json`` (the job counters: kept, repaired, rejected and per reason).  The
jobs' own part files stay under ``<day>/etl/mr/<job>/``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from mrjob.job import MRJob

from batch.mapreduce.clean_customers import MRCleanCustomers
from batch.mapreduce.clean_products import MRCleanProducts
from batch.mapreduce.enrich_orders import MREnrichOrders
from batch.mapreduce.protocols import OrjsonProtocol
from batch.mapreduce.sales_by import MRSalesBy

RUNNERS = ("inline", "local", "hadoop")
#: the counter groups the jobs keep (Hadoop adds its own framework counters)
COUNTER_GROUPS = (
    "customers",
    "customer_rejects",
    "products",
    "product_rejects",
    "orders",
    "order_rejects",
    "sales",
)
#: bytes of disk a run takes per byte of ``orders.jsonl``: (the runner's temporary
#: files at their peak, the outputs under ``etl/``).  mrjob's inline and local runners
#: keep every step's input splits, map output, sorted and split reducer input and
#: output until the job ends, and orders go through three steps of MREnrichOrders;
#: measured over 200,000 orders (30 MB): inline 24.8x, local 25.2x, hadoop 8.7x
#: (the LocalJobRunner reads its input in place), outputs 4.7x.
DISK_PER_BYTE = {"inline": (25, 5), "local": (26, 5), "hadoop": (9, 5)}


class NotEnoughDisk(OSError):
    """A run would fill its disk: raised before any job starts."""


@dataclass(frozen=True)
class HadoopOptions:
    """Where mrjob's ``-r hadoop`` finds Hadoop.

    Attributes:
        hadoop_bin: The ``hadoop`` command (the stack's ``stack/bin/hadoop`` locally).
        streaming_jar: The ``hadoop-streaming-*.jar``.
        tmp_dir: A scratch directory for mrjob on the Hadoop file system.
    """

    hadoop_bin: Path
    streaming_jar: Path
    tmp_dir: Path

    @classmethod
    def local_stack(cls, cache_dir: Path, tmp_dir: Path) -> HadoopOptions:
        """Return the options of the local stack's Hadoop (jars in ``cache_dir``)."""
        import stack
        from stack import jars

        lib = jars.lib_dir(cache_dir, "hadoop")
        found = sorted(lib.glob("hadoop-streaming-*.jar"))
        if not found:
            raise FileNotFoundError(
                f"no hadoop-streaming jar in {lib}; run `streamproc stack fetch` first"
            )
        return cls(Path(stack.__file__).parent / "bin" / "hadoop", found[-1], tmp_dir)


def job_args(
    inputs: Sequence[Path],
    output_dir: Path,
    runner: str,
    *,
    hadoop: HadoopOptions | None = None,
    conf_path: Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """Return the mrjob command line of one job (no ``~/.mrjob.conf`` unless ``conf_path``).

    Raises:
        ValueError: ``runner`` is unknown, or ``hadoop`` is missing for ``-r hadoop``.
    """
    if runner not in RUNNERS:
        raise ValueError(f"runner must be one of {', '.join(RUNNERS)}, got {runner!r}")
    args = ["-r", runner]
    args += ["--conf-path", str(conf_path)] if conf_path else ["--no-conf"]
    if runner == "hadoop":
        if hadoop is None:
            raise ValueError("runner 'hadoop' needs HadoopOptions (hadoop_bin, streaming_jar)")
        args += [
            "--hadoop-bin",
            str(hadoop.hadoop_bin),
            "--hadoop-streaming-jar",
            str(hadoop.streaming_jar),
            "--hadoop-tmp-dir",
            hadoop.tmp_dir.as_uri(),
            "--python-bin",
            sys.executable,
            "--output-dir",
            output_dir.as_uri(),
            *extra,
            *(p.as_uri() for p in inputs),
        ]
    else:
        args += ["--output-dir", str(output_dir), *extra, *(str(p) for p in inputs)]
    return args


def run_job(job_class: type[MRJob], args: Sequence[str]) -> dict[str, dict[str, int]]:
    """Run one job to its ``--output-dir``; return its counters summed over the steps."""
    job = job_class(list(args))
    with job.make_runner() as runner:
        runner.run()
        counters: dict[str, dict[str, int]] = defaultdict(dict)
        for step in runner.counters():
            for group, values in step.items():
                if group not in COUNTER_GROUPS:
                    continue
                for name, value in values.items():
                    counters[group][name] = counters[group].get(name, 0) + value
    return {group: dict(sorted(values.items())) for group, values in sorted(counters.items())}


def read_output(output_dir: Path) -> Iterator[tuple[Any, Any]]:
    """Yield the ``(key, value)`` pairs of a job's part files (JSON protocol)."""
    protocol = OrjsonProtocol()
    for part in sorted(output_dir.glob("part-*")):
        with part.open("rb") as lines:
            for line in lines:
                yield protocol.read(line.rstrip(b"\n"))


def sales_document(pairs: Iterator[tuple[Any, Any]]) -> dict[str, Any]:
    """Return ``sales.json``: ``{"total": {...}, "by": {dimension: {key: {...}}}}``.

    Each figure is ``{"revenue", "orders", "quantity"}`` (revenue in cents).
    """
    by: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for (dimension, key), (revenue, orders, quantity) in pairs:
        by[dimension][key] = {"revenue": revenue, "orders": orders, "quantity": quantity}
    total = by.pop("total", {}).get("all", {"revenue": 0, "orders": 0, "quantity": 0})
    return {
        "total": total,
        "by": {dim: dict(sorted(keys.items())) for dim, keys in sorted(by.items())},
    }


def _copy_values(output_dir: Path, keys: dict[bytes, BinaryIO]) -> dict[bytes, int]:
    """Copy the values of a job's part files into ``keys[<the line's key>]``, a line each.

    The values are copied as the job wrote them (orjson, as the files' JSON lines
    are), neither decoded nor held: the ETL's outputs stream through at any size.
    Lines with another key are skipped.  Returns the count of lines copied per key.
    """
    counts = dict.fromkeys(keys, 0)
    for part in sorted(output_dir.glob("part-*")):
        with part.open("rb") as lines:
            for line in lines:
                key, _, value = line.partition(b"\t")
                out = keys.get(key)
                if out is not None:
                    out.write(value if value.endswith(b"\n") else value + b"\n")
                    counts[key] += 1
    return counts


def check_disk(day_dir: Path, runner: str, tmp_dir: Path | None = None) -> None:
    """Raise :class:`NotEnoughDisk` when the run would not fit its disks (see DISK_PER_BYTE).

    ``tmp_dir`` is where the runner keeps its temporary files (default: ``TMPDIR``).
    The outputs of an earlier run of the day count as free: the run replaces them.
    """
    if runner not in DISK_PER_BYTE:
        return  # job_args names the runner expected
    size = (day_dir / "orders.jsonl").stat().st_size
    tmp_factor, out_factor = DISK_PER_BYTE[runner]
    etl = day_dir / "etl"
    needs = [(tmp_dir or Path(tempfile.gettempdir()), size * tmp_factor), (etl, size * out_factor)]
    by_disk: dict[int, list[tuple[Path, int]]] = defaultdict(list)
    for path, need in needs:
        existing = next(p for p in (path, *path.parents) if p.exists())
        by_disk[os.stat(existing).st_dev].append((existing, need))
    for places in by_disk.values():
        need = sum(n for _, n in places)
        free = shutil.disk_usage(places[0][0]).free
        if etl.is_dir() and os.stat(etl).st_dev == os.stat(places[0][0]).st_dev:
            free += sum(f.stat().st_size for f in etl.rglob("*") if f.is_file())
        if need > free:
            where = " and ".join(dict.fromkeys(str(p) for p, _ in places))
            hadoop_factor = DISK_PER_BYTE["hadoop"][0]
            instead = f"-r hadoop ({hadoop_factor}x), a larger disk for TMPDIR"
            if runner == "hadoop":
                instead = "a larger disk for the day directory"
            raise NotEnoughDisk(
                f"the {runner} ETL of {_size(size)} of orders needs about {_size(need)} in "
                f"{where} ({tmp_factor}x the orders for mrjob's temporary files, "
                f"{out_factor}x for the outputs) and {_size(free)} are free: use "
                f"{instead} or a cluster"
            )


def _size(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n < 1e9 else f"{n / 1e9:,.1f} GB"


def run_etl(
    day_dir: Path,
    runner: str = "inline",
    *,
    strict: bool = False,
    hadoop: HadoopOptions | None = None,
    conf_path: Path | None = None,
    report: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Run the ETL jobs over the export in ``day_dir``; write ``day_dir/etl``.

    Args:
        day_dir: An export directory holding ``{customers,products,orders}.jsonl``.
        runner: ``inline``, ``local`` or ``hadoop``.
        strict: Apply the stream's rules only (repair nothing), to reconcile raw files.
        hadoop: Where Hadoop is, for ``runner="hadoop"``.
        conf_path: An mrjob config file; by default none is read.
        report: Called with a line of progress per job.

    Returns:
        The summary also written to ``etl/summary.json``.

    Raises:
        FileNotFoundError: An input file is missing.
        NotEnoughDisk: The run would not fit its disks (checked before any job runs).
    """
    inputs = {name: day_dir / f"{name}.jsonl" for name in ("customers", "products", "orders")}
    for path in inputs.values():
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `streamproc batch export` first")
    check_disk(day_dir, runner, hadoop.tmp_dir if hadoop and runner == "hadoop" else None)
    etl = day_dir / "etl"
    shutil.rmtree(etl, ignore_errors=True)
    mr = etl / "mr"
    mr.mkdir(parents=True)
    flags = ["--strict"] if strict else []
    common: dict[str, Any] = {"hadoop": hadoop, "conf_path": conf_path}
    plan: list[tuple[str, type[MRJob], list[Path], list[str]]] = [
        ("customers", MRCleanCustomers, [inputs["customers"]], flags),
        ("products", MRCleanProducts, [inputs["products"]], []),
        ("orders", MREnrichOrders, [mr / "customers", mr / "products", inputs["orders"]], flags),
        ("sales", MRSalesBy, [mr / "orders"], []),
    ]
    counters: dict[str, dict[str, int]] = {}
    seconds: dict[str, float] = {}
    for name, job_class, job_inputs, extra in plan:
        report(f"mrjob {job_class.__name__} (-r {runner})")
        t0 = time.monotonic()
        args = job_args(job_inputs, mr / name, runner, extra=extra, **common)
        counters.update(run_job(job_class, args))
        seconds[name] = round(time.monotonic() - t0, 2)
    written, rejected = {}, 0
    with (etl / "rejects.jsonl").open("wb") as rejects:
        for name, kind in (("customers", "customer"), ("products", "product"), ("orders", "order")):
            with (etl / f"{name}.jsonl").open("wb") as records:
                key = orjson.dumps(kind)
                counts = _copy_values(mr / name, {key: records, b'"reject"': rejects})
            written[name] = counts[key]
            rejected += counts[b'"reject"']
    written["rejects"] = rejected
    sales = sales_document(read_output(mr / "sales"))
    (etl / "sales.json").write_bytes(orjson.dumps(sales, option=orjson.OPT_INDENT_2))
    summary = {
        "runner": runner,
        "strict": strict,
        "records": written,
        "counters": counters,
        "seconds": seconds,
        "total": sales["total"],
    }
    (etl / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return summary
