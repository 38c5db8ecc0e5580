"""Kafka topics of the pipeline, created idempotently with kafka-python's admin client."""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streamproc.retry import with_backoff
from streamproc.settings import Settings
from streamproc.topic_names import (
    ALL_TOPICS,
    CHANGELOG_CONFIG,
    changelog_topics,
    internal_topics,
)

#: how long a created topic may take to appear in the broker's metadata
LISTED_TIMEOUT_S = 30.0


def admin(settings: Settings) -> KafkaAdminClient:
    """Return an admin client, retrying with backoff while the broker is down."""
    return with_backoff(
        lambda: KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id="streamproc-admin",
            request_timeout_ms=30_000,
            **settings.kafka_client_options(),
        ),
        what=f"Kafka at {settings.kafka_bootstrap_servers}",
        retry_on=(KafkaError, OSError),
    )


def ensure_topics(
    settings: Settings, names: tuple[str, ...] = ALL_TOPICS, partitions: int | None = None
) -> list[str]:
    """Create the topics that are missing, each with the same partition count.

    Every input topic and every Faust changelog must have the same number of
    partitions (``ECOM_TOPIC_PARTITIONS``, default 8) so that a table partition
    lives with the stream partition that updates it.  With the default ``names``,
    the worker's internal topics and its tables' changelogs (compacted, as faust
    makes them) are created too.  Returns the names created, once the broker lists
    every one of them.
    """
    partitions = partitions or settings.topic_partitions
    configs = {settings.topic(name): {} for name in names}
    if names == ALL_TOPICS:
        configs |= {name: {} for name in internal_topics(settings.app_id)}
        changelog = {"cleanup.policy": "compact", **CHANGELOG_CONFIG}
        configs |= {name: changelog for name in changelog_topics(settings.app_id)}
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        created = []
        for name, config in configs.items():
            if name in existing:
                continue
            topic = NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=settings.topic_replication,
                topic_configs=config,
            )
            try:
                client.create_topics([topic])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        _await_listed(client, configs)
        return created
    finally:
        client.close()


def _await_listed(client: KafkaAdminClient, names: Iterable[str]) -> None:
    """Wait until the broker's metadata lists every topic of ``names``."""
    deadline = time.monotonic() + LISTED_TIMEOUT_S
    while missing := set(names) - set(client.list_topics()):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"topics created but not listed by the broker after {LISTED_TIMEOUT_S:.0f} s:"
                f" {', '.join(sorted(missing))}"
            )
        time.sleep(0.1)


def delete_topics(settings: Settings, names: list[str]) -> None:
    """Delete topics that exist among ``names``."""
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            client.delete_topics(doomed)
    finally:
        client.close()
