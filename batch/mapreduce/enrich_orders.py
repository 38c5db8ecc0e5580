"""Clean orders and join them with their product and customer; drop duplicate order ids.

Input: the output of :mod:`clean_customers` and :mod:`clean_products` (lines
``"customer"<TAB>{...}`` and ``"product"<TAB>{...}``) and the raw orders (one JSON
object a line).  Three steps, each a reduce-side join with ``SORT_VALUES`` so the
dimension record (tagged ``0``) reaches the reducer before the orders (tagged ``1``):

1. by product id: reject orders of unknown products, add category and price, and
   recompute a missing or negative amount as price x quantity (``--strict``: the
   stream's rules, reject instead);
2. by customer id: reject orders of unknown customers, add gender, age, age band,
   location and month;
3. by order id: keep the first copy of an order, reject the others.

Output (JSON key, JSON value): ``"order"`` and the enriched order, or ``"reject"``
and ``{"kind", "reasons", "raw"}``.  Counters ``orders``: kept, repaired, rejected;
``order_rejects``: one per reason.
"""

from __future__ import annotations

from collections import Counter

import orjson
from mrjob.job import MRJob
from mrjob.protocol import BytesValueProtocol
from mrjob.step import MRStep

from batch.mapreduce.protocols import OrjsonProtocol
from batch.mapreduce.rules import check_order, enrich_order, price_order, reject

_CUSTOMER = b'"customer"\t'
_PRODUCT = b'"product"\t'
_REJECT = b'"reject"\t'
REJECTS = ["x"]


class MREnrichOrders(MRJob):
    """Clean, enrich and dedupe orders; see the module docstring."""

    INPUT_PROTOCOL = BytesValueProtocol
    INTERNAL_PROTOCOL = OrjsonProtocol
    OUTPUT_PROTOCOL = OrjsonProtocol
    SORT_VALUES = True

    def configure_args(self) -> None:
        """Add ``--strict``: repair nothing, as the stream does."""
        super().configure_args()
        self.add_passthru_arg(
            "--strict", action="store_true", help="reject negative or missing amounts"
        )

    def mapper_route_record(self, _, line: bytes):  # noqa: ANN201 - a generator
        """Send customers to their id, products and orders to the product id."""
        if line.startswith(_CUSTOMER):
            customer = orjson.loads(line[len(_CUSTOMER) :])
            yield ["c", customer["customer_id"]], ["0", customer]
        elif line.startswith(_PRODUCT):
            product = orjson.loads(line[len(_PRODUCT) :])
            yield ["p", product["product_id"]], ["0", product]
        elif line.startswith(_REJECT) or not line.strip():
            return  # another job's rejects are not orders
        else:
            order, reasons = check_order(line, strict=self.options.strict)
            if order is None:
                yield REJECTS, reject("order", reasons, line)
            else:
                yield ["p", order["product_id"]], ["1", order]

    def reducer_price_order(self, key, values):  # noqa: ANN001, ANN201
        """Join the orders of one product with it; pass customers and rejects on."""
        if key[0] != "p":
            for value in values:
                yield key, value
            return
        product = None
        for tag, record in values:
            if tag == "0":
                product = record
            elif product is None:
                yield REJECTS, reject("order", ["unknown_product"], record)
            else:
                yield ["c", record["customer_id"]], ["1", price_order(record, product)]

    def reducer_enrich_order(self, key, values):  # noqa: ANN001, ANN201
        """Join the orders of one customer with them; pass rejects on."""
        if key[0] != "c":
            for value in values:
                yield key, value
            return
        customer = None
        for tag, record in values:
            if tag == "0":
                customer = record
            elif customer is None:
                yield REJECTS, reject("order", ["unknown_customer"], record)
            else:
                yield ["o", record["order_id"]], enrich_order(record, customer)

    def reducer_init_counts(self) -> None:
        """Start the reduce task's counts (sent once, at its end: one stderr line each)."""
        self._counts: Counter[tuple[str, str]] = Counter()

    def reducer_dedupe_order(self, key, values):  # noqa: ANN001, ANN201
        """Keep the first copy of each order id; count and emit orders and rejects."""
        if key[0] != "o":
            for entry in values:
                self._count_reject(entry)
                yield "reject", entry
            return
        first, *duplicates = values
        for record in duplicates:
            entry = reject("order", ["duplicate_order_id"], record)
            self._count_reject(entry)
            yield "reject", entry
        self._counts["orders", "repaired" if first["repairs"] else "kept"] += 1
        yield "order", first

    def _count_reject(self, entry: dict) -> None:
        self._counts["orders", "rejected"] += 1
        for reason in entry["reasons"]:
            self._counts["order_rejects", reason] += 1

    def reducer_final_counts(self) -> None:
        """Send the task's counts to mrjob's counters."""
        for (group, name), count in self._counts.items():
            self.increment_counter(group, name, count)

    def steps(self) -> list[MRStep]:
        """Join by product, join by customer, dedupe by order id."""
        return [
            MRStep(mapper=self.mapper_route_record, reducer=self.reducer_price_order),
            MRStep(reducer=self.reducer_enrich_order),
            MRStep(
                reducer_init=self.reducer_init_counts,
                reducer=self.reducer_dedupe_order,
                reducer_final=self.reducer_final_counts,
            ),
        ]


if __name__ == "__main__":
    MREnrichOrders.run()
