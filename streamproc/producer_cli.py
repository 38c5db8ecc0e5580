"""``streamproc produce``: send customers, products, orders and stock updates to Kafka."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
from kafka.errors import KafkaError
from rich.console import Console

from streamproc import producer as ingest
from streamproc.settings import get_settings

_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*")


class RateType(click.ParamType):
    """Orders per second, written ``500`` or ``500/s``; 0 means as fast as possible."""

    name = "N/s"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """Return the rate ``value`` names, in orders per second."""
        if isinstance(value, int | float):
            return float(value)
        match = _RATE.fullmatch(str(value))
        if not match:
            self.fail(f"{value!r} is not a rate like 500/s (0 = as fast as possible)", param, ctx)
        return float(match.group(1))


@click.command("produce")
@click.option(
    "--from", "from_dir", default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Replay what `generate --out DIR` wrote (jsonl, csv or parquet).",
)  # fmt: skip
@click.option(
    "--seed", type=click.IntRange(min=0), default=None,
    help="Draw orders on the fly from the shop of this seed [default: 42].",
)  # fmt: skip
@click.option(
    "--customers", type=click.IntRange(min=1), default=10_000, show_default=True,
    help="Customers of the on-the-fly shop.",
)  # fmt: skip
@click.option(
    "--products", type=click.IntRange(min=1), default=1_000, show_default=True,
    help="Products of the on-the-fly shop.",
)  # fmt: skip
@click.option(
    "--rate", type=RateType(), default="100/s", show_default=True,
    help="Orders per second; 0 = as fast as possible.",
)  # fmt: skip
@click.option(
    "--duration", type=click.FloatRange(min=0, min_open=True), default=None,
    help="Seconds to send orders for [default: until the orders run out or Ctrl-C].",
)  # fmt: skip
@click.option(
    "--orders", "max_orders", type=click.IntRange(min=0), default=None,
    help="Orders to send, at most.",
)  # fmt: skip
@click.option(
    "--stock-interval", type=click.FloatRange(min=0), default=10.0, show_default=True,
    help="Seconds between stock-update batches; 0 sends none.",
)  # fmt: skip
@click.option(
    "--topic-prefix", default="", show_default=False,
    help="Put before every topic name, e.g. for a side-by-side run.",
)  # fmt: skip
def produce(
    from_dir: Path | None,
    seed: int | None,
    customers: int,
    products: int,
    rate: float,
    duration: float | None,
    max_orders: int | None,
    stock_interval: float,
    topic_prefix: str,
) -> None:
    """Send reference data, then orders in real time and stock updates in batches."""
    if from_dir is not None and seed is not None:
        raise click.UsageError("give --from DIR or --seed S, not both")
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    settings = get_settings()
    try:
        feed = (
            ingest.directory_feed(from_dir)
            if from_dir is not None
            else ingest.live_feed(42 if seed is None else seed, customers, products)
        )
    except FileNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="--from") from exc
    try:
        producer = ingest.make_producer(settings)
    except KafkaError as exc:
        console.print(
            f"[red]error:[/red] Kafka at {settings.kafka_bootstrap_servers} did not answer "
            f"({exc}); 0 records sent"
        )
        sys.exit(1)

    topics = ingest.Topics.prefixed(topic_prefix)
    # a line a second on a terminal, one every 5 s in a log
    every = 1.0 if console.is_terminal else 5.0
    last_line = 0.0

    def progress(delivery: ingest.Delivery, elapsed: float) -> None:
        nonlocal last_line
        if elapsed - last_line >= every:
            orders = delivery.sent[topics.orders]
            console.print(
                f"{elapsed:6.1f} s  {orders:,} orders ({orders / elapsed:,.0f}/s), "
                f"{delivery.acked:,} acknowledged, {delivery.failed:,} failed"
            )
            last_line = elapsed

    try:
        delivery = ingest.produce(
            producer,
            feed,
            topics,
            rate=rate,
            duration=duration,
            max_orders=max_orders,
            stock_interval=stock_interval,
            progress=progress,
        )
    finally:
        producer.close(timeout=10)
    console.print(ingest.summary(delivery))
    if delivery.interrupted:
        console.print("interrupted")
    if delivery.unacknowledged or delivery.last_error is not None:
        console.print(
            f"[red]error:[/red] {delivery.unacknowledged:,} records were not acknowledged "
            f"(errors: {dict(delivery.errors) or 'none'}; last: {delivery.last_error!r})"
        )
        sys.exit(1)
