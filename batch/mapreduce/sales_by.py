"""Sum revenue, orders and quantity of the enriched orders by every dimension.

Input: the output of :mod:`enrich_orders` (``"order"`` lines; rejects are skipped).
Dimensions: ``total`` (key ``all``), those of the stream (month ``YYYY-MM``, day,
hour, category, gender, age band, location, payment method) and ``customer_id`` and
``product_id`` for the rankings.  Output: ``[dimension, key]`` and
``[revenue, orders, quantity]`` (revenue in cents).  Counter ``sales``: orders.
"""

from __future__ import annotations

from mrjob.job import MRJob
from mrjob.step import MRStep

from batch.mapreduce.protocols import OrjsonProtocol
from batch.mapreduce.rules import sale_keys


class MRSalesBy(MRJob):
    """Sales by dimension; see the module docstring."""

    INPUT_PROTOCOL = OrjsonProtocol
    INTERNAL_PROTOCOL = OrjsonProtocol
    OUTPUT_PROTOCOL = OrjsonProtocol

    def mapper_emit_sale(self, kind: str, order: dict):  # noqa: ANN201 - a generator
        """Emit one order's figures under each of its dimension keys."""
        if kind != "order":
            return
        self.increment_counter("sales", "orders", 1)
        cell = [order["total_amount"], 1, order["quantity"]]
        for dimension, key in sale_keys(order):
            yield [dimension, key], cell

    def reducer_sum_sales(self, key: list, cells):  # noqa: ANN001, ANN201
        """Sum the ``[revenue, orders, quantity]`` cells of one dimension key."""
        revenue = orders = quantity = 0
        for cell in cells:
            revenue += cell[0]
            orders += cell[1]
            quantity += cell[2]
        yield key, [revenue, orders, quantity]

    def steps(self) -> list[MRStep]:
        """One step; the reducer doubles as the combiner (sums are associative)."""
        return [
            MRStep(
                mapper=self.mapper_emit_sale,
                combiner=self.reducer_sum_sales,
                reducer=self.reducer_sum_sales,
            )
        ]


if __name__ == "__main__":
    MRSalesBy.run()
