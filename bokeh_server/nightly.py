"""The latest nightly batch results, for the dashboard's "Nightly batch" tab.

The contract with the batch side is one JSON file per run::

    <data_dir>/batch/<YYYY-MM-DD>/report/summary.json

an object whose keys are all optional (a missing key shows "not in this run"):

``monthly``
    ``[{"month": "YYYY-MM", "revenue": cents}, ...]`` — sales per month.
``segments``
    ``[{"segment": str, "customers": int, "recency": days, "frequency": orders,
    "monetary": cents}, ...]`` — customer segments (RFM averages per segment).
``forecast``
    ``[{"month": "YYYY-MM", "actual": cents | null, "forecast": cents}, ...]`` —
    forecast against actuals (``actual`` null for months still to come).
``eda``
    ``{name: {value: count, ...}, ...}`` — distributions, drawn in key order.
``reconcile``
    ``{"ok": bool, "drift": {...}}`` — nightly figures against the real-time
    tables; green when ``ok`` and every number in ``drift`` is zero.

The run shown is the newest dated directory that has a ``summary.json``; a run
still being written (no summary yet) is skipped.  Money is integer cents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import orjson

_DATE = re.compile(r"\d{4}-\d\d-\d\d")
SUMMARY = Path("report") / "summary.json"
HIGHEST_COLOR = "#d1495b"
BAR_COLOR = "#2a6f97"


@dataclass(frozen=True)
class Nightly:
    """One nightly run's summary.

    Attributes:
        date: The run's date, ``YYYY-MM-DD`` (its directory name).
        path: The ``summary.json`` read.
        mtime_ns: Its modification time, to notice a rewrite.
        summary: The decoded object; empty when it could not be read.
        error: Why it could not be read, None when it was.
    """

    date: str
    path: Path
    mtime_ns: int
    summary: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


def latest(data_dir: Path) -> Path | None:
    """Return the ``summary.json`` of the newest dated run, None when there is none."""
    batch = Path(data_dir) / "batch"
    try:
        dated = sorted(
            (p for p in batch.iterdir() if p.is_dir() and _DATE.fullmatch(p.name)),
            key=lambda p: p.name,
            reverse=True,
        )
    except OSError:
        return None
    for run in dated:
        if (run / SUMMARY).is_file():
            return run / SUMMARY
    return None


def load(path: Path) -> Nightly:
    """Read one ``summary.json``; a bad file gives a :class:`Nightly` with ``error``."""
    date = path.parent.parent.name
    try:
        mtime = path.stat().st_mtime_ns
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        return Nightly(date, path, 0, {}, f"{type(exc).__name__}: {exc}")
    if not isinstance(data, dict):
        return Nightly(date, path, mtime, {}, "summary.json is not a JSON object")
    return Nightly(date, path, mtime, data)


def load_latest(data_dir: Path, previous: Nightly | None = None) -> Nightly | None:
    """Return the newest run, reusing ``previous`` when its file has not changed."""
    path = latest(data_dir)
    if path is None:
        return None
    if previous is not None and previous.path == path:
        try:
            if path.stat().st_mtime_ns == previous.mtime_ns:
                return previous
        except OSError:
            return None
    return load(path)


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def _num(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


def monthly_columns(rows: Any) -> dict[str, list]:
    """Return monthly sales bars by month; the highest month is flagged and colored."""
    rows = sorted(_rows(rows), key=lambda r: str(r.get("month")))
    revenue = [_num(r.get("revenue")) for r in rows]
    known = [v for v in revenue if not math.isnan(v)]
    top = max(known) if known else None
    highest = [v == top for v in revenue]
    return {
        "month": [str(r.get("month")) for r in rows],
        "revenue": revenue,
        "revenue_usd": [v / 100 for v in revenue],
        "highest": highest,
        "color": [HIGHEST_COLOR if h else BAR_COLOR for h in highest],
    }


def highest_month(columns: Mapping[str, list]) -> tuple[str, float] | None:
    """Return (month, revenue cents) of the flagged highest month, None when empty."""
    for month, revenue, flag in zip(
        columns["month"], columns["revenue"], columns["highest"], strict=True
    ):
        if flag:
            return month, revenue
    return None


def forecast_columns(rows: Any) -> dict[str, list]:
    """Return forecast against actuals by month; a missing actual is NaN (a gap)."""
    rows = sorted(_rows(rows), key=lambda r: str(r.get("month")))
    actual = [_num(r.get("actual")) for r in rows]
    forecast = [_num(r.get("forecast")) for r in rows]
    return {
        "month": [str(r.get("month")) for r in rows],
        "actual": actual,
        "forecast": forecast,
        "actual_usd": [v / 100 for v in actual],
        "forecast_usd": [v / 100 for v in forecast],
    }


def segment_columns(rows: Any) -> dict[str, list]:
    """Return the customer segments table, in the order the batch wrote them."""
    rows = _rows(rows)
    return {
        "segment": [str(r.get("segment")) for r in rows],
        "customers": [_num(r.get("customers")) for r in rows],
        "recency": [_num(r.get("recency")) for r in rows],
        "frequency": [_num(r.get("frequency")) for r in rows],
        "monetary": [_num(r.get("monetary")) for r in rows],
        "monetary_usd": [_num(r.get("monetary")) / 100 for r in rows],
    }


def eda_columns(distribution: Any) -> dict[str, list]:
    """Return one EDA distribution ``{value: count}`` as bars, in the file's order."""
    items = distribution.items() if isinstance(distribution, Mapping) else ()
    pairs = [(str(k), _num(v)) for k, v in items]
    return {"value": [k for k, _ in pairs], "count": [v for _, v in pairs]}


def drift_is_zero(drift: Any) -> bool:
    """Return whether every number in a (nested) drift report is zero."""
    if drift is None:
        return True
    if isinstance(drift, bool):
        return not drift
    if isinstance(drift, int | float):
        return drift == 0
    if isinstance(drift, Mapping):
        return all(drift_is_zero(v) for v in drift.values())
    if isinstance(drift, list):
        return all(drift_is_zero(v) for v in drift)
    return False


def _flatten(drift: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(drift, Mapping):
        for k, v in drift.items():
            yield from _flatten(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), drift


def reconcile_html(reconcile: Any) -> tuple[bool, str]:
    """Return (green, html) for the reconciliation status box."""
    if not isinstance(reconcile, Mapping):
        return False, '<div data-reconcile="missing">reconciliation: not in this run</div>'
    drift = reconcile.get("drift")
    green = reconcile.get("ok") is True and drift_is_zero(drift)
    color, word = ("#1a7f37", "reconciled — zero drift") if green else ("#cf222e", "DRIFT")
    rows = "".join(
        f"<tr><td>{escape(str(k))}</td><td style='text-align:right'>{escape(str(v))}</td></tr>"
        for k, v in _flatten(drift or {})
    )
    table = f"<table style='font-size:12px;margin-top:6px'>{rows}</table>" if rows else ""
    return green, (
        f'<div data-reconcile="{"ok" if green else "drift"}" style="padding:10px 14px;'
        f'border-radius:6px;background:{color};color:#fff;font-weight:600">'
        f"reconciliation: {word}</div>{table}"
    )
