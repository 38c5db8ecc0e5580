"""Kafka topics of the pipeline, created idempotently with kafka-python's admin client."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streamproc.retry import with_backoff
from streamproc.settings import Settings
from streamproc.topic_names import ALL_TOPICS, internal_topics


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
    lives with the stream partition that updates it.  Returns the names created.
    """
    partitions = partitions or settings.topic_partitions
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        full = [settings.topic(name) for name in names]
        if names == ALL_TOPICS:
            full += internal_topics(settings.app_id)
        wanted = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=settings.topic_replication,
            )
            for name in full
            if name not in existing
        ]
        created = []
        for topic in wanted:
            try:
                client.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        client.close()


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
