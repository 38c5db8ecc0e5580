"""One dashboard document per browser session: a Live tab and a Nightly batch tab.

The document is built from the feed's current snapshot, then changed only in
``doc.add_next_tick_callback`` callbacks, which the server's event loop adds when the
feed's thread tells it of a new poll (see :mod:`bokeh_server.feed` and
:meth:`Dashboard.notify`).  Every source has a name (``revenue``,
``rates``, ``top_customers``, ``sales_gender``, ``monthly``, ...) so tests and
notebooks find them with ``doc.get_model_by_name``.
"""

from __future__ import annotations

import math
import sys
import threading
from typing import Any

from bokeh.core.property.validation import validate
from bokeh.document import Document
from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import (
    ColumnDataSource,
    DataTable,
    Div,
    FactorRange,
    HoverTool,
    NumberFormatter,
    NumeralTickFormatter,
    TableColumn,
    TabPanel,
    Tabs,
)
from bokeh.plotting import figure
from tornado.ioloop import IOLoop

from bokeh_server import feed as feeds
from bokeh_server import nightly, patches
from bokeh_server.collector import COLLECTOR

MONEY_AXIS = NumeralTickFormatter(format="$0,0")
COUNT_AXIS = NumeralTickFormatter(format="0,0")
MONEY_TIP = "{$0,0.00}"
WIDE = 1260
BAR = nightly.BAR_COLOR


def _hbar(name: str, title: str, x: str, money: bool, tooltips: list, width: int = 410):
    """Return a source and a horizontal bar chart of it, best at the top."""
    source = ColumnDataSource(name=name, data={"label": [], x: []})
    fig = figure(
        name=f"{name}_plot",
        title=title,
        y_range=FactorRange(),
        height=330,
        width=width,
        tools="save",
        toolbar_location=None,
    )
    fig.hbar(y="label", right=x, height=0.7, color=BAR, source=source)
    fig.add_tools(HoverTool(tooltips=tooltips))
    fig.x_range.start = 0
    fig.xaxis.formatter = MONEY_AXIS if money else COUNT_AXIS
    fig.xaxis.major_label_orientation = 0.6
    return source, fig


def _vbar(name: str, title: str, tooltips: list, width: int = 300):
    """Return a source and a vertical bar chart of revenue by its ``label``."""
    source = ColumnDataSource(name=name, data={"label": [], "revenue_usd": []})
    fig = figure(
        name=f"{name}_plot",
        title=title,
        x_range=FactorRange(),
        height=280,
        width=width,
        tools="save",
        toolbar_location=None,
    )
    fig.vbar(x="label", top="revenue_usd", width=0.7, color=BAR, source=source)
    fig.add_tools(HoverTool(tooltips=tooltips))
    fig.y_range.start = 0
    fig.yaxis.formatter = MONEY_AXIS
    return source, fig


SALES_TIPS = [
    ("", "@label"),
    ("revenue", "@revenue_usd" + MONEY_TIP),
    ("orders", "@orders{0,0}"),
    ("quantity", "@quantity{0,0}"),
]


def _factors(labels: list[str], top_down: bool) -> list[str]:
    # a vertical factor axis lists from the bottom, so the best goes last
    return list(reversed(labels)) if top_down else list(labels)


def _location_bars(by_location: dict[str, int]) -> dict[str, list]:
    loc = feeds.location_count_columns(by_location, 15)
    return {"label": loc["location"], **loc}


class Dashboard:
    """The models of one session's document and how a snapshot changes them."""

    def __init__(self, doc: Document, feed: feeds.Feed, loop: IOLoop) -> None:
        self.doc = doc
        self.feed = feed
        self.loop = loop
        self._lock = threading.Lock()
        self._pending = False
        self._closed = False
        self._applied: dict[str, Any] = {}
        self._views: Any = None
        self._rate_seq = -1
        self._was_stale: bool | None = None
        self._nightly: Any = False  # not None: None means "no run" and must be drawn
        self.tabs = Tabs(tabs=[self._live_tab(), self._batch_tab()], name="tabs")

    # --- layout -----------------------------------------------------------------

    def _live_tab(self) -> TabPanel:
        self.status = Div(name="status", width=WIDE)
        self.revenue = ColumnDataSource(name="revenue", data=feeds.revenue_columns(None))
        # no glyph draws the totals: the tag keeps their source in the document
        self.totals = Div(name="totals", width=WIDE, height=70, tags=[self.revenue])
        self.rates = ColumnDataSource(
            name="rates",
            data={"t": [], "orders_per_s": [], "revenue_per_min": [], "revenue_per_min_usd": []},
        )
        when = ("time", "@t{%H:%M:%S}")
        orders_fig = figure(
            name="orders_per_s_plot",
            title="Orders per second",
            x_axis_type="datetime",
            height=250,
            width=620,
            tools="xpan,xwheel_zoom,reset,save",
        )
        orders_fig.line("t", "orders_per_s", source=self.rates, line_width=2, color=BAR)
        orders_fig.add_tools(
            HoverTool(
                tooltips=[when, ("orders/s", "@orders_per_s{0,0.0}")],
                formatters={"@t": "datetime"},
                mode="vline",
            )
        )
        orders_fig.yaxis.formatter = COUNT_AXIS
        revenue_fig = figure(
            name="revenue_per_min_plot",
            title="Revenue per minute",
            x_axis_type="datetime",
            height=250,
            width=620,
            tools="xpan,xwheel_zoom,reset,save",
        )
        revenue_fig.line("t", "revenue_per_min_usd", source=self.rates, line_width=2, color=BAR)
        revenue_fig.add_tools(
            HoverTool(
                tooltips=[when, ("revenue/min", "@revenue_per_min_usd" + MONEY_TIP)],
                formatters={"@t": "datetime"},
                mode="vline",
            )
        )
        revenue_fig.yaxis.formatter = MONEY_AXIS

        self.top_customers, top_c = _hbar(
            "top_customers",
            "Top 10 customers by revenue",
            "revenue_usd",
            True,
            [
                ("customer", "@name (#@customer_id)"),
                ("revenue", "@revenue_usd" + MONEY_TIP),
                ("orders", "@orders{0,0}"),
            ],
        )
        product_tips = [
            ("product", "@product_name (#@product_id)"),
            ("quantity", "@quantity{0,0}"),
            ("revenue", "@revenue_usd" + MONEY_TIP),
        ]
        self.top_qty, top_q = _hbar(
            "top_products_quantity",
            "Top 10 products by quantity",
            "quantity",
            False,
            product_tips,
        )
        self.top_rev, top_r = _hbar(
            "top_products_revenue",
            "Top 10 products by revenue",
            "revenue_usd",
            True,
            product_tips,
        )
        self.sales: dict[str, tuple[ColumnDataSource, Any, int | None]] = {}
        for dim, title in (("category", "Sales by category"), ("location", "Sales by location")):
            source, fig = _hbar(
                f"sales_{dim}",
                title + (" (top 15)" if dim == "location" else ""),
                "revenue_usd",
                True,
                SALES_TIPS,
            )
            self.sales[dim] = (source, fig, 15 if dim == "location" else None)
        for dim, title in (
            ("gender", "Sales by gender"),
            ("age_band", "Sales by age band"),
            ("payment_method", "Sales by payment method"),
        ):
            source, fig = _vbar(f"sales_{dim}", title, SALES_TIPS)
            self.sales[dim] = (source, fig, None)
        self.sales["payment_method"][1].xaxis.major_label_orientation = 0.5
        self.by_location, by_loc = _hbar(
            "customers_by_location",
            "Customers by location (top 15)",
            "customers",
            False,
            [("location", "@label"), ("customers", "@customers{0,0}")],
        )
        self.low_stock = ColumnDataSource(name="low_stock", data=feeds.low_stock_columns(None))
        self.figs = {
            "top_customers": top_c,
            "top_products_quantity": top_q,
            "top_products_revenue": top_r,
            "customers_by_location": by_loc,
        }
        low = DataTable(
            source=self.low_stock,
            columns=[
                TableColumn(field="product_id", title="id", width=60),
                TableColumn(field="product_name", title="product", width=230),
                TableColumn(field="stock", title="stock", width=60),
            ],
            width=360,
            height=260,
            index_position=None,
            reorderable=False,
            name="low_stock_table",
        )
        low_box = column(Div(text="<b>Low stock</b> (under the threshold, lowest first)"), low)
        return TabPanel(
            title="Live",
            child=column(
                self.status,
                self.totals,
                row(orders_fig, revenue_fig),
                row(top_c, top_q, top_r),
                row(self.sales["category"][1], self.sales["location"][1], by_loc),
                row(
                    self.sales["gender"][1],
                    self.sales["age_band"][1],
                    self.sales["payment_method"][1],
                    low_box,
                ),
            ),
        )

    def _batch_tab(self) -> TabPanel:
        self.batch_status = Div(name="batch_status", width=WIDE)
        self.monthly = ColumnDataSource(name="monthly", data=nightly.monthly_columns([]))
        self.monthly_fig = figure(
            name="monthly_plot",
            title="Monthly sales",
            x_range=FactorRange(),
            height=300,
            width=620,
            tools="save",
            toolbar_location=None,
        )
        self.monthly_fig.vbar(
            x="month", top="revenue_usd", color="color", width=0.8, source=self.monthly
        )
        self.monthly_fig.add_tools(
            HoverTool(
                tooltips=[
                    ("month", "@month"),
                    ("revenue", "@revenue_usd" + MONEY_TIP),
                    ("highest", "@highest"),
                ]
            )
        )
        self.monthly_fig.yaxis.formatter = MONEY_AXIS
        self.monthly_fig.y_range.start = 0
        self.monthly_fig.xaxis.major_label_orientation = 0.8

        self.forecast = ColumnDataSource(name="forecast", data=nightly.forecast_columns([]))
        self.forecast_fig = figure(
            name="forecast_plot",
            title="Forecast vs actual (monthly revenue)",
            x_range=FactorRange(),
            height=300,
            width=620,
            tools="save",
            toolbar_location=None,
        )
        self.forecast_fig.line(
            "month",
            "actual_usd",
            source=self.forecast,
            line_width=2,
            color=BAR,
            legend_label="actual",
        )
        self.forecast_fig.scatter("month", "actual_usd", source=self.forecast, size=6, color=BAR)
        self.forecast_fig.line(
            "month",
            "forecast_usd",
            source=self.forecast,
            line_width=2,
            line_dash="dashed",
            color=nightly.HIGHEST_COLOR,
            legend_label="forecast",
        )
        self.forecast_fig.add_tools(
            HoverTool(
                tooltips=[
                    ("month", "@month"),
                    ("actual", "@actual_usd" + MONEY_TIP),
                    ("forecast", "@forecast_usd" + MONEY_TIP),
                ],
                mode="vline",
            )
        )
        self.forecast_fig.yaxis.formatter = MONEY_AXIS
        self.forecast_fig.legend.location = "top_right"
        self.forecast_fig.xaxis.major_label_orientation = 0.8

        self.segments = ColumnDataSource(name="segments", data=nightly.segment_columns([]))
        segments_table = DataTable(
            source=self.segments,
            columns=[
                TableColumn(field="segment", title="segment"),
                TableColumn(
                    field="customers", title="customers", formatter=NumberFormatter(format="0,0")
                ),
                TableColumn(
                    field="recency",
                    title="recency (days)",
                    formatter=NumberFormatter(format="0,0.0"),
                ),
                TableColumn(
                    field="frequency",
                    title="frequency (orders)",
                    formatter=NumberFormatter(format="0,0.0"),
                ),
                TableColumn(
                    field="monetary_usd",
                    title="monetary",
                    formatter=NumberFormatter(format="$0,0.00"),
                ),
            ],
            width=620,
            height=220,
            index_position=None,
            reorderable=False,
            name="segments_table",
        )
        self.reconcile = Div(name="reconcile", width=600)
        self.eda = column(Div(text="EDA: not in this run"), name="eda")
        self.batch_content = column(
            row(self.monthly_fig, self.forecast_fig),
            row(
                column(Div(text="<b>Customer segments</b>"), segments_table),
                column(Div(text="<b>Reconciliation</b>"), self.reconcile),
            ),
            Div(text="<b>EDA distributions</b>"),
            self.eda,
            visible=False,
        )
        return TabPanel(title="Nightly batch", child=column(self.batch_status, self.batch_content))

    # --- updates ----------------------------------------------------------------

    def notify(self, _snapshot: feeds.Snapshot) -> None:
        """Schedule :meth:`refresh` on the document's loop; called from the feed thread.

        The feed's thread hands over to the loop (tornado's ``add_callback``, its one
        thread-safe method) and touches no document itself, not even to add a
        callback: Bokeh's ``add_next_tick_callback`` runs the document's change
        callbacks under ``patch_curdoc``, which pushes onto one process-wide list.
        From this thread, a session being built on the loop at that moment could read
        this document as its ``curdoc()`` and build its dashboard into it, leaving its
        own page empty (1 of 50 sessions in a CI run of ``test_dashboard_load``).
        """
        with self._lock:
            if self._pending or self._closed:
                return
            self._pending = True
        self.loop.add_callback(self._schedule)

    def _schedule(self) -> None:
        # on the loop: the session runs refresh with the document's lock held
        if not self._closed:
            self.doc.add_next_tick_callback(self.refresh)

    def close(self, session_context: object) -> None:
        """Stop receiving snapshots (the session is gone)."""
        self._closed = True
        self.feed.unsubscribe(self.notify)
        COLLECTOR.session_closed()  # its document is garbage soon: see collector.py

    def refresh(self) -> None:
        """Bring the document up to the feed's latest snapshot."""
        with self._lock:
            self._pending = False
        # one message per refresh (see patches.py); no property validation: the columns
        # come from feed.py's tested functions, and validating them was 40% of apply
        snap = self.feed.snapshot
        with patches.batched(self.doc, snap.shared), validate(False):
            self.apply(snap)

    def _set(
        self,
        shared: patches.Shared,
        key: str,
        source: ColumnDataSource,
        data: dict,
        axis: FactorRange | None = None,
        top_down: bool = False,
    ) -> None:
        """Send ``data`` (and its labels to the factor axis) unless it is already shown.

        ``data`` comes from ``shared``, so the sessions share its lists (never changed).
        """
        if self._applied.get(key) == data:
            return
        if axis is not None:
            # factors first, so the new bars never name a factor the axis lacks
            axis.factors = shared.get((key, "factors"), _factors, data["label"], top_down)
        source.data = data
        self._applied[key] = data

    def _set_text(self, key: str, div: Div, text: str) -> None:
        if self._applied.get(key) != text:
            div.text = text
            self._applied[key] = text

    def apply(self, snap: feeds.Snapshot) -> None:
        """Change the models to show ``snap``; unchanged parts are not sent again."""
        self._set_text("status", self.status, feeds.status_html(snap, self.feed.options.worker_url))
        stale = snap.stale_since is not None
        if stale and self._was_stale is False:
            # a gap in the lines while no figures arrive
            nan = math.nan
            gap = {
                "t": [snap.stale_since.timestamp() * 1000],
                "orders_per_s": [nan],
                "revenue_per_min": [nan],
                "revenue_per_min_usd": [nan],
            }
            self.rates.stream(gap, rollover=feeds.ROLLOVER)
        self._was_stale = stale
        if snap.views is not self._views and snap.views:
            self._views = snap.views
            self._apply_views(snap)
        if snap.rates and snap.rates[-1].seq > self._rate_seq:
            # sessions that have shown the same points are sent the same new ones
            since = self._rate_seq
            self._rate_seq = snap.rates[-1].seq
            self.rates.stream(
                snap.shared.get(("rates", since), feeds.rate_columns, snap.rates, since),
                rollover=feeds.ROLLOVER,
            )
        if snap.nightly is not self._nightly:
            self._nightly = snap.nightly
            self._apply_nightly(snap.nightly)

    def _apply_views(self, snap: feeds.Snapshot) -> None:
        views, shared = snap.views, snap.shared
        by_location = views.get("customers_by_location") or {}
        self._set_text(
            "totals",
            self.totals,
            feeds.totals_html(views.get("revenue"), sum(by_location.values())),
        )
        revenue = shared.get("revenue", feeds.revenue_columns, views.get("revenue"))
        self._set(shared, "revenue", self.revenue, revenue)
        for key, source, columns in (
            ("top_customers", self.top_customers, feeds.customer_columns),
            ("top_products_quantity", self.top_qty, feeds.product_columns),
            ("top_products_revenue", self.top_rev, feeds.product_columns),
        ):
            data = shared.get(key, columns, views.get(key))
            self._set(shared, key, source, data, self.figs[key].y_range, top_down=True)
        for dim, (source, fig, limit) in self.sales.items():
            key = f"sales_{dim}"
            data = shared.get(key, feeds.sales_columns, dim, views.get(key), limit)
            if isinstance(fig.y_range, FactorRange):
                self._set(shared, key, source, data, fig.y_range, top_down=True)
            else:
                self._set(shared, key, source, data, fig.x_range)
        fig = self.figs["customers_by_location"]
        loc = shared.get("customers_by_location", _location_bars, by_location)
        self._set(
            shared, "customers_by_location", self.by_location, loc, fig.y_range, top_down=True
        )
        low = shared.get("low_stock", feeds.low_stock_columns, views.get("low_stock"))
        self._set(shared, "low_stock", self.low_stock, low)

    def _apply_nightly(self, run: nightly.Nightly | None) -> None:
        where = self.feed.options.data_dir / "batch"
        if run is None:
            self.batch_status.text = (
                '<span data-batch="none" style="font-size:18px;font-weight:600">'
                "no nightly run yet</span>"
                f" &nbsp;(looking for {where}/&lt;YYYY-MM-DD&gt;/report/summary.json)"
            )
            self.batch_content.visible = False
            return
        if run.error:
            self.batch_status.text = (
                f'<span data-batch="error" style="font-weight:600;color:#cf222e">nightly run '
                f"{run.date}: unreadable report</span> — {run.error}"
            )
            self.batch_content.visible = False
            return
        s = run.summary
        monthly = nightly.monthly_columns(s.get("monthly"))
        top = nightly.highest_month(monthly)
        self.monthly_fig.title.text = (
            f"Monthly sales — highest {top[0]}: {feeds.money(top[1])}"
            if top
            else "Monthly sales: not in this run"
        )
        self.monthly_fig.x_range.factors = monthly["month"]
        self.monthly.data = monthly
        forecast = nightly.forecast_columns(s.get("forecast"))
        self.forecast_fig.x_range.factors = forecast["month"]
        self.forecast.data = forecast
        self.segments.data = nightly.segment_columns(s.get("segments"))
        _green, html = nightly.reconcile_html(s.get("reconcile"))
        self.reconcile.text = html
        figs = []
        eda = s.get("eda") if isinstance(s.get("eda"), dict) else {}
        for name, distribution in eda.items():
            data = nightly.eda_columns(distribution)
            fig = figure(
                name=f"eda_{name}_plot",
                title=str(name),
                x_range=FactorRange(factors=data["value"]),
                height=240,
                width=410,
                tools="save",
                toolbar_location=None,
            )
            fig.vbar(
                x="value", top="count", width=0.8, color=BAR, source=ColumnDataSource(data=data)
            )
            fig.add_tools(HoverTool(tooltips=[("value", "@value"), ("count", "@count{0,0}")]))
            fig.yaxis.formatter = COUNT_AXIS
            fig.y_range.start = 0
            fig.xaxis.major_label_orientation = 0.8 if len(data["value"]) > 6 else 0
            figs.append(fig)
        self.eda.children = [row(*figs[i : i + 3]) for i in range(0, len(figs), 3)] or [
            Div(text="EDA: not in this run")
        ]
        self.batch_status.text = (
            f'<span data-batch="{run.date}" style="font-size:18px;font-weight:600">'
            f"nightly run {run.date}</span> &nbsp;({run.path})"
        )
        self.batch_content.visible = True


def _feed_of(doc: Document) -> feeds.Feed:
    ctx = doc.session_context.server_context if doc.session_context else None
    found = feeds.lookup(ctx)
    if found is None:  # served without app_hooks.py: one feed for this server context
        found = feeds.Feed(feeds.parse_args(sys.argv[1:]))
        found.start()
        feeds.attach(ctx, found)
    return found


def build(doc: Document) -> Dashboard:
    """Build the dashboard into ``doc`` and subscribe it to its server's feed."""
    patches.install()
    # main.py runs on the server's loop, which is the one to change the document on
    dash = Dashboard(doc, _feed_of(doc), IOLoop.current())
    doc.title = "streamproc — live dashboard"
    doc.add_root(dash.tabs)
    dash.apply(dash.feed.snapshot)
    dash.feed.subscribe(dash.notify)
    doc.on_session_destroyed(dash.close)
    COLLECTOR.session_built()  # full collections skip it from now on: see collector.py
    return dash


build(curdoc())
