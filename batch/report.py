"""A static HTML report with PNG charts, from the Spark results of one day."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import orjson  # noqa: E402
import pandas as pd  # noqa: E402

_CSS = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#eee}img{max-width:100%}"
)


def euros(cents: Any) -> str:
    """Return cents as ``12,345.67`` (no float rounding of the integer part)."""
    cents = int(round(float(cents)))
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{rest:02d}"


def _bar(df: pd.DataFrame, x: str, y: str, title: str, path: Path, scale: float = 100.0) -> None:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(df[x].astype(str), df[y] / scale, color="#4c72b0")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _forecast_chart(df: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(df["month"], df["actual"] / 100, marker="o", label="actual")
    for split, style in (("train", ":"), ("test", "--"), ("forecast", "-")):
        part = df[df["split"] == split]
        ax.plot(part["month"], part["predicted"] / 100, style, marker=".", label=split)
    ax.set_title("Monthly revenue and forecast")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _table(df: pd.DataFrame, money: tuple[str, ...] = ()) -> str:
    shown = df.copy()
    for column in money:
        if column in shown:
            shown[column] = shown[column].map(euros)
    return shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)


def dashboard_summary(spark_dir: Path) -> dict[str, Any]:
    """Return the nightly figures in the dashboard's ``report/summary.json`` contract.

    See :mod:`bokeh_server.nightly`: monthly revenue, customer segments, the forecast
    against actuals, the EDA distributions and the reconciliation of the same day
    (``<day>/reconcile.json``, when it was run).  Money stays in integer cents.
    """

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(spark_dir / f"{name}.parquet")

    def cents(value: Any) -> int | None:
        return None if value is None or pd.isna(value) else int(round(float(value)))

    monthly = read("monthly_sales").sort_values("month")
    forecast = read("forecast").sort_values("month")
    segments = read("rfm_profiles").sort_values("segment")
    eda: dict[str, dict[str, int]] = {}
    for name in ("eda_age", "eda_gender", "eda_location", "eda_category_orders"):
        df = read(name)
        key = "age_from" if name == "eda_age" else "value"
        eda[name.removeprefix("eda_")] = {
            str(k): int(c) for k, c in zip(df[key], df["count"], strict=True)
        }
    summary: dict[str, Any] = {
        "monthly": [
            {"month": m, "revenue": cents(r)}
            for m, r in zip(monthly["month"], monthly["revenue"], strict=True)
        ],
        "segments": [
            {
                "segment": f"{int(r.segment)}: {r.description}",
                "customers": int(r.customers),
                "recency": float(r.recency_days),
                "frequency": float(r.frequency),
                "monetary": cents(r.monetary),
            }
            for r in segments.itertuples()
        ],
        "forecast": [
            {"month": m, "actual": cents(a), "forecast": cents(f)}
            for m, a, f in zip(
                forecast["month"], forecast["actual"], forecast["predicted"], strict=True
            )
        ],
        "eda": eda,
    }
    reconcile = spark_dir.parent / "reconcile.json"
    if reconcile.is_file():
        drift = orjson.loads(reconcile.read_bytes())
        summary["reconcile"] = {
            "ok": bool(drift.get("ok")),
            "drift": {"drifts": drift.get("drifts")},
        }
    return summary


def build_report(spark_dir: Path, out_dir: Path | None = None) -> Path:
    """Write ``index.html`` and its PNG charts from ``spark_dir``; return the HTML path.

    Args:
        spark_dir: The ``<day>/spark`` directory of :func:`batch.spark.job.run_spark`.
        out_dir: Where to write (default ``<day>/report``).

    Raises:
        FileNotFoundError: ``spark_dir`` has no ``results.json``.
    """
    results_path = spark_dir / "results.json"
    if not results_path.is_file():
        raise FileNotFoundError(f"{results_path} is missing: run `streamproc batch analyze`")
    results = orjson.loads(results_path.read_bytes())
    out = out_dir or spark_dir.parent / "report"
    out.mkdir(parents=True, exist_ok=True)

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(spark_dir / f"{name}.parquet")

    charts = [
        ("monthly_sales", "month", "revenue", "Revenue by month"),
        ("sales_by_category", "key", "revenue", "Revenue by category"),
        ("sales_by_age_band", "key", "revenue", "Revenue by age band"),
        ("sales_by_payment_method", "key", "revenue", "Revenue by payment method"),
        ("eda_age", "age_from", "count", "Customers by age (5-year bins)"),
    ]
    parts = [f"<h1>Batch report {html.escape(results['date'])}</h1>"]
    totals = results["totals"]
    best = results["best_month"]
    parts.append(
        f"<p>Revenue <b>{euros(totals['revenue'])}</b> over <b>{totals['orders']:,}</b> orders "
        f"from {totals['customers']:,} customers (average order {euros(totals['avg_order_value'])})"
        f". Best month <b>{html.escape(best['month'])}</b> ({euros(best['revenue'])}).</p>"
    )
    for name, x, y, title in charts:
        scale = 100.0 if y == "revenue" else 1.0
        _bar(read(name).sort_values(x), x, y, title, out / f"{name}.png", scale)
        parts.append(f"<h2>{html.escape(title)}</h2><img src='{name}.png' alt='{name}'>")
    _forecast_chart(read("forecast"), out / "forecast.png")
    parts.append(
        f"<h2>Forecast</h2><p>MAPE on the held-out months: "
        f"{results['forecast_mape']:.1%}</p><img src='forecast.png' alt='forecast'>"
    )
    chi, corr = results["chi_square_gender_category"], results["pearson_age_order_value"]
    parts.append(
        f"<h2>Statistics</h2><p>Gender x category: chi-square {chi['statistic']:.2f}, "
        f"{chi['dof']} degrees of freedom, p = {chi['p_value']:.4g}. Age vs order value: "
        f"Pearson r = {corr['r']:.4f}, p = {corr['p_value']:.4g} (n = {corr['n']:,}).</p>"
    )
    parts.append("<h3>Order value by age band</h3>")
    parts.append(
        _table(
            read("order_value_by_age_band"),
            ("mean", "stddev", "min", "p25", "median", "p75", "max"),
        )
    )
    parts.append(f"<h2>Customer segments (k = {results['rfm_k']})</h2>")
    parts.append(_table(read("rfm_profiles"), ("monetary",)))
    parts.append(_table(read("rfm_silhouettes")))
    parts.append("<h2>Top customers</h2>" + _table(read("top_customers"), ("revenue",)))
    parts.append("<h2>Top products by revenue</h2>")
    parts.append(_table(read("top_products_revenue"), ("revenue",)))
    parts.append("<h2>Raw data profile</h2>" + _table(read("profile_raw")))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Batch report {html.escape(results['date'])}</title><style>{_CSS}</style>"
        f"</head><body>{''.join(parts)}</body></html>"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    summary = orjson.dumps(dashboard_summary(spark_dir), option=orjson.OPT_INDENT_2)
    (out / "summary.json").write_bytes(summary)
    return index
