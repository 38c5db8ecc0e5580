"""The Bokeh app in an in-process server, seen through ``bokeh.client.pull_session``,
fed by a stub of the worker's web views."""

from __future__ import annotations

import json

from tests.dashboard.harness import POLL_S, Watcher

WINDOW_S = 2.0  # how long test_one_refresh_is_one_message_with_all_its_changes listens


def test_sources_hold_the_views_and_follow_changes_within_a_second(
    stub_worker, dashboard_server, settings, tmp_path
):
    served = dashboard_server(settings.model_copy(update={"data_dir": tmp_path}), stub_worker.url)
    page = Watcher(served.url)
    try:
        page.until(lambda: page.state() == "live", timeout=5)
        views = stub_worker.views
        rev = page.source("revenue")
        assert rev["total_revenue"] == [views["revenue"]["total_revenue"]]
        assert rev["orders"] == [views["revenue"]["orders"]]
        cust = page.source("top_customers")
        assert cust["customer_id"] == [r["customer_id"] for r in views["top_customers"]]
        assert cust["revenue"] == [r["revenue"] for r in views["top_customers"]]
        assert "Ada Okoro" in cust["name"]
        for by in ("quantity", "revenue"):
            prod = page.source(f"top_products_{by}")
            rows = views[f"top_products_{by}"]
            assert prod["product_id"] == [r["product_id"] for r in rows]
            assert prod["product_name"] == [r["product_name"] for r in rows]
        for dim in ("gender", "age_band", "category", "payment_method"):
            cols = page.source(f"sales_{dim}")
            served_dim = views[f"sales_{dim}"]
            assert dict(zip(cols["key"], cols["revenue"], strict=True)) == {
                k: v["revenue"] for k, v in served_dim.items()
            }, dim
        top15 = sorted(views["sales_location"].items(), key=lambda kv: -kv[1]["revenue"])[:15]
        assert page.source("sales_location")["key"] == [k for k, _ in top15]
        loc = page.source("customers_by_location")
        assert (
            dict(zip(loc["location"], loc["customers"], strict=True))
            == views["customers_by_location"]
        )
        low = page.source("low_stock")
        assert low["product_id"] == [r["product_id"] for r in views["low_stock"]]
        totals = page.document.get_model_by_name("totals").text
        assert "$123,456.78" in totals and "1,234" in totals
        # the axes show the labels of the bars, best at the top
        fig = page.document.get_model_by_name("top_customers_plot")
        assert list(fig.y_range.factors) == list(reversed(cust["label"]))

        stub_worker.update(lambda v: v["revenue"].update(total_revenue=20_000_000, orders=1_300))
        took = page.until(lambda: page.source("revenue")["orders"] == [1_300], timeout=3)
        assert took < 1.0
        assert len(page.source("rates")["t"]) > 0
    finally:
        page.close()


def test_a_down_worker_shows_stale_and_the_page_recovers_by_itself(
    stub_worker, dashboard_server, settings, tmp_path
):
    served = dashboard_server(settings.model_copy(update={"data_dir": tmp_path}), stub_worker.url)
    page = Watcher(served.url)
    try:
        page.until(lambda: page.state() == "live", timeout=5)
        stub_worker.stop()
        page.until(lambda: page.state() == "stale", timeout=3)
        text = page.document.get_model_by_name("status").text
        assert "stale since" in text
        # the last figures stay
        assert page.source("revenue")["orders"] == [stub_worker.views["revenue"]["orders"]]
        stub_worker.update(lambda v: v["revenue"].update(orders=1_500))
        stub_worker.start()
        page.until(lambda: page.state() == "live", timeout=3)
        page.until(lambda: page.source("revenue")["orders"] == [1_500], timeout=3)
    finally:
        page.close()


def test_batch_tab_without_a_run_says_so(stub_worker, dashboard_server, settings, tmp_path):
    served = dashboard_server(settings.model_copy(update={"data_dir": tmp_path}), stub_worker.url)
    page = Watcher(served.url)
    try:
        text = page.document.get_model_by_name("batch_status").text
        assert "no nightly run yet" in text
    finally:
        page.close()


def test_batch_tab_shows_the_latest_run(stub_worker, dashboard_server, settings, tmp_path):
    summary = {
        "monthly": [
            {"month": "2025-01", "revenue": 1_000_00},
            {"month": "2025-02", "revenue": 3_500_00},
            {"month": "2025-03", "revenue": 2_000_00},
        ],
        "segments": [
            {
                "segment": "champions",
                "customers": 120,
                "recency": 4.5,
                "frequency": 9.1,
                "monetary": 250_000,
            },
            {
                "segment": "at risk",
                "customers": 80,
                "recency": 90.0,
                "frequency": 2.0,
                "monetary": 30_000,
            },
        ],
        "forecast": [
            {"month": "2025-03", "actual": 2_000_00, "forecast": 2_100_00},
            {"month": "2025-04", "actual": None, "forecast": 2_400_00},
        ],
        "eda": {"age": {"18-24": 10, "25-34": 30}, "quantity": {"1": 50, "2": 20, "3": 5}},
        "reconcile": {"ok": True, "drift": {"revenue": 0, "orders": 0}},
    }
    report = tmp_path / "batch" / "2025-04-02" / "report"
    report.mkdir(parents=True)
    (report / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "batch" / "2025-03-30" / "report").mkdir(parents=True)  # older, no summary
    served = dashboard_server(settings.model_copy(update={"data_dir": tmp_path}), stub_worker.url)
    page = Watcher(served.url)
    try:
        doc = page.document
        page.until(lambda: "2025-04-02" in doc.get_model_by_name("batch_status").text, 5)
        monthly = page.source("monthly")
        assert monthly["month"] == ["2025-01", "2025-02", "2025-03"]
        assert monthly["highest"] == [False, True, False]
        assert "highest 2025-02: $3,500.00" in doc.get_model_by_name("monthly_plot").title.text
        assert page.source("segments")["segment"] == ["champions", "at risk"]
        assert page.source("forecast")["forecast"] == [2_100_00, 2_400_00]
        assert 'data-reconcile="ok"' in doc.get_model_by_name("reconcile").text
        assert doc.get_model_by_name("eda_age_plot") is not None
        assert doc.get_model_by_name("eda_quantity_plot") is not None
    finally:
        page.close()


def test_binds_loopback_and_refuses_foreign_websocket_origins(
    stub_worker, dashboard_server, settings, tmp_path
):
    import asyncio

    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    served = dashboard_server(settings.model_copy(update={"data_dir": tmp_path}), stub_worker.url)
    assert served.bound_addresses() == {"127.0.0.1"}

    async def handshake(origin: str) -> int:
        request = HTTPRequest(
            f"ws://127.0.0.1:{served.port}/dashboard/ws", headers={"Origin": origin}
        )
        try:
            conn = await websocket_connect(request)
        except HTTPClientError as exc:
            return exc.code
        conn.close()
        return 101

    assert asyncio.run(handshake("http://evil.example")) == 403
    assert asyncio.run(handshake(f"http://evil.example:{served.port}")) == 403
    assert asyncio.run(handshake(f"http://localhost:{served.port}")) != 403


def test_one_refresh_is_one_message_with_all_its_changes(
    stub_worker, dashboard_server, settings, tmp_path
):
    """The changes of one poll reach the page in one PATCH-DOC (Bokeh alone sends a
    message per changed property; see bokeh_server/patches.py)."""
    import asyncio
    import time

    import aiohttp

    from bokeh_server import wire

    served = dashboard_server(settings.model_copy(update={"data_dir": tmp_path}), stub_worker.url)

    async def watch() -> tuple[list[dict], dict]:
        async with aiohttp.ClientSession() as http:
            ws, sock, doc = await wire.open_session(http, served.url)
            async with ws:
                ids = {
                    name: wire.find_model(doc, name)["id"]
                    for name in ("revenue", "totals", "top_customers")
                }
                stub_worker.update(
                    lambda v: (
                        v["revenue"].update(orders=4_321),
                        v["top_customers"][0].update(revenue=99_999_999),
                    )
                )
                deadline, patches = time.monotonic() + WINDOW_S, []
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        header, content = await asyncio.wait_for(sock.receive(), left)
                    except TimeoutError:
                        break
                    if header["msgtype"] == "PATCH-DOC":
                        patches.append(content)
                return patches, ids

    patches, ids = asyncio.run(watch())
    with_revenue = [p for p in patches if wire.data_changes(p, ids["revenue"])]
    assert len(with_revenue) == 1, with_revenue
    [message] = with_revenue
    assert wire.column(wire.data_changes(message, ids["revenue"])[0], "orders") == [4_321]
    # the totals text comes from the same view: same poll, so the same message
    changed = {e["model"]["id"] for e in message["events"] if "model" in e}
    assert ids["totals"] in changed, message["events"]
    # the feed reads the views at once, so the customers may come a poll later
    with_customers = [p for p in patches if wire.data_changes(p, ids["top_customers"])]
    assert len(with_customers) == 1
    assert 99_999_999 in wire.column(
        wire.data_changes(with_customers[0], ids["top_customers"])[0], "revenue"
    )
    # at most 9 polls start in 2 s at a 0.25 s cadence, plus one already on its way:
    # each poll is at most one message
    assert 1 <= len(patches) <= WINDOW_S / POLL_S + 2, len(patches)
