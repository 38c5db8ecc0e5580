"""HBase access through happybase (Thrift1: buffered transport, binary protocol)."""

from __future__ import annotations

import happybase
from thriftpy2.transport import TTransportException

from streamproc.hbase_schema import TABLES
from streamproc.retry import with_backoff
from streamproc.settings import Settings


def connect(settings: Settings, *, attempts: int = 8) -> happybase.Connection:
    """Open a happybase connection, retrying with backoff while HBase is down."""

    def _open() -> happybase.Connection:
        conn = happybase.Connection(
            settings.hbase_host, settings.hbase_port, timeout=30_000, autoconnect=False
        )
        conn.open()
        conn.tables()  # fails fast if the Thrift server is up but HBase is not
        return conn

    return with_backoff(
        _open,
        what=f"HBase Thrift at {settings.hbase_host}:{settings.hbase_port}",
        attempts=attempts,
        retry_on=(OSError, TTransportException),
    )


def ensure_tables(conn: happybase.Connection, settings: Settings) -> list[str]:
    """Create the pipeline's tables that are missing; return the names created."""
    existing = {t.decode() for t in conn.tables()}
    created = []
    for name, families in TABLES.items():
        full = settings.table_name(name)
        if full in existing:
            continue
        conn.create_table(full, {family: {"max_versions": 1} for family in families})
        created.append(full)
    return created


def drop_tables(conn: happybase.Connection, settings: Settings) -> list[str]:
    """Delete the pipeline's tables under the configured prefix; return the names."""
    existing = {t.decode() for t in conn.tables()}
    dropped = []
    for name in TABLES:
        full = settings.table_name(name)
        if full in existing:
            conn.delete_table(full, disable=True)
            dropped.append(full)
    return dropped
