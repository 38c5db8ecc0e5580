import orjson
import pytest
from click.testing import CliRunner

from streamproc.generator_cli import generate


def invoke(*args):
    return CliRunner().invoke(generate, list(args))


def test_generates_into_out_and_prints_a_summary(tmp_path):
    result = invoke(
        "--seed", "4", "--customers", "50", "--products", "30", "--orders", "1000",
        "--out", str(tmp_path), "--format", "parquet", "--dirty-rate", "0.1",
        "--start", "2024-01-01", "--end", "2024-01-31",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 1,000 orders" in result.output
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["seed"] == 4
    assert manifest["arguments"] | {"size": None} == {
        "customers": 50,
        "products": 30,
        "orders": 1000,
        "format": "parquet",
        "dirty_rate": 0.1,
        "start": "2024-01-01",
        "end": "2024-01-31",
        "size": None,
        "chunk_rows": 1_000_000,
    }
    assert len(list((tmp_path / "orders").iterdir())) == 31


def test_size_chooses_the_order_count(tmp_path):
    result = invoke("--size", "300KB", "--out", str(tmp_path), "--customers", "20",
                    "--products", "10", "--start", "2024-01-01", "--end", "2024-01-02")  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["arguments"]["size"] == "300KB"
    assert 1_000 < manifest["counts"]["orders"] < 3_000  # ~160 bytes per jsonl order


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "5XB"], "Invalid value for '--size': '5XB' is not a size like 5GB"),
        (["--start", "2024-13-01"], "'2024-13-01' is not a day written YYYY-MM-DD"),
        (["--end", "yesterday"], "'yesterday' is not a day written YYYY-MM-DD"),
        (["--dirty-rate", "1.5"], "'--dirty-rate': 1.5 is not in the range 0.0<=x<=1.0"),
        (["--format", "xml"], "'xml' is not one of 'jsonl', 'csv', 'parquet'"),
        (["--customers", "0"], "'--customers': 0 is not in the range x>=1"),
        (["--orders", "-1"], "'--orders': -1 is not in the range x>=0"),
        (["--seed", "abc"], "'abc' is not a valid integer"),
        (["--orders", "10", "--size", "1MB"], "give --orders or --size, not both"),
        (["--start", "2024-05-01", "--end", "2024-04-01"], "2024-04-01 is before --start"),
        (["--start", "1999-12-31"], "before 2000-01-01"),
    ],
)
def test_bad_values_name_the_value_and_what_was_expected(tmp_path, args, message):
    result = invoke("--out", str(tmp_path), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "manifest.json").exists()
