"""Clean products: reject a negative price or stock (never ``abs()``), and duplicates.

Output (JSON key, JSON value): ``"product"`` and the record, or ``"reject"`` and
``{"kind", "reasons", "raw"}``.  Counters ``products``: kept, rejected;
``product_rejects``: one per reason.
"""

from __future__ import annotations

from mrjob.job import MRJob
from mrjob.protocol import BytesValueProtocol
from mrjob.step import MRStep

from batch.mapreduce.protocols import OrjsonProtocol
from batch.mapreduce.rules import check_product, reject

REJECTS = "rejects"


class MRCleanProducts(MRJob):
    """Clean the products file; see the module docstring."""

    INPUT_PROTOCOL = BytesValueProtocol
    INTERNAL_PROTOCOL = OrjsonProtocol
    OUTPUT_PROTOCOL = OrjsonProtocol
    SORT_VALUES = True

    def mapper_check_product(self, _, line: bytes):  # noqa: ANN201 - a generator
        """Validate one line; emit the product by id, or the reject."""
        if not line.strip():
            return
        product, reasons = check_product(line)
        if product is None:
            yield REJECTS, reject("product", reasons, line)
        else:
            yield product["product_id"], product

    def reducer_dedupe_product(self, key, values):  # noqa: ANN001, ANN201
        """Keep the first record of a product id; count and emit."""
        if key == REJECTS:
            for entry in values:
                self._count_reject(entry)
                yield "reject", entry
            return
        first, *duplicates = values
        for record in duplicates:
            entry = reject("product", ["duplicate_product_id"], record)
            self._count_reject(entry)
            yield "reject", entry
        self.increment_counter("products", "kept", 1)
        yield "product", first

    def _count_reject(self, entry: dict) -> None:
        self.increment_counter("products", "rejected", 1)
        for reason in entry["reasons"]:
            self.increment_counter("product_rejects", reason, 1)

    def steps(self) -> list[MRStep]:
        """One step: validate, then dedupe by id."""
        return [MRStep(mapper=self.mapper_check_product, reducer=self.reducer_dedupe_product)]


if __name__ == "__main__":
    MRCleanProducts.run()
