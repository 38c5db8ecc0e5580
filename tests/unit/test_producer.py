"""The producer's loop, feeds and command, with a fake producer and a fake clock."""

from collections import Counter
from datetime import UTC, date, datetime

import orjson
import pytest
from click.testing import CliRunner
from kafka.errors import KafkaError, KafkaTimeoutError

from streamproc import generator, producer, producer_cli, validation
from streamproc.producer import Topics, directory_feed, live_feed, produce
from streamproc.settings import Settings

NOW = datetime(2025, 6, 1, tzinfo=UTC)


class FakeClock:
    """Monotonic seconds; every reading costs 10 µs, sleeping moves it on."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        self.t += 1e-5
        return self.t

    def sleep(self, seconds):
        assert seconds >= 0
        self.t += seconds


class FakeFuture:
    def __init__(self, error):
        self.error = error

    def add_callback(self, fn):
        if self.error is None:
            fn(object())
        return self

    def add_errback(self, fn):
        if self.error is not None:
            fn(self.error)
        return self


class FakeProducer:
    """Records every send with the fake clock's time; ``fail(topic, n)`` decides errors."""

    def __init__(self, clock=None, fail=None, raise_on=None):
        self.clock = clock or FakeClock()
        self.fail = fail or (lambda topic, n: False)
        self.raise_on = raise_on
        self.sent = []
        self.flushed_at = []
        self.closed = False

    def send(self, topic, value=None, key=None):
        n = len(self.sent)
        if self.raise_on is not None and self.raise_on(topic, n):
            raise self.raise_on.error
        self.sent.append((self.clock.t, topic, key, value))
        return FakeFuture(KafkaTimeoutError("gave up") if self.fail(topic, n) else None)

    def flush(self, timeout=None):
        self.flushed_at.append(len(self.sent))

    def close(self, timeout=None):
        self.closed = True

    def of(self, topic):
        return [s for s in self.sent if s[1] == topic]


def small_feed():
    return live_feed(5, 40, 100, first_order_id=1, now=lambda: NOW)


def run(fake, feed=None, **kw):
    return produce(fake, feed or small_feed(), clock=fake.clock, sleep=fake.clock.sleep, **kw)


# --- the loop ----------------------------------------------------------------------


def test_reference_data_goes_first_and_is_flushed_before_any_order():
    fake = FakeProducer()
    delivery = run(fake, max_orders=50)
    topics = [topic for _, topic, _, _ in fake.sent]
    assert topics[:40] == ["customers"] * 40
    assert topics[40:140] == ["products"] * 100
    assert fake.flushed_at[0] == 140
    assert "orders" not in topics[:140]
    assert delivery.sent["orders"] == 50
    assert delivery.acked == delivery.total_sent and delivery.unacknowledged == 0


def test_orders_are_paced_at_the_rate():
    fake = FakeProducer()
    run(fake, rate=200, duration=3.0, stock_interval=0)
    times = [t for t, *_ in fake.of("orders")]
    start = fake.sent[fake.flushed_at[0] - 1][0]
    per_second = Counter(int(t - start) for t in times)
    assert len(times) == pytest.approx(600, abs=2)
    assert all(per_second[s] == pytest.approx(200, abs=2) for s in range(3))


def test_rate_zero_sends_as_fast_as_possible_up_to_max_orders():
    fake = FakeProducer()
    delivery = run(fake, rate=0, max_orders=12_345, stock_interval=0)
    assert delivery.sent["orders"] == 12_345
    assert fake.clock.t < 1000.0 + 5  # never slept: only clock readings passed


def test_stock_batches_go_out_every_interval():
    fake = FakeProducer()
    delivery = run(fake, rate=100, duration=3.5, stock_interval=1.0)
    stock = fake.of("stock-updates")
    start = fake.sent[fake.flushed_at[0] - 1][0]
    batch_starts = sorted({round(t - start, 1) for t, *_ in stock})
    assert batch_starts == [0.0, 1.0, 2.0, 3.0]
    assert delivery.stock_batches == 4
    assert len(stock) == 4 * 2  # 2% of 100 products per batch
    values = [validation.decode("stock-updates", v, NOW)[0] for *_, v in stock]
    assert all(v is not None and v.updated_at == "2025-06-01T00:00:00Z" for v in values)


def test_a_stall_skips_missed_stock_batches_instead_of_bursting():
    clock = FakeClock()
    fake = FakeProducer(clock=clock)
    feed = small_feed()
    orders = feed.orders

    def slow_orders():
        for n, message in enumerate(orders):
            if n == 10:
                clock.t += 5.0  # the process stalls for five intervals
            yield message

    feed.orders = slow_orders()
    run(fake, feed, rate=100, duration=7.0, stock_interval=1.0)
    start = fake.sent[fake.flushed_at[0] - 1][0]
    batch_starts = sorted({round(t - start, 1) for t, *_ in fake.of("stock-updates")})
    assert len(batch_starts) <= 4
    gaps = [b - a for a, b in zip(batch_starts, batch_starts[1:], strict=False)]
    assert all(gap >= 0.99 for gap in gaps)


def test_unacknowledged_records_are_counted():
    fake = FakeProducer(fail=lambda topic, n: topic == "orders" and n % 10 == 0)
    delivery = run(fake, rate=0, max_orders=1_000, stock_interval=0)
    assert delivery.failed == 100
    assert delivery.unacknowledged == 100
    assert delivery.errors == Counter({"KafkaTimeoutError": 100})


def test_failed_reference_data_stops_before_orders():
    fake = FakeProducer(fail=lambda topic, n: topic == "products" and n == 45)
    delivery = run(fake, max_orders=100)
    assert fake.of("orders") == []
    assert delivery.unacknowledged == 1


def test_a_send_that_gives_up_stops_the_run_and_is_reported():
    def raise_on(topic, n):
        return topic == "orders" and n >= 500

    raise_on.error = KafkaTimeoutError("metadata not available after 60000 ms")
    fake = FakeProducer(raise_on=raise_on)
    delivery = run(fake, rate=0, max_orders=10_000)
    assert isinstance(delivery.last_error, KafkaTimeoutError)
    assert delivery.sent["orders"] < 10_000
    assert fake.flushed_at[-1] == len(fake.sent)  # flushed on the way out


def test_ctrl_c_flushes_and_reports_interrupted():
    def raise_on(topic, n):
        return topic == "orders" and n >= 300

    raise_on.error = KeyboardInterrupt()
    fake = FakeProducer(raise_on=raise_on)
    delivery = run(fake, rate=0)
    assert delivery.interrupted
    assert delivery.unacknowledged == 0
    assert len(fake.flushed_at) == 2


def test_negative_rate_is_refused():
    with pytest.raises(ValueError, match="rate"):
        run(FakeProducer(), rate=-1)


def test_topic_prefix():
    topics = Topics.prefixed("t1-")
    assert (topics.customers, topics.products, topics.orders, topics.stock_updates) == (
        "t1-customers",
        "t1-products",
        "t1-orders",
        "t1-stock-updates",
    )
    fake = FakeProducer()
    run(fake, topics=topics, max_orders=5)
    assert {topic for _, topic, _, _ in fake.sent} == {"t1-customers", "t1-products", "t1-orders",
                                                       "t1-stock-updates"}  # fmt: skip


def test_compression_is_lz4_when_the_library_is_installed():
    assert producer.compression_codec() == "lz4"


# --- feeds -------------------------------------------------------------------------


def test_live_feed_orders_are_valid_keyed_and_stamped_now():
    feed = live_feed(5, 40, 100, first_order_id=777, now=lambda: NOW)
    customers = list(feed.customers)
    assert [k for k, _ in customers] == [str(i).encode() for i in range(1, 41)]
    shop = generator.Shop(5, 40, 100)
    assert [validation.decode("customers", v, NOW)[0].name for _, v in customers] == (
        shop.customers.column("name").to_pylist()
    )
    orders = [next(feed.orders) for _ in range(5_000)]
    decoded = [validation.decode("orders", v, NOW) for _, v in orders]
    assert all(reasons == [] for _, reasons in decoded)
    assert [o.order_id for o, _ in decoded] == list(range(777, 5_777))
    assert [k for k, _ in orders] == [str(o.customer_id).encode() for o, _ in decoded]
    assert {o.transaction_date for o, _ in decoded} == {"2025-06-01T00:00:00Z"}


def test_live_feed_default_first_order_id_is_the_clock_in_microseconds():
    feed = live_feed(5, 4, 10, now=lambda: NOW)
    _, value = next(feed.orders)
    assert orjson.loads(value)["order_id"] == int(NOW.timestamp()) * 1_000_000


@pytest.fixture(scope="module")
def dirty_dirs(tmp_path_factory):
    out = {}
    for fmt in generator.FORMATS:
        path = tmp_path_factory.mktemp(fmt)
        manifest = generator.generate(
            3, 500, 150, 8_000, path, fmt, dirty_rate=0.1,
            start=date(2024, 1, 1), end=date(2024, 3, 31), progress=False,
        )  # fmt: skip
        out[fmt] = (path, manifest)
    return out


def test_jsonl_replay_sends_every_line_byte_for_byte(dirty_dirs):
    path, manifest = dirty_dirs["jsonl"]
    feed = directory_feed(path)
    sent = list(feed.orders)
    lines = [
        line
        for part in sorted((path / "orders").rglob("*.jsonl"))
        for line in part.read_bytes().split(b"\n")[:-1]
    ]
    assert [value for _, value in sent] == lines
    assert any(b"\xff\xfe" in value for _, value in sent)  # the non-UTF-8 garbage goes too
    keyed = [(key, value) for key, value in sent if key is not None]
    assert len(keyed) >= len(sent) - manifest["dirt"]["orders"]["truncated_json"]
    for key, value in keyed[:2_000]:
        assert b'"customer_id":' + key in value  # keyed by the customer


@pytest.mark.parametrize("fmt", generator.FORMATS)
def test_replay_of_every_format_decodes_as_the_manifest_says(dirty_dirs, fmt):
    path, manifest = dirty_dirs[fmt]
    feed = directory_feed(path)
    streams = {
        "customers": list(feed.customers),
        "products": list(feed.products),
        "orders": list(feed.orders),
        "stock-updates": [m for batch in feed.stock_batches for m in batch],
    }
    for topic, messages in streams.items():
        assert len(messages) == manifest["counts"][topic]
        found = Counter()
        for key, value in messages:
            record, reasons = validation.decode(topic, value, NOW)
            found[tuple(reasons)] += 1
            if record is not None:
                assert key == str(getattr(record, validation_id(topic))).encode()
        dirty = {reasons[0]: n for reasons, n in found.items() if reasons}
        assert dirty == {k: n for k, n in manifest["dirt"][topic].items() if n}, (fmt, topic)


def validation_id(topic):
    return {"customers": "customer_id", "orders": "customer_id"}.get(topic, "product_id")


def test_replayed_stock_updates_come_in_the_files_daily_batches(dirty_dirs):
    path, manifest = dirty_dirs["parquet"]
    batches = list(directory_feed(path).stock_batches)
    assert len(batches) == 91  # 2024-01-01 .. 2024-03-31
    assert {len(b) for b in batches} == {3}  # 2% of 150 products
    assert sum(len(b) for b in batches) == manifest["counts"]["stock-updates"]


def test_directory_without_data_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        directory_feed(tmp_path)


# --- the command -------------------------------------------------------------------


@pytest.fixture
def fake_kafka(monkeypatch):
    made = []

    def make(settings, **overrides):
        fake = made[0] if made else FakeProducer()
        made.append(fake)
        return fake

    monkeypatch.setattr(producer, "make_producer", make)
    return made


def test_command_replays_a_directory_and_prints_the_count(dirty_dirs, fake_kafka):
    path, manifest = dirty_dirs["jsonl"]
    result = CliRunner().invoke(
        producer_cli.produce, ["--from", str(path), "--rate", "0", "--stock-interval", "0"]
    )
    assert result.exit_code == 0, result.output
    counts = manifest["counts"]
    total = counts["customers"] + counts["products"] + counts["orders"]
    assert f"sent {total:,} records" in result.output
    assert fake_kafka[0].closed


def test_command_exits_non_zero_with_the_unacknowledged_count(fake_kafka):
    fake_kafka.append(FakeProducer(fail=lambda topic, n: topic == "orders" and n % 2 == 0))
    result = CliRunner().invoke(
        producer_cli.produce,
        ["--seed", "1", "--customers", "10", "--products", "10", "--rate", "0", "--orders", "100"],
    )
    assert result.exit_code == 1
    assert "50 records were not acknowledged" in result.output


def test_command_reports_an_unreachable_broker(monkeypatch):
    def unreachable(settings, **overrides):
        raise KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:9")

    monkeypatch.setattr(producer, "make_producer", unreachable)
    result = CliRunner().invoke(producer_cli.produce, ["--customers", "5", "--products", "5"])
    assert result.exit_code == 1
    assert "did not answer" in result.output and "0 records sent" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "fast"], "'fast' is not a rate like 500/s"),
        (["--rate", "-5/s"], "is not a rate"),
        (["--duration", "0"], "--duration"),
        (["--from", "/nonexistent/dir"], "--from"),
        (["--from", ".", "--seed", "3"], "not both"),
    ],
)
def test_command_names_bad_values(args, message, fake_kafka):
    result = CliRunner().invoke(producer_cli.produce, args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(("text", "rate"), [("500/s", 500.0), ("500", 500.0), ("0", 0.0),
                                            ("2.5 / s", 2.5)])  # fmt: skip
def test_rate_type(text, rate):
    assert producer_cli.RateType().convert(text, None, None) == rate


def test_make_producer_gives_up_with_a_kafka_error_when_no_broker_answers():
    nowhere = Settings(kafka_bootstrap_servers="127.0.0.1:1")
    with pytest.raises(KafkaError):
        producer.make_producer(nowhere, bootstrap_timeout_ms=1_000)
