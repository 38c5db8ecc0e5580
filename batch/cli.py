"""``streamproc batch ...``: export, etl, analyze, report, publish, reconcile, run."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import click
import orjson
from rich.console import Console

from streamproc.settings import get_settings

console = Console(stderr=True, highlight=False)


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: expected YYYY-MM-DD") from None


def _common(func: Callable) -> Callable:
    func = click.option(
        "--date",
        "day",
        callback=_date,
        help="Day of the export directory, YYYY-MM-DD [default: today, UTC].",
    )(func)
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Batch data directory [default: $ECOM_DATA_DIR/batch].",
    )(func)


def _out(out: Path | None) -> Path:
    return out if out is not None else get_settings().data_dir / "batch"


def _reporter() -> Callable[[str], None]:
    t0 = time.monotonic()
    return lambda msg: console.print(f"[dim]{time.monotonic() - t0:6.1f}s[/dim] {msg}")


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    sys.exit(code)


def _quiet_mrjob() -> None:
    # mrjob logs every step at info and warns that no config was read (on purpose)
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger("mrjob").setLevel(logging.ERROR)


def _day_dir(out: Path | None, day: date) -> Path:
    folder = _out(out) / day.isoformat()
    if not folder.is_dir():
        _fail(f"no export for {day.isoformat()} in {folder.parent}: run `streamproc batch export`")
    return folder


@click.group()
def batch() -> None:
    """Run the nightly batch: export, MapReduce ETL, Spark analysis, report, reconciliation.

    The order of the nightly DAG: export, etl, analyze --stage analysis, analyze --stage
    ml, reconcile, publish.
    """


@batch.command("export")
@_common
@click.option(
    "--from-files",
    "from_files",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Export the generator's files in DIR instead of the HBase tables.",
)
@click.option(
    "--scan-batch",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Rows per HBase scanner call.",
)
def export_cmd(out: Path | None, day: date, from_files: Path | None, scan_batch: int) -> None:
    """Snapshot customers, products and orders as JSONL and Parquet under OUT/DATE.

    Prints OUT/DATE on stdout (the progress goes to stderr).
    """
    from batch import export

    report = _reporter()
    try:
        if from_files is not None:
            meta = export.export_files(from_files, _out(out), day, report=report)
        else:
            meta = export.export_hbase(
                get_settings(), _out(out), day, batch_size=scan_batch, report=report
            )
    except (FileNotFoundError, OSError) as exc:
        _fail(str(exc))
    counts = ", ".join(f"{name} {c['records']:,}" for name, c in meta["counts"].items())
    folder = export.day_dir(_out(out), day)
    console.print(f"exported {counts} to {folder}")
    click.echo(folder)  # stdout: the day's directory alone, for a caller (the DAG's XCom)


@batch.command("etl")
@_common
@click.option(
    "-r",
    "--runner",
    type=click.Choice(["inline", "local", "hadoop"]),
    default="inline",
    show_default=True,
    help="mrjob runner; hadoop uses the stack's hadoop launcher.",
)
@click.option("--strict", is_flag=True, help="Repair nothing: apply the stream's rules only.")
@click.option(
    "--mrjob-conf",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="An mrjob config file [default: none is read].",
)
def etl_cmd(
    out: Path | None, day: date, runner: str, strict: bool, mrjob_conf: Path | None
) -> None:
    """Clean, enrich and sum the export with the MapReduce jobs."""
    from batch.mapreduce.pipeline import HadoopOptions, NotEnoughDisk, run_etl

    _quiet_mrjob()
    folder = _day_dir(out, day)
    settings = get_settings()
    hadoop = None
    if runner == "hadoop":
        try:
            hadoop = HadoopOptions.local_stack(settings.cache_dir, folder / "etl-hadoop-tmp")
        except FileNotFoundError as exc:
            _fail(str(exc))
    try:
        summary = run_etl(
            folder, runner, strict=strict, hadoop=hadoop, conf_path=mrjob_conf, report=_reporter()
        )
    except NotEnoughDisk as exc:
        _fail(str(exc))
    console.print_json(
        orjson.dumps({"records": summary["records"], **summary["counters"]}).decode()
    )


@batch.command("analyze")
@_common
@click.option("--master", default="local[2]", show_default=True, help="Spark master URL.")
@click.option("--shuffle-partitions", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option(
    "--hbase/--no-hbase",
    default=True,
    show_default=True,
    help="Write the sales figures to HBase sales_summary (batch family); --stage all only.",
)
@click.option(
    "--stage",
    type=click.Choice(["all", "analysis", "ml"]),
    default="all",
    show_default=True,
    help="analysis: EDA, analysis, statistics; ml: the MLlib models; each keeps the other's.",
)
def analyze_cmd(
    out: Path | None,
    day: date,
    master: str,
    shuffle_partitions: int,
    top: int,
    hbase: bool,
    stage: str,
) -> None:
    """Run EDA, analysis, statistics and MLlib models with Spark."""
    from batch.spark.job import run_analysis, run_ml, run_spark
    from batch.spark.session import spark_session

    folder = _day_dir(out, day)
    spark = spark_session(master, shuffle_partitions)
    report = _reporter()
    try:
        if stage == "analysis":
            results = run_analysis(spark, folder, top_n=top, report=report)
        elif stage == "ml":
            results = run_ml(spark, folder, report=report)
        else:
            results = run_spark(
                spark,
                folder,
                settings=get_settings() if hbase else None,
                top_n=top,
                report=report,
            )
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    finally:
        spark.stop()
    console.print_json(orjson.dumps({k: v for k, v in results.items() if k != "tables"}).decode())


@batch.command("report")
@_common
def report_cmd(out: Path | None, day: date) -> None:
    """Write the static HTML report with PNG charts."""
    from batch.report import build_report

    try:
        index = build_report(_day_dir(out, day) / "spark")
    except FileNotFoundError as exc:
        _fail(str(exc))
    console.print(f"report: {index}")


@batch.command("publish")
@_common
@click.option(
    "--hbase/--no-hbase",
    default=True,
    show_default=True,
    help="Write the sales figures to HBase sales_summary (batch family).",
)
def publish_cmd(out: Path | None, day: date, hbase: bool) -> None:
    """Publish the Spark results: HBase sales_summary and the HTML report."""
    from batch.report import build_report
    from batch.spark.job import publish_summary

    spark_dir = _day_dir(out, day) / "spark"
    try:
        if hbase:
            rows = publish_summary(get_settings(), spark_dir)
            console.print(f"sales_summary: {rows:,} rows")
        index = build_report(spark_dir)
    except FileNotFoundError as exc:
        _fail(str(exc))
    console.print(f"report: {index}")


@batch.command("reconcile")
@_common
@click.option(
    "--url",
    default=None,
    help="Base URL of the worker's web views [default: http://ECOM_WEB_HOST:ECOM_WEB_PORT].",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the drift report [default: OUT/DATE/reconcile.json].",
)
def reconcile_cmd(out: Path | None, day: date, url: str | None, report_path: Path | None) -> None:
    """Compare the batch figures with the real-time views; exit 1 on any drift."""
    from batch import reconcile

    folder = _day_dir(out, day)
    sales_path = folder / "etl" / "sales.json"
    if not sales_path.is_file():
        _fail(f"{sales_path} is missing: run `streamproc batch etl`")
    settings = get_settings()
    base = url or f"http://{settings.web_host}:{settings.web_port}"
    try:
        stream = reconcile.stream_figures(base)
    except ValueError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read the web views at {base}: {exc}", code=2)
    result = reconcile.drift(reconcile.batch_figures(orjson.loads(sales_path.read_bytes())), stream)
    target = report_path or folder / "reconcile.json"
    target.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    rev = result["revenue"]
    console.print(
        f"revenue batch {rev['total_revenue']['batch']:,} stream "
        f"{rev['total_revenue']['stream']:,}; orders batch {rev['orders']['batch']:,} "
        f"stream {rev['orders']['stream']:,}; report {target}"
    )
    if not result["ok"]:
        dims = ", ".join(f"{d} ({len(k)})" for d, k in result["sales"].items()) or "none"
        console.print(
            f"[red]drift:[/red] {result['drifts']} figures differ; dimensions: {dims}; "
            f"top customers {len(result['top_customers'])}, "
            f"top products {len(result['top_products'])}"
        )
        sys.exit(1)
    console.print("[green]ok:[/green] no drift")


@batch.command("run")
@_common
@click.option(
    "--from-files",
    "from_files",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Export the generator's files in DIR instead of the HBase tables.",
)
@click.option(
    "-r",
    "--runner",
    type=click.Choice(["inline", "local", "hadoop"]),
    default="inline",
    show_default=True,
)
@click.pass_context
def run_cmd(
    ctx: click.Context, out: Path | None, day: date, from_files: Path | None, runner: str
) -> None:
    """Export, ETL, analyze (without HBase when --from-files) and report, in order."""
    ctx.invoke(export_cmd, out=out, day=day, from_files=from_files, scan_batch=5000)
    ctx.invoke(etl_cmd, out=out, day=day, runner=runner, strict=False, mrjob_conf=None)
    ctx.invoke(
        analyze_cmd,
        out=out,
        day=day,
        master="local[2]",
        shuffle_partitions=4,
        top=10,
        hbase=from_files is None,
        stage="all",
    )
    ctx.invoke(report_cmd, out=out, day=day)
