"""The nightly results contract: which run is shown and how its parts are drawn."""

from __future__ import annotations

import json
import math
import os

import pytest

from bokeh_server import nightly


def write(data_dir, date, summary) -> None:
    report = data_dir / "batch" / date / "report"
    report.mkdir(parents=True, exist_ok=True)
    text = summary if isinstance(summary, str) else json.dumps(summary)
    (report / "summary.json").write_text(text)


def test_no_batch_directory_means_no_run(tmp_path):
    assert nightly.load_latest(tmp_path) is None
    (tmp_path / "batch" / "2025-01-02").mkdir(parents=True)  # started, no summary yet
    assert nightly.load_latest(tmp_path) is None


def test_newest_dated_run_with_a_summary_wins(tmp_path):
    write(tmp_path, "2025-01-02", {"monthly": []})
    write(tmp_path, "2025-01-10", {"monthly": [{"month": "2025-01", "revenue": 5}]})
    write(tmp_path, "latest", {"monthly": []})  # not a date: ignored
    (tmp_path / "batch" / "2025-01-11").mkdir()  # running now: no summary yet
    run = nightly.load_latest(tmp_path)
    assert run.date == "2025-01-10"
    assert run.summary["monthly"][0]["revenue"] == 5


def test_unreadable_summary_is_reported_not_raised(tmp_path):
    write(tmp_path, "2025-02-01", "{not json")
    run = nightly.load_latest(tmp_path)
    assert run.error and run.summary == {}


def test_unchanged_file_is_not_read_again(tmp_path):
    write(tmp_path, "2025-02-01", {"monthly": []})
    first = nightly.load_latest(tmp_path)
    assert nightly.load_latest(tmp_path, first) is first
    write(tmp_path, "2025-02-01", {"monthly": [{"month": "2025-02", "revenue": 1}]})
    path = first.path
    os.utime(path, ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
    second = nightly.load_latest(tmp_path, first)
    assert second is not first and second.summary["monthly"]


def test_highest_month_is_flagged():
    rows = [
        {"month": "2025-03", "revenue": 900},
        {"month": "2025-01", "revenue": 100},
        {"month": "2025-02", "revenue": 1_500},
    ]
    cols = nightly.monthly_columns(rows)
    assert cols["month"] == ["2025-01", "2025-02", "2025-03"]
    best = max(rows, key=lambda r: r["revenue"])
    assert nightly.highest_month(cols) == (best["month"], best["revenue"])
    assert cols["highest"] == [False, True, False]
    assert cols["color"][1] == nightly.HIGHEST_COLOR


def test_forecast_gaps_where_there_is_no_actual():
    cols = nightly.forecast_columns(
        [
            {"month": "2025-02", "actual": None, "forecast": 300},
            {"month": "2025-01", "actual": 200, "forecast": 210},
        ]
    )
    assert cols["month"] == ["2025-01", "2025-02"]
    assert cols["actual_usd"][0] == 2.0 and math.isnan(cols["actual_usd"][1])


@pytest.mark.parametrize(
    ("reconcile", "green"),
    [
        ({"ok": True, "drift": {"revenue": 0, "orders": 0, "by": {"month": {"2025-01": 0}}}}, True),
        ({"ok": True, "drift": {}}, True),
        ({"ok": True, "drift": {"revenue": 12}}, False),
        ({"ok": False, "drift": {"revenue": 0}}, False),
        (None, False),
    ],
)
def test_reconciliation_is_green_only_with_zero_drift(reconcile, green):
    got, html = nightly.reconcile_html(reconcile)
    assert got is green
    assert ('data-reconcile="ok"' in html) is green


def test_eda_keeps_the_file_order():
    assert nightly.eda_columns({"b": 2, "a": 1}) == {"value": ["b", "a"], "count": [2.0, 1.0]}
    assert nightly.eda_columns("junk") == {"value": [], "count": []}
