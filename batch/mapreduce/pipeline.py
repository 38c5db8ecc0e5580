"""Run the four MapReduce jobs over an export and collect their outputs.

``run_etl(day_dir)`` reads ``<day>/{customers,products,orders}.jsonl`` and writes
``<day>/etl/``: ``customers.jsonl``, ``products.jsonl`` and ``orders.jsonl`` (the
clean and enriched records, one JSON object a line), ``rejects.jsonl`` (every
rejected record with its reasons), ``sales.json`` (the sums by dimension) and
``summary.json`` (the job counters: kept, repaired, rejected and per reason).  The
jobs' own part files stay under ``<day>/etl/mr/<job>/``.
"""

from __future__ import annotations

import shutil
import sys
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
    """
    inputs = {name: day_dir / f"{name}.jsonl" for name in ("customers", "products", "orders")}
    for path in inputs.values():
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `streamproc batch export` first")
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
