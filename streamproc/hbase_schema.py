"""The HBase tables of the pipeline and their column families.

``customers``: ``info`` (customer_id, name, email, phone, age, gender, location);
``products``: ``details`` (product_id, product_name, category) and ``inventory``
(price, stock_quantity); ``orders``: ``info`` (order_id, customer_id, product_id,
quantity, total_amount, transaction_date, payment_method); ``sales_summary``:
``stream`` and ``batch`` figures written by the stream processor and the nightly
batch for reconciliation.
"""

from __future__ import annotations

TABLES: dict[str, tuple[str, ...]] = {
    "customers": ("info",),
    "products": ("details", "inventory"),
    "orders": ("info",),
    "sales_summary": ("stream", "batch"),
}
