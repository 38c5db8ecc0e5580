"""Reconcile the batch figures with the real-time web views: a drift report.

Both sides are brought to one shape (:func:`batch_figures`, :func:`stream_figures`)::

    {"revenue": {"total_revenue": int, "orders": int},
     "sales": {dimension: {key: {"revenue", "orders", "quantity"}}},
     "top_customers": [{"customer_id", "revenue", "orders"}, ...],
     "top_products": [{"product_id", "quantity", "revenue"}, ...]}

and :func:`drift` compares them figure by figure.  Money is integer cents, so the
figures must agree exactly: any difference is drift.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from streamproc.tables.dimensions import DIMENSIONS

#: length of the top-N lists compared (the views' maximum)
TOP_N = 100
_FIGURES = ("revenue", "orders", "quantity")


def top_customers(per_customer: Mapping[str, Mapping[str, int]], n: int = TOP_N) -> list[dict]:
    """Return the top ``n`` customers by revenue, ties by the lower id (as the stream ranks)."""
    ranked = sorted(per_customer.items(), key=lambda kv: (-kv[1]["revenue"], int(kv[0])))
    return [
        {"customer_id": int(cid), "revenue": v["revenue"], "orders": v["orders"]}
        for cid, v in ranked[:n]
    ]


def top_products(per_product: Mapping[str, Mapping[str, int]], n: int = TOP_N) -> list[dict]:
    """Return the top ``n`` products by revenue, ties by the lower id."""
    ranked = sorted(per_product.items(), key=lambda kv: (-kv[1]["revenue"], int(kv[0])))
    return [
        {"product_id": int(pid), "quantity": v["quantity"], "revenue": v["revenue"]}
        for pid, v in ranked[:n]
    ]


def batch_figures(sales: Mapping[str, Any], n: int = TOP_N) -> dict[str, Any]:
    """Return the batch side from ``etl/sales.json`` (see :mod:`batch.mapreduce.pipeline`)."""
    by = sales["by"]
    return {
        "revenue": {"total_revenue": sales["total"]["revenue"], "orders": sales["total"]["orders"]},
        "sales": {dim: dict(by.get(dim, {})) for dim in DIMENSIONS},
        "top_customers": top_customers(by.get("customer_id", {}), n),
        "top_products": top_products(by.get("product_id", {}), n),
    }


def _get_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http only
        return json.load(response)


def stream_figures(base_url: str, n: int = TOP_N, timeout: float = 30.0) -> dict[str, Any]:
    """Fetch the stream side from the worker's web views at ``base_url``.

    Raises:
        ValueError: ``base_url`` is not http(s).
        OSError: A view cannot be read (the worker is down, or answers 503 while
            restoring its tables).
    """
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(
            f"the web views' URL must start with http:// or https://, got {base_url!r}"
        )
    revenue = _get_json(f"{base}/api/revenue", timeout)
    return {
        "revenue": {"total_revenue": revenue["total_revenue"], "orders": revenue["orders"]},
        "sales": {dim: _get_json(f"{base}/api/sales/{dim}", timeout) for dim in DIMENSIONS},
        "top_customers": [
            {k: row[k] for k in ("customer_id", "revenue", "orders")}
            for row in _get_json(f"{base}/api/top/customers?n={n}", timeout)
        ],
        "top_products": [
            {k: row[k] for k in ("product_id", "quantity", "revenue")}
            for row in _get_json(f"{base}/api/top/products?by=revenue&n={n}", timeout)
        ],
    }


def _cell_diff(batch: Mapping[str, int] | None, stream: Mapping[str, int] | None) -> dict | None:
    b = {f: (batch or {}).get(f, 0) for f in _FIGURES}
    s = {f: (stream or {}).get(f, 0) for f in _FIGURES}
    if b == s:
        return None
    return {"batch": b, "stream": s, "diff": {f: b[f] - s[f] for f in _FIGURES}}


def _list_diff(batch: Iterable[Mapping], stream: Iterable[Mapping]) -> list[dict]:
    out = []
    b_rows, s_rows = list(batch), list(stream)
    for rank in range(max(len(b_rows), len(s_rows))):
        b = dict(b_rows[rank]) if rank < len(b_rows) else None
        s = dict(s_rows[rank]) if rank < len(s_rows) else None
        if b != s:
            out.append({"rank": rank + 1, "batch": b, "stream": s})
    return out


def drift(batch: Mapping[str, Any], stream: Mapping[str, Any]) -> dict[str, Any]:
    """Compare the batch and stream figures; ``ok`` is true when nothing differs.

    Args:
        batch: The batch side (:func:`batch_figures`).
        stream: The stream side (:func:`stream_figures`), the same shape.

    Returns:
        ``{"ok", "drifts", "revenue", "sales", "top_customers", "top_products"}``:
        ``drifts`` counts the differing figures; ``revenue`` holds both totals and
        their differences; ``sales`` maps each dimension to its differing keys
        (``{key: {"batch", "stream", "diff"}}``, a key missing on one side counts as
        zeros); the top lists hold the differing ranks.
    """
    b_rev, s_rev = batch["revenue"], stream["revenue"]
    revenue = {
        name: {"batch": b_rev[name], "stream": s_rev[name], "diff": b_rev[name] - s_rev[name]}
        for name in ("total_revenue", "orders")
    }
    sales: dict[str, dict[str, Any]] = {}
    for dimension in sorted(set(batch["sales"]) | set(stream["sales"])):
        b_dim = batch["sales"].get(dimension, {})
        s_dim = stream["sales"].get(dimension, {})
        diffs = {}
        for key in sorted(set(b_dim) | set(s_dim)):
            cell = _cell_diff(b_dim.get(key), s_dim.get(key))
            if cell is not None:
                diffs[key] = cell
        if diffs:
            sales[dimension] = diffs
    customers = _list_diff(batch["top_customers"], stream["top_customers"])
    products = _list_diff(batch["top_products"], stream["top_products"])
    drifts = (
        sum(1 for r in revenue.values() if r["diff"])
        + sum(len(keys) for keys in sales.values())
        + len(customers)
        + len(products)
    )
    return {
        "ok": drifts == 0,
        "drifts": drifts,
        "revenue": revenue,
        "sales": sales,
        "top_customers": customers,
        "top_products": products,
    }
