"""Names of the pipeline's Kafka topics (kebab-case)."""

CUSTOMERS = "customers"
PRODUCTS = "products"
STOCK_UPDATES = "stock-updates"
ORDERS = "orders"
ORDERS_DLQ = "orders-dlq"
LOW_STOCK = "low-stock"

#: the topics the worker reads
INPUTS = (CUSTOMERS, PRODUCTS, STOCK_UPDATES, ORDERS)

#: every topic `streamproc init` creates, all with ECOM_TOPIC_PARTITIONS partitions
ALL_TOPICS = (*INPUTS, ORDERS_DLQ, LOW_STOCK)

#: internal (named ``<app id>-parked-ticks``): wakes the partitions holding parked orders
PARKED_TICKS = "parked-ticks"


#: the worker's Faust tables; each has a changelog topic ``<app id>-<table>-changelog``
TABLES = (
    "customers",
    "products",
    "totals",
    "sales",
    "customer-revenue",
    "product-sales",
    "orders-seen",
    "parked-orders",
    "progress",
    "rejected",
)

#: faust makes changelogs compacted, but a segment is compacted only once closed, and
#: Kafka closes one at 1 GiB: a restart replayed every update ever made.  Segments
#: that close every minute (or at 16 MiB) let the log cleaner keep about the latest
#: value per key, so recovery reads roughly one record per key.
CHANGELOG_CONFIG = {
    "segment.ms": "60000",
    "segment.bytes": str(16 * 1024 * 1024),
    "min.cleanable.dirty.ratio": "0.2",
}


def internal_topics(app_id: str) -> tuple[str, ...]:
    """Return the worker's internal input topics, created by `streamproc init` too.

    A topic the worker subscribes to must exist before it joins its group: faust
    creates it at start-up, but the consumer's metadata can lag behind the broker's.
    The group leader's assignment then leaves the topic out, and nothing reads it (a
    changelog: nothing serves its table) until the consumer's next metadata refresh,
    five minutes later.
    """
    return (f"{app_id}-{PARKED_TICKS}",)


def changelog_topics(app_id: str) -> tuple[str, ...]:
    """Return the changelog topics of the worker's tables (see :func:`internal_topics`)."""
    return tuple(f"{app_id}-{table}-changelog" for table in TABLES)
