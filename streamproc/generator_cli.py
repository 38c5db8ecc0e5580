"""``streamproc generate``: write a shop's customers, products, stock updates and orders."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import click

from streamproc import generator
from streamproc.settings import get_settings

DEFAULT_ORDERS = 100_000


class SizeType(click.ParamType):
    """A byte size such as ``5GB``, ``500MB`` or ``1.5GiB``."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """Return ``value`` once :func:`generator.parse_size` accepts it."""
        try:
            generator.parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


class DayType(click.ParamType):
    """A calendar day written ``YYYY-MM-DD``."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        """Return the day ``value`` names."""
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a day written YYYY-MM-DD", param, ctx)


@click.command("generate")
@click.option(
    "--seed", type=click.IntRange(min=0), default=42, show_default=True, help="Seed of every draw."
)
@click.option(
    "--customers", type=click.IntRange(min=1), default=10_000, show_default=True,
    help="How many customers.",
)  # fmt: skip
@click.option(
    "--products", type=click.IntRange(min=1), default=1_000, show_default=True,
    help="How many products.",
)  # fmt: skip
@click.option(
    "--orders", type=click.IntRange(min=0), default=None,
    help=f"How many orders [default: {DEFAULT_ORDERS:,}]; or give --size.",
)  # fmt: skip
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Output directory [default: $ECOM_DATA_DIR/generated].",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(generator.FORMATS), default="jsonl", show_default=True,
    help="File format; only jsonl carries wire-level garbage for the dead-letter path.",
)  # fmt: skip
@click.option(
    "--dirty-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
    help="Fraction of the rows of every file made dirty.",
)  # fmt: skip
@click.option(
    "--size", type=SizeType(), default=None,
    help="Bytes of order files wanted (5GB, 500MB, 1.5GiB); chooses the order count.",
)  # fmt: skip
@click.option(
    "--start", type=DayType(), default=None, help="First order day [default: 24 months ago]."
)
@click.option("--end", type=DayType(), default=None, help="Last order day [default: yesterday].")
def generate(
    seed: int,
    customers: int,
    products: int,
    orders: int | None,
    out_dir: Path | None,
    fmt: str,
    dirty_rate: float,
    size: str | None,
    start: date | None,
    end: date | None,
) -> None:
    """Generate realistic shop data, deterministic for a seed, into --out."""
    if orders is not None and size is not None:
        raise click.UsageError("give --orders or --size, not both")
    if start and end and start > end:
        raise click.BadParameter(
            f"{end} is before --start {start}; expected a day on or after it", param_hint="--end"
        )
    if start and start < date(2000, 1, 1):
        raise click.BadParameter(
            f"{start} is before 2000-01-01, which the validator rejects", param_hint="--start"
        )
    out = out_dir or get_settings().data_dir / "generated"
    if size is None and orders is None:
        orders = DEFAULT_ORDERS
    t0 = time.monotonic()
    try:
        manifest = generator.generate(
            seed, customers, products, orders, out, fmt, dirty_rate, start, end, size
        )
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from exc
    elapsed = time.monotonic() - t0
    files = manifest["files"]
    order_bytes = sum(f["bytes"] for name, f in files.items() if name.startswith("orders/"))
    counts = manifest["counts"]
    click.echo(
        f"wrote {counts['orders']:,} orders ({order_bytes / 1e6:,.1f} MB in "
        f"{sum(name.startswith('orders/') for name in files)} files), {counts['customers']:,} "
        f"customers, {counts['products']:,} products and {counts['stock-updates']:,} stock "
        f"updates to {out} in {elapsed:.1f} s; {sum(manifest['dirty'].values()):,} dirty rows"
    )
