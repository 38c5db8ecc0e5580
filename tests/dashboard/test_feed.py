"""Pure logic of the live feed: money and labels, rates, columns, options."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bokeh_server import feed
from tests.dashboard.harness import sample_views


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "$0.00"), (5, "$0.05"), (123_456_789, "$1,234,567.89"), (-250, "-$2.50")],
)
def test_money_is_dollars_with_thousands_separators(cents, text):
    assert feed.money(cents) == text


def test_labels_keep_equal_names_apart():
    assert feed.label("Ada Okoro", 7) != feed.label("Ada Okoro", 3)
    assert feed.label(None, 11) == "#11"


def test_rates_orders_per_second_and_revenue_per_minute():
    meter = feed.RateMeter()
    assert meter.add(0.0, 0, 0, 0) is None  # one sample: no rate yet
    meter.add(0.5, 500, 40, 4_000)
    point = meter.add(1.0, 1_000, 100, 10_000)
    # 100 orders in the 1.0 s since the first sample; 10,000 cents in 1 s -> 600,000/min
    assert point.orders_per_s == pytest.approx(100.0)
    assert point.revenue_per_min == pytest.approx(600_000.0)
    point = meter.add(1.5, 1_500, 130, 13_000)
    # one second back is the sample at 0.5 s: (130 - 40) / 1.0
    assert point.orders_per_s == pytest.approx(90.0)
    assert [p.seq for p in meter.points] == [0, 1, 2]  # from the second sample on


def test_rates_use_at_most_the_last_minute_and_restart_when_totals_fall():
    meter = feed.RateMeter()
    for second in range(0, 121):
        point = meter.add(float(second), second * 1000, second * 10, second * 100)
    # 100 cents a second over the last 60 s
    assert point.revenue_per_min == pytest.approx(6_000.0)
    assert point.orders_per_s == pytest.approx(10.0)
    assert meter.add(121.0, 121_000, 5, 5) is None  # a fresh worker's smaller totals


def test_rate_points_roll_over():
    meter = feed.RateMeter(rollover=3)
    for second in range(10):
        meter.add(float(second), second, second, second)
    assert [p.seq for p in meter.points] == [6, 7, 8]


def test_sales_columns_order_labels_and_limit():
    views = sample_views()
    ages = feed.sales_columns("age_band", views["sales_age_band"])
    assert ages["key"] == ["18-24", "25-34", "65+"]
    pay = feed.sales_columns("payment_method", views["sales_payment_method"])
    assert pay["label"] == ["credit card", "digital wallet"]
    assert pay["revenue_usd"] == [4.0, 3.0]
    loc = feed.sales_columns("location", views["sales_location"], limit=15)
    assert len(loc["key"]) == 15
    assert loc["key"][0] == "City20, Land"
    assert loc["revenue"] == sorted(loc["revenue"], reverse=True)


def test_location_counts_most_first_ties_by_name():
    cols = feed.location_count_columns({"Oslo, Norway": 4, "Lima, Peru": 9, "Rome, Italy": 4})
    assert cols == {
        "location": ["Lima, Peru", "Oslo, Norway", "Rome, Italy"],
        "customers": [9, 4, 4],
    }


def test_top_columns_carry_names_ids_and_dollars():
    views = sample_views()
    cust = feed.customer_columns(views["top_customers"])
    assert cust["customer_id"] == [7, 3, 11]
    assert len(set(cust["label"])) == 3
    assert cust["revenue_usd"] == [900.0, 800.0, 5.0]
    prod = feed.product_columns(views["top_products_revenue"])
    assert prod["product_name"] == ["Oak Desk", "Steel Lamp"]


def test_totals_and_status_text():
    html = feed.totals_html({"total_revenue": 12_345_678, "orders": 1234, "rejected": 5}, 17)
    assert 'data-metric="total_revenue"' in html
    assert "$123,456.78" in html
    assert "1,234" in html
    at = datetime(2025, 3, 4, 12, 34, 56, tzinfo=UTC)
    live = feed.status_html(feed.Snapshot(as_of=at), "http://w")
    assert 'data-state="live"' in live and "12:34:56 UTC" in live
    stale = feed.status_html(feed.Snapshot(as_of=at, stale_since=at, error="refused"), "http://w")
    assert 'data-state="stale"' in stale and "stale since 12:34:56 UTC" in stale
    assert "refused" in stale


def test_options_round_trip_through_args():
    opts = feed.Options("http://127.0.0.1:6266", 0.3, Path("/tmp/d"), 1.5, 2.0)
    assert feed.parse_args(feed.to_argv(opts)) == opts


def test_options_default_to_the_settings(monkeypatch):
    from streamproc.settings import get_settings

    settings = get_settings()
    opts = feed.parse_args([])
    assert opts.worker_url == f"http://{settings.web_host}:{settings.web_port}"
    assert opts.data_dir == settings.data_dir
    assert not math.isnan(opts.interval)
