"""Shared fixtures: settings, unique names, and the real local stack."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from streamproc.settings import Settings, get_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The settings in force (the Makefile exports ECOM_STATE_DIR and ECOM_DATA_DIR)."""
    return get_settings()


@pytest.fixture
def unique() -> str:
    """A short unique token for topic and table names of one test."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Settings:
    """The local stack, started once per session if `make test` has not already."""
    from stack import process

    process.up(settings, report=lambda _msg: None)
    return settings


@pytest.fixture
def topic(stack: Settings, unique: str) -> Iterator[str]:
    """A fresh 8-partition topic, deleted after the test."""
    from streamproc import kafka_admin

    name = f"test-{unique}"
    kafka_admin.ensure_topics(stack, (name,))
    yield name
    kafka_admin.delete_topics(stack, [name])


@pytest.fixture
def prefixed(stack: Settings, unique: str) -> Iterator[Settings]:
    """Settings whose HBase tables carry a unique prefix; the tables are dropped after."""
    from streamproc import hbase

    scoped = stack.model_copy(update={"hbase_table_prefix": f"t{unique}_"})
    yield scoped
    conn = hbase.connect(scoped)
    try:
        hbase.drop_tables(conn, scoped)
    finally:
        conn.close()
