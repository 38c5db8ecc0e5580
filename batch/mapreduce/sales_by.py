"""Sum revenue, orders and quantity of the enriched orders by every dimension.

Input: the output of :mod:`enrich_orders` (``"order"`` lines; rejects are skipped).
Dimensions: ``total`` (key ``all``), those of the stream (month ``YYYY-MM``, day,
hour, category, gender, age band, location, payment method) and ``customer_id`` and
``product_id`` for the rankings.  Output: ``[dimension, key]`` and
``[revenue, orders, quantity]`` (revenue in cents).  Counter ``sales``: orders.

Each map task sums its orders in a dict and emits one line per key it saw
(in-mapper combining) instead of one line per order and key, twelve an order.
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

    def mapper_init(self) -> None:
        """Start the map task's sums (in-mapper combining)."""
        self._sums: dict[tuple[str, str], list[int]] = {}
        self._orders = 0

    def mapper_sum_sale(self, kind: str, order: dict) -> None:
        """Add one order's figures to the task's sum under each of its dimension keys."""
        if kind != "order":
            return
        self._orders += 1
        amount, quantity = order["total_amount"], order["quantity"]
        sums = self._sums
        for key in sale_keys(order):
            cell = sums.get(key)
            if cell is None:
                sums[key] = [amount, 1, quantity]
            else:
                cell[0] += amount
                cell[1] += 1
                cell[2] += quantity

    def mapper_final(self):  # noqa: ANN201 - a generator
        """Emit the task's sums, one line per dimension key."""
        if self._orders:
            self.increment_counter("sales", "orders", self._orders)
        for (dimension, key), cell in self._sums.items():
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
        """One step: each map task sums its orders, the reducers sum the tasks' sums."""
        return [
            MRStep(
                mapper_init=self.mapper_init,
                mapper=self.mapper_sum_sale,
                mapper_final=self.mapper_final,
                reducer=self.reducer_sum_sales,
            )
        ]


if __name__ == "__main__":
    MRSalesBy.run()
