from datetime import date

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from batch import export
from batch.cli import batch
from streamproc.generator import CUSTOMER_SCHEMA, ORDER_SCHEMA, generate


@pytest.fixture(scope="module")
def jsonl_shop(tmp_path_factory):
    out = tmp_path_factory.mktemp("jsonl-shop")
    generate(
        7,
        50,
        20,
        500,
        out,
        "jsonl",
        dirty_rate=0.05,
        progress=False,
        start=date(2025, 1, 1),
        end=date(2025, 3, 31),
    )
    return out


def test_typed_accepts_exact_records_only():
    row = {
        "order_id": 1,
        "customer_id": 2,
        "product_id": 3,
        "quantity": 1,
        "total_amount": 5,
        "transaction_date": "2025-01-01T00:00:00Z",
        "payment_method": None,
    }
    assert export.typed(row, ORDER_SCHEMA) == row
    assert export.typed({**row, "quantity": "1"}, ORDER_SCHEMA) is None
    assert export.typed({**row, "quantity": True}, ORDER_SCHEMA) is None
    assert export.typed({**row, "coupon": "X"}, ORDER_SCHEMA) is None
    assert export.typed([row], ORDER_SCHEMA) is None


def test_hbase_row_parses_cells_by_schema():
    cells = {
        b"info:customer_id": b"7",
        b"info:name": b"Ada",
        b"info:age": b"36",
        b"info:gender": b"F",
    }
    row = export.hbase_row(cells, CUSTOMER_SCHEMA)
    assert row == {
        "customer_id": 7,
        "name": "Ada",
        "email": None,
        "phone": None,
        "age": 36,
        "gender": "F",
        "location": None,
    }


def test_export_from_jsonl_keeps_every_line_and_types_what_fits(jsonl_shop, tmp_path):
    meta = export.export_files(jsonl_shop, tmp_path, date(2025, 4, 1))
    manifest = orjson.loads((jsonl_shop / "manifest.json").read_bytes())
    folder = tmp_path / "2025-04-01"
    lines = (folder / "orders.jsonl").read_bytes().splitlines()
    assert len(lines) == manifest["counts"]["orders"] == meta["counts"]["orders"]["records"]
    garbage = sum(
        manifest["dirt"]["orders"].get(k, 0)
        for k in ("truncated_json", "wrong_type:quantity", "unknown_field:coupon", "non_utf8")
    )
    # an oversized date is still a string: it fits the schema
    assert pq.read_table(folder / "orders.parquet").num_rows == len(lines) - garbage
    assert pq.read_table(folder / "customers.parquet").schema.equals(CUSTOMER_SCHEMA)


def test_export_replaces_its_own_day_only(jsonl_shop, tmp_path):
    other = tmp_path / "2025-03-31"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    export.export_files(jsonl_shop, tmp_path, date(2025, 4, 1))
    (tmp_path / "2025-04-01" / "stale.txt").write_text("old run")
    export.export_files(jsonl_shop, tmp_path, date(2025, 4, 1))
    assert not (tmp_path / "2025-04-01" / "stale.txt").exists()
    assert (other / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-03-31", "2025-04-01"]


def test_export_cli_names_bad_values(tmp_path):
    result = CliRunner().invoke(
        batch,
        [
            "export",
            "--from-files",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--date",
            "2025-02-30",
        ],
    )
    assert (
        result.exit_code == 2 and "'2025-02-30' is not a date: expected YYYY-MM-DD" in result.output
    )
    result = CliRunner().invoke(
        batch,
        [
            "export",
            "--from-files",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--date",
            "2025-02-03",
        ],
    )
    assert result.exit_code == 1 and "holds no generator output" in result.output
