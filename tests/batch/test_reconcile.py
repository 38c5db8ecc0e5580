import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from click.testing import CliRunner

from batch import reconcile
from batch.cli import batch
from streamproc.tables.dimensions import DIMENSIONS


def cell(revenue, orders, quantity):
    return {"revenue": revenue, "orders": orders, "quantity": quantity}


SALES = {
    "total": cell(6000, 3, 4),
    "by": {
        "category": {"Books": cell(1000, 1, 1), "Garden": cell(5000, 2, 3)},
        "month": {"2025-03": cell(6000, 3, 4)},
        "customer_id": {"1": cell(3000, 2, 2), "2": cell(3000, 1, 2)},
        "product_id": {"10": cell(1000, 1, 1), "11": cell(5000, 2, 3)},
    },
}


def stream_side():
    return {
        "revenue": {"total_revenue": 6000, "orders": 3},
        "sales": {
            dim: {k: dict(v) for k, v in SALES["by"].get(dim, {}).items()} for dim in DIMENSIONS
        },
        "top_customers": [
            {"customer_id": 1, "revenue": 3000, "orders": 2},
            {"customer_id": 2, "revenue": 3000, "orders": 1},
        ],
        "top_products": [
            {"product_id": 11, "quantity": 3, "revenue": 5000},
            {"product_id": 10, "quantity": 1, "revenue": 1000},
        ],
    }


def test_equal_figures_have_no_drift():
    result = reconcile.drift(reconcile.batch_figures(SALES), stream_side())
    assert result["ok"] is True and result["drifts"] == 0
    assert result["sales"] == {} and result["top_customers"] == []


def test_every_differing_figure_is_reported():
    stream = stream_side()
    stream["revenue"]["total_revenue"] = 5900
    stream["sales"]["category"]["Books"] = cell(900, 1, 1)
    del stream["sales"]["category"]["Garden"]
    stream["sales"]["category"]["Toys"] = cell(1, 1, 1)
    stream["top_products"].pop()
    result = reconcile.drift(reconcile.batch_figures(SALES), stream)
    assert result["ok"] is False
    assert result["revenue"]["total_revenue"] == {"batch": 6000, "stream": 5900, "diff": 100}
    assert result["revenue"]["orders"]["diff"] == 0
    category = result["sales"]["category"]
    assert category["Books"]["diff"] == {"revenue": 100, "orders": 0, "quantity": 0}
    assert category["Garden"]["stream"] == cell(0, 0, 0)
    assert category["Toys"]["batch"] == cell(0, 0, 0)
    assert result["top_products"] == [
        {"rank": 2, "batch": {"product_id": 10, "quantity": 1, "revenue": 1000}, "stream": None}
    ]
    assert result["drifts"] == 1 + 3 + 1


def test_top_lists_rank_by_revenue_then_lower_id():
    per = {"5": cell(100, 1, 1), "2": cell(100, 2, 2), "9": cell(300, 1, 1)}
    assert [c["customer_id"] for c in reconcile.top_customers(per, 2)] == [9, 2]


class _Views(BaseHTTPRequestHandler):
    data: dict = {}

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        body = self.data.get(path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def views():
    stream = stream_side()
    _Views.data = {
        "/api/revenue": {**stream["revenue"], "rejected": 4, "as_of": "2025-03-05T00:00:00.000Z"},
        "/api/top/customers": [{**c, "name": "x"} for c in stream["top_customers"]],
        "/api/top/products": [{**p, "product_name": "y"} for p in stream["top_products"]],
        **{f"/api/sales/{d}": stream["sales"][d] for d in DIMENSIONS},
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Views)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _day(tmp_path, sales):
    etl = tmp_path / "2025-03-05" / "etl"
    etl.mkdir(parents=True)
    (etl / "sales.json").write_bytes(orjson.dumps(sales))
    return ["--out", str(tmp_path), "--date", "2025-03-05"]


def test_reconcile_cli_exits_zero_without_drift(tmp_path, views):
    result = CliRunner().invoke(batch, ["reconcile", *_day(tmp_path, SALES), "--url", views])
    assert result.exit_code == 0, result.output
    report = orjson.loads((tmp_path / "2025-03-05" / "reconcile.json").read_bytes())
    assert report["ok"] is True


def test_reconcile_cli_exits_non_zero_on_drift(tmp_path, views):
    sales = orjson.loads(orjson.dumps(SALES))
    sales["by"]["month"]["2025-03"]["revenue"] += 1
    result = CliRunner().invoke(batch, ["reconcile", *_day(tmp_path, sales), "--url", views])
    assert result.exit_code == 1
    assert "drift" in result.output


def test_reconcile_cli_names_a_bad_url(tmp_path):
    result = CliRunner().invoke(batch, ["reconcile", *_day(tmp_path, SALES), "--url", "ftp://x"])
    assert result.exit_code == 1
    assert "must start with http:// or https://, got 'ftp://x'" in result.output
