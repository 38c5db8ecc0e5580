"""Create and drop everything one set of settings names: topics, changelogs, HBase tables.

``streamproc init`` creates; tests and benchmarks create under a unique prefix and
app id (:func:`scoped`) and drop all of it afterwards.
"""

from __future__ import annotations

import shutil
from typing import Any

from streamproc import hbase, kafka_admin
from streamproc.settings import Settings


def scoped(settings: Settings, token: str, **extra: Any) -> Settings:
    """Return settings whose topics, consumer group and HBase tables carry ``token``."""
    return settings.model_copy(
        update={
            "topic_prefix": f"{token}-",
            "app_id": token,
            "hbase_table_prefix": f"{token}_",
            **extra,
        }
    )


def create(settings: Settings) -> tuple[list[str], list[str]]:
    """Create the missing topics and HBase tables; return the names created of each."""
    topics = kafka_admin.ensure_topics(settings)
    conn = hbase.connect(settings)
    try:
        tables = hbase.ensure_tables(conn, settings)
    finally:
        conn.close()
    return topics, tables


def drop(settings: Settings) -> None:
    """Drop the HBase tables, the topics (faust's changelogs too) and local table files."""
    for datadir in settings.faust_datadirs():
        shutil.rmtree(datadir, ignore_errors=True)
    conn = hbase.connect(settings)
    try:
        hbase.drop_tables(conn, settings)
    finally:
        conn.close()
    admin = kafka_admin.admin(settings)
    try:
        prefixes = (settings.topic_prefix, f"{settings.app_id}-")
        mine = [t for t in admin.list_topics() if t.startswith(prefixes)]
    finally:
        admin.close()
    kafka_admin.delete_topics(settings, mine)
