"""The ``streamproc`` command line: stack, init, and the pipeline's steps."""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console
from rich.table import Table

from streamproc import logs
from streamproc.settings import get_settings

console = Console(stderr=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log lines (-v info, -vv debug).")
@click.version_option(package_name="streamproc")
def main(verbose: int) -> None:
    """Real-time e-commerce analytics: Kafka, Faust, HBase, batch and dashboard."""
    logs.configure(verbose)


# --- stack ----------------------------------------------------------------------


@main.group()
def stack() -> None:
    """Manage the local Kafka, HBase + Thrift and Hadoop (jars from Maven Central)."""


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}", markup=True)
    sys.exit(1)


@stack.command("fetch")
def stack_fetch() -> None:
    """Fetch the jars into the cache (reused when present)."""
    from stack import jars
    from stack.exceptions import StackError

    settings = get_settings()
    t0 = time.monotonic()
    try:
        for component in jars.COMPONENTS:
            console.print(f"{component}: {jars.fetch(settings.cache_dir, component)}")
    except StackError as exc:
        _fail(exc)
    size = jars.cache_size(settings.cache_dir) / 2**20
    console.print(f"jars ready in {time.monotonic() - t0:.1f} s; cache {size:.0f} MiB")


@stack.command("up")
def stack_up() -> None:
    """Start every service (idempotent) and wait until each is healthy."""
    from stack import process
    from stack.exceptions import StackError

    t0 = time.monotonic()
    try:
        process.up(get_settings(), report=console.print)
    except StackError as exc:
        _fail(exc)
    console.print(f"stack up in {time.monotonic() - t0:.1f} s")


@stack.command("down")
def stack_down() -> None:
    """Stop exactly the processes `up` started, by pid."""
    from stack import process

    process.down(get_settings(), report=console.print)


@stack.command("status")
def stack_status() -> None:
    """Print each service, its pid, port and health; exit 1 unless all are healthy."""
    from stack import process

    rows = process.status(get_settings())
    table = Table("service", "pid", "port", "health", "detail")
    for row in rows:
        health = "[green]healthy[/green]" if row.healthy else "[red]down[/red]"
        table.add_row(row.name, str(row.pid or "-"), str(row.port), health, row.detail[:80])
    Console().print(table)
    sys.exit(0 if all(r.healthy for r in rows) else 1)


@stack.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask before deleting.")
def stack_reset(yes: bool) -> None:
    """Stop the stack and delete its data and the worker's local state."""
    from stack import process

    settings = get_settings()
    if not yes and not click.confirm(
        f"Stop the stack and delete everything under {settings.state_dir}?", default=False
    ):
        raise click.Abort()
    process.reset(settings, report=console.print)


# --- init -----------------------------------------------------------------------


@main.command("init")
def init() -> None:
    """Create the Kafka topics and HBase tables that are missing (idempotent)."""
    from streamproc import provision
    from streamproc.retry import ServiceUnavailable

    settings = get_settings()
    try:
        created, tables = provision.create(settings)
        console.print(
            f"topics: {len(created)} created ({', '.join(created) or 'all existed'}), "
            f"{settings.topic_partitions} partitions each"
        )
        console.print(f"hbase tables: {len(tables)} created ({', '.join(tables) or 'all existed'})")
    except ServiceUnavailable as exc:
        _fail(exc)


@main.command("worker", context_settings={"ignore_unknown_options": True})
@click.option(
    "-l",
    "--loglevel",
    default="warn",
    show_default=True,
    type=click.Choice(["debug", "info", "warn", "error"]),
)
@click.argument("faust_args", nargs=-1, type=click.UNPROCESSED)
def worker(loglevel: str, faust_args: tuple[str, ...]) -> None:
    """Run the stream processor: ``faust -A streamproc.app worker``."""
    import os

    argv = [
        sys.executable,
        "-m",
        "faust",
        "-A",
        "streamproc.app",
        "worker",
        "-l",
        loglevel,
        *faust_args,
    ]
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with faust


@main.command("demo")
@click.option(
    "--rate",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Orders per second the producer streams.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds to run [default: until Ctrl-C].",
)
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
def demo(rate: int, duration: float | None, seed: int) -> None:
    """Run the real-time pipeline: a worker, the dashboard, and a producer streaming orders."""
    import subprocess

    from streamproc.supervise import start_worker, stop_worker, wait_ready

    settings = get_settings()
    log = settings.state_dir / "worker" / "worker.log"
    worker_proc = start_worker(settings, log)
    (settings.state_dir / "worker" / "worker.pid").write_text(f"{worker_proc.pid}\n")
    producer = board = None
    try:
        wait_ready(settings, worker_proc, timeout=180)
        board = subprocess.Popen([sys.executable, "-m", "streamproc.cli", "dashboard"])
        base = f"http://{settings.web_host}:{settings.web_port}"
        console.print(f"worker ready (pid {worker_proc.pid}, log {log}); web views:")
        for path in (
            "/api/revenue",
            "/api/top/customers?n=10",
            "/api/top/products?by=revenue&n=10",
            "/api/sales/month",
            "/api/sales/category",
            "/api/customers/by-location",
            "/api/stock/low",
            "/api/health",
        ):
            console.print(f"  {base}{path}")
        console.print(f"dashboard: http://{settings.web_host}:{settings.dashboard_port}/dashboard")
        cmd = [
            sys.executable,
            "-m",
            "streamproc.cli",
            "produce",
            "--seed",
            str(seed),
            "--rate",
            f"{rate}/s",
        ]
        if duration:
            cmd += ["--duration", str(duration)]
        producer = subprocess.Popen(cmd)
        producer.wait()
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        for child in (producer, board):
            if child is not None and child.poll() is None:
                child.terminate()
                child.wait()
        stop_worker(worker_proc)
        (settings.state_dir / "worker" / "worker.pid").unlink(missing_ok=True)
    console.print("stopped; the stack keeps running (`make down` stops it)")


@main.command("settings")
def show_settings() -> None:
    """Print the settings in force (secrets masked)."""
    for key, value in get_settings().describe().items():
        click.echo(f"{key} = {value}")


def _register() -> None:
    from batch.cli import batch
    from streamproc.dashboard_cli import dashboard
    from streamproc.generator_cli import generate
    from streamproc.producer_cli import produce

    main.add_command(generate)
    main.add_command(produce)
    main.add_command(dashboard)
    main.add_command(batch)


_register()

if __name__ == "__main__":
    main()
