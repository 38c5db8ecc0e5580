"""Names of the pipeline's Kafka topics (kebab-case)."""

CUSTOMERS = "customers"
PRODUCTS = "products"
STOCK_UPDATES = "stock-updates"
ORDERS = "orders"
ORDERS_DLQ = "orders-dlq"
LOW_STOCK = "low-stock"

#: every topic `streamproc init` creates, all with ECOM_TOPIC_PARTITIONS partitions
ALL_TOPICS = (CUSTOMERS, PRODUCTS, STOCK_UPDATES, ORDERS, ORDERS_DLQ, LOW_STOCK)
