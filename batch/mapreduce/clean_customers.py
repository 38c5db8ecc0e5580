"""Clean customers: default gender, median age for missing ages, flagged emails, rejects.

The median must reach every customer whose age is missing, whatever the number of
reducers, so the job sends each map task's age histogram to each of
:data:`BUCKETS` reduce keys, next to the customers of that bucket.  With
``SORT_VALUES`` the histograms (tagged ``0``) reach a reducer before the customers
(tagged ``1`` and sorted by id, so duplicates are adjacent): the reducer sums them
into the global histogram, takes the median, then fills and emits each customer.
The histogram counts every valid line, a duplicate customer's too.

Output (JSON key, JSON value): ``"customer"`` and the clean record, or ``"reject"``
and ``{"kind", "reasons", "raw"}``.  Counters ``customers``: kept, repaired,
rejected; ``customer_rejects``: one per reason.
"""

from __future__ import annotations

from collections import Counter

from mrjob.job import MRJob
from mrjob.protocol import BytesValueProtocol
from mrjob.step import MRStep

from batch.mapreduce.protocols import OrjsonProtocol
from batch.mapreduce.rules import check_customer, fill_age, median_age, reject

#: reduce keys the customers are spread over (each receives every histogram)
BUCKETS = 16
REJECTS = "rejects"


class MRCleanCustomers(MRJob):
    """Clean the customers file; see the module docstring."""

    INPUT_PROTOCOL = BytesValueProtocol
    INTERNAL_PROTOCOL = OrjsonProtocol
    OUTPUT_PROTOCOL = OrjsonProtocol
    SORT_VALUES = True

    def configure_args(self) -> None:
        """Add ``--strict``: repair nothing, as the stream does."""
        super().configure_args()
        self.add_passthru_arg(
            "--strict", action="store_true", help="reject every customer the stream rejects"
        )

    def mapper_init_ages(self) -> None:
        """Start this map task's age histogram."""
        self.ages: Counter[str] = Counter()

    def mapper_check_customer(self, _, line: bytes):  # noqa: ANN201 - a generator
        """Validate one line; count its age and emit the customer in its bucket."""
        if not line.strip():
            return
        customer, reasons = check_customer(line, strict=self.options.strict)
        if customer is None:
            yield REJECTS, ["1", "", reject("customer", reasons, line)]
            return
        if customer["age"] is not None:
            self.ages[str(customer["age"])] += 1
        cid = customer["customer_id"]
        yield cid % BUCKETS, ["1", f"{cid:012d}", customer]

    def mapper_final_ages(self):  # noqa: ANN201
        """Send this task's histogram to every bucket (it sorts before the customers)."""
        if self.ages:
            for bucket in range(BUCKETS):
                yield bucket, ["0", dict(self.ages)]

    def reducer_fill_age(self, key, values):  # noqa: ANN001, ANN201
        """Sum the histograms, then dedupe, fill, count and emit the bucket's customers."""
        histogram: Counter[str] = Counter()
        median, previous = None, None
        for value in values:
            if value[0] == "0":
                histogram.update(value[1])
                median = None
                continue
            record = value[2]
            if key == REJECTS:
                self._count_reject(record)
                yield "reject", record
                continue
            if value[1] == previous:
                entry = reject("customer", ["duplicate_customer_id"], record)
                self._count_reject(entry)
                yield "reject", entry
                continue
            previous = value[1]
            if record["age"] is None:
                median = median if median is not None else median_age(histogram)
                if median is None:  # no valid age anywhere: nothing to fill with
                    entry = reject("customer", ["invalid_age"], record)
                    self._count_reject(entry)
                    yield "reject", entry
                    continue
                record = fill_age(record, median)
            self.increment_counter("customers", "repaired" if record["repairs"] else "kept", 1)
            yield "customer", record

    def _count_reject(self, entry: dict) -> None:
        self.increment_counter("customers", "rejected", 1)
        for reason in entry["reasons"]:
            self.increment_counter("customer_rejects", reason, 1)

    def steps(self) -> list[MRStep]:
        """One step: histogram and customers meet in the reducer."""
        return [
            MRStep(
                mapper_init=self.mapper_init_ages,
                mapper=self.mapper_check_customer,
                mapper_final=self.mapper_final_ages,
                reducer=self.reducer_fill_age,
            )
        ]


if __name__ == "__main__":
    MRCleanCustomers.run()
