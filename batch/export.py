"""Snapshot the shop's data for the batch: JSONL for mrjob, Parquet for Spark.

:func:`export_hbase` scans the HBase tables ``customers``, ``products`` and
``orders`` with one upper time bound taken before the first scan, so every table
shows the same moment: a cell written while the export runs is left out.
:func:`export_files` takes the generator's raw files instead.  Both write
``<out>/<YYYY-MM-DD>/{customers,products,orders}.{jsonl,parquet}`` and
``export.json``; the day's directory is built aside and then swapped in, so a rerun
replaces that day only and a failed run leaves the previous one whole.

The JSONL files carry every record as it is, malformed ones included, for the ETL
to reject with a reason; the Parquet files hold the records that fit the typed
schemas of :mod:`streamproc.generator` (the export's counts say how many did not).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from streamproc.generator import (
    CUSTOMER_SCHEMA,
    FORMATS,
    ORDER_SCHEMA,
    PRODUCT_SCHEMA,
    json_lines,
)
from streamproc.settings import Settings

SCHEMAS: dict[str, pa.Schema] = {
    "customers": CUSTOMER_SCHEMA,
    "products": PRODUCT_SCHEMA,
    "orders": ORDER_SCHEMA,
}
#: rows a Thrift scanner call fetches
SCAN_BATCH = 5_000
_ROWS_PER_PARQUET_BATCH = 100_000


def day_dir(out: Path, day: date) -> Path:
    """Return the export directory of ``day`` under ``out``."""
    return out / day.isoformat()


def typed(obj: Any, schema: pa.Schema) -> dict[str, Any] | None:
    """Return ``obj`` as a row of ``schema``, or ``None`` when it does not fit.

    It fits when it is a JSON object with exactly the schema's fields, each an int
    (not a bool) or a string as the schema says, or null.
    """
    if type(obj) is not dict or len(obj) != len(schema.names) or obj.keys() != set(schema.names):
        return None
    for field in schema:
        value = obj[field.name]
        if value is None:
            continue
        if pa.types.is_integer(field.type) and type(value) is not int:
            return None
        if pa.types.is_string(field.type) and type(value) is not str:
            return None
    return obj


def hbase_row(cells: dict[bytes, bytes], schema: pa.Schema) -> dict[str, Any]:
    """Return a record of ``schema`` from the cells of an HBase row (``family:column``).

    Integer columns are parsed from their decimal text; a missing cell is ``None``.
    """
    values = {key.split(b":", 1)[1].decode(): raw for key, raw in cells.items()}
    row: dict[str, Any] = {}
    for field in schema:
        raw = values.get(field.name)
        if raw is None:
            row[field.name] = None
        elif pa.types.is_integer(field.type):
            try:
                row[field.name] = int(raw)
            except ValueError:
                row[field.name] = raw.decode("utf-8", errors="replace")
        else:
            row[field.name] = raw.decode("utf-8", errors="replace")
    return row


class _Writer:
    """Writes one entity's JSONL lines and Parquet rows as they come."""

    def __init__(self, folder: Path, name: str) -> None:
        self.schema = SCHEMAS[name]
        self.jsonl = (folder / f"{name}.jsonl").open("wb")
        self.parquet = pq.ParquetWriter(folder / f"{name}.parquet", self.schema)
        self.rows: list[dict[str, Any]] = []
        self.lines = self.typed = 0

    def add_line(self, line: bytes) -> None:
        """Add one raw JSON line; it goes to Parquet too when it fits the schema."""
        line = line.rstrip(b"\r\n")
        if not line.strip():
            return
        self.jsonl.write(line + b"\n")
        self.lines += 1
        try:
            row = typed(orjson.loads(line), self.schema)
        except orjson.JSONDecodeError:
            row = None
        if row is not None:
            self._add_row(row)

    def add_record(self, row: dict[str, Any]) -> None:
        """Add one record (already a dict)."""
        self.jsonl.write(orjson.dumps(row) + b"\n")
        self.lines += 1
        if typed(row, self.schema) is not None:
            self._add_row(row)

    def add_table(self, table: pa.Table) -> None:
        """Add a typed table (from Parquet or CSV)."""
        table = table.select(self.schema.names).cast(self.schema)
        self.jsonl.write("".join(json_lines(table).to_pylist()).encode())
        self.parquet.write_table(table)
        self.lines += table.num_rows
        self.typed += table.num_rows

    def _add_row(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.typed += 1
        if len(self.rows) >= _ROWS_PER_PARQUET_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.parquet.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> dict[str, int]:
        """Finish both files; return ``{"records", "parquet_rows"}``."""
        self._flush()
        self.parquet.close()
        self.jsonl.close()
        return {"records": self.lines, "parquet_rows": self.typed}


def _publish(out: Path, day: date, fill: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Build the day's directory aside with ``fill``, then swap it in."""
    out.mkdir(parents=True, exist_ok=True)
    target = day_dir(out, day)
    staging = Path(tempfile.mkdtemp(prefix=f".{day.isoformat()}-", dir=out))
    staging.chmod(0o755)
    try:
        meta = {"date": day.isoformat(), **fill(staging)}
        (staging / "export.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
        if target.exists():
            old = target.with_name(f".{target.name}-old-{time.time_ns()}")
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return meta


def export_hbase(
    settings: Settings,
    out: Path,
    day: date,
    *,
    batch_size: int = SCAN_BATCH,
    report: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Export the HBase tables as of now to ``out/<day>``.

    Args:
        settings: Where HBase is and the table prefix.
        out: The batch data directory.
        day: The date the directory is named after.
        batch_size: Rows per Thrift scanner call.
        report: Called with a line of progress per table.

    Returns:
        The metadata also written to ``export.json``: the source, the snapshot time
        (milliseconds since the epoch, exclusive) and per-table counts.
    """
    from streamproc import hbase

    snapshot_ms = int(time.time() * 1000)

    def fill(folder: Path) -> dict[str, Any]:
        conn = hbase.connect(settings)
        counts = {}
        try:
            for name, schema in SCHEMAS.items():
                report(f"scanning {settings.table_name(name)}")
                writer = _Writer(folder, name)
                try:
                    table = conn.table(settings.table_name(name))
                    for _key, cells in table.scan(batch_size=batch_size, timestamp=snapshot_ms):
                        writer.add_record(hbase_row(cells, schema))
                finally:
                    counts[name] = writer.close()
        finally:
            conn.close()
        return {
            "source": f"hbase://{settings.hbase_host}:{settings.hbase_port}/"
            f"{settings.hbase_table_prefix}*",
            "snapshot_ms": snapshot_ms,
            "counts": counts,
        }

    return _publish(out, day, fill)


def detect_format(src: Path) -> str:
    """Return the format of a generator directory (its manifest, else its files).

    Raises:
        FileNotFoundError: ``src`` holds no generator output.
    """
    manifest = src / "manifest.json"
    if manifest.is_file():
        fmt = orjson.loads(manifest.read_bytes()).get("arguments", {}).get("format")
        if fmt in FORMATS:
            return fmt
    for fmt in FORMATS:
        if (src / f"customers.{fmt}").is_file():
            return fmt
    raise FileNotFoundError(f"{src} holds no generator output (customers.jsonl, .csv or .parquet)")


def _source_files(src: Path, name: str, fmt: str) -> list[Path]:
    if name == "orders":
        return sorted((src / "orders").glob(f"date=*/part-*.{fmt}"))
    return [src / f"{name}.{fmt}"]


def _read_typed(path: Path, fmt: str, schema: pa.Schema) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(path)
    options = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=False)
    return pacsv.read_csv(path, convert_options=options)


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle


def export_files(
    src: Path,
    out: Path,
    day: date,
    *,
    report: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Export the generator's files in ``src`` (jsonl, csv or parquet) to ``out/<day>``.

    Stock updates are not applied: products keep the stock they were generated with.

    Returns:
        The metadata also written to ``export.json``.

    Raises:
        FileNotFoundError: ``src`` holds no generator output.
    """
    fmt = detect_format(src)

    def fill(folder: Path) -> dict[str, Any]:
        counts = {}
        for name, schema in SCHEMAS.items():
            files: Iterable[Path] = _source_files(src, name, fmt)
            report(f"reading {name} ({fmt})")
            writer = _Writer(folder, name)
            try:
                for path in files:
                    if fmt == "jsonl":
                        for line in _lines(path):
                            writer.add_line(line)
                    else:
                        writer.add_table(_read_typed(path, fmt, schema))
            finally:
                counts[name] = writer.close()
        return {"source": str(src.resolve()), "format": fmt, "counts": counts}

    return _publish(out, day, fill)
