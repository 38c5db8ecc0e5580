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


def internal_topics(app_id: str) -> tuple[str, ...]:
    """Return the worker's internal input topics, created by `streamproc init` too.

    A topic the worker subscribes to must exist before it joins its group: faust
    creates it at start-up, but the broker's metadata can lag, the first assignment
    then leaves the topic out, and nothing reads it until the next rebalance.
    """
    return (f"{app_id}-{PARKED_TICKS}",)
