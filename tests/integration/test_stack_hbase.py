"""happybase against the real HBase Thrift1 server."""

import pytest

from streamproc import hbase
from streamproc.hbase_schema import TABLES

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(prefixed):
    connection = hbase.connect(prefixed)
    hbase.ensure_tables(connection, prefixed)
    yield connection
    connection.close()


def test_tables_have_exactly_the_schema_families(conn, prefixed):
    for name, families in TABLES.items():
        got = conn.table(prefixed.table_name(name)).families()
        assert sorted(f.decode() if isinstance(f, bytes) else f for f in got) == sorted(families)
    assert TABLES["customers"] == ("info",)
    assert TABLES["products"] == ("details", "inventory")
    assert TABLES["orders"] == ("info",)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_put_get_scan_on_each_table(conn, prefixed, name):
    table = conn.table(prefixed.table_name(name))
    families = TABLES[name]
    rows = {
        f"row-{i:03d}".encode(): {f"{families[-1]}:v".encode(): f"{i}".encode()} for i in range(25)
    }
    with table.batch(batch_size=10) as batch:
        for key, data in rows.items():
            batch.put(key, data)
    assert table.row(b"row-007") == rows[b"row-007"]
    assert dict(table.scan(batch_size=7)) == rows
    assert [k for k, _ in table.scan(row_start=b"row-010", row_stop=b"row-013")] == [
        b"row-010",
        b"row-011",
        b"row-012",
    ]


def test_init_is_idempotent(conn, prefixed):
    assert hbase.ensure_tables(conn, prefixed) == []
