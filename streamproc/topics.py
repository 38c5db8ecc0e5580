"""The Faust topic objects of the pipeline (raw bytes in, decoded by the agents)."""

from __future__ import annotations

from streamproc import topic_names
from streamproc.app import app, settings


def _topic(name: str):  # noqa: ANN202 - faust.TopicT
    return app.topic(
        settings.topic(name),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.topic_partitions,
    )


customers_topic = _topic(topic_names.CUSTOMERS)
products_topic = _topic(topic_names.PRODUCTS)
stock_updates_topic = _topic(topic_names.STOCK_UPDATES)
orders_topic = _topic(topic_names.ORDERS)
dlq_topic = _topic(topic_names.ORDERS_DLQ)
low_stock_topic = _topic(topic_names.LOW_STOCK)

#: internal: a tick per partition that has parked orders, so that retries run inside
#: that partition's stream (and commit in its transaction)
parked_ticks_topic = app.topic(
    topic_names.internal_topics(settings.app_id)[0],
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
    partitions=settings.topic_partitions,
    internal=True,
)
