"""`streamproc init` creates the topics and tables, and Kafka's own tool agrees."""

import subprocess
import sys

import pytest

from stack import jars
from stack.process import java_bin
from streamproc import hbase
from streamproc.topic_names import ALL_TOPICS, changelog_topics

pytestmark = pytest.mark.integration


def _streamproc(*args, env_extra=None):
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "streamproc.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _kafka_topics(settings, *args):
    return subprocess.run(
        [
            java_bin(settings),
            "-cp",
            jars.classpath(settings.cache_dir, "kafka"),
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            settings.kafka_bootstrap_servers,
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_init_creates_topics_kafka_topics_lists_them(prefixed):
    first = _streamproc("init", env_extra={"ECOM_HBASE_TABLE_PREFIX": prefixed.hbase_table_prefix})
    assert first.returncode == 0, first.stderr
    listed = set(_kafka_topics(prefixed, "--list").split())
    assert set(ALL_TOPICS) <= listed
    described = _kafka_topics(prefixed, "--describe", "--topic", "orders")
    assert f"PartitionCount: {prefixed.topic_partitions}" in described
    # the changelogs exist before any worker starts, compacted as faust makes them
    assert set(changelog_topics(prefixed.app_id)) <= listed
    totals = _kafka_topics(prefixed, "--describe", "--topic", f"{prefixed.app_id}-totals-changelog")
    assert "cleanup.policy=compact" in totals
    assert f"PartitionCount: {prefixed.topic_partitions}" in totals

    second = _streamproc("init", env_extra={"ECOM_HBASE_TABLE_PREFIX": prefixed.hbase_table_prefix})
    assert second.returncode == 0, second.stderr
    assert "0 created (all existed)" in second.stderr

    conn = hbase.connect(prefixed)
    try:
        names = {t.decode() for t in conn.tables()}
    finally:
        conn.close()
    assert {prefixed.table_name(t) for t in ("customers", "products", "orders")} <= names
