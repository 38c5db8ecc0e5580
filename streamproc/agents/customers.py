"""Customers → the customer table (for enrichment) and the HBase ``customers`` row."""

from __future__ import annotations

from streamproc import topic_names
from streamproc.app import app
from streamproc.runtime import (
    TAKE,
    by_partition,
    commit_batch,
    dead_letter,
    health,
    hold,
    sink,
    unbatch,
)
from streamproc.sinks.hbase import row_key
from streamproc.tables import state
from streamproc.topics import customers_topic
from streamproc.validation import decode


def customer_row(c: object) -> dict[bytes, bytes]:
    """Return the ``info`` columns of a customer."""
    return {
        b"info:customer_id": str(c.customer_id).encode(),
        b"info:name": c.name.encode(),
        b"info:email": c.email.encode(),
        b"info:phone": c.phone.encode(),
        b"info:age": str(c.age).encode(),
        b"info:gender": c.gender.encode(),
        b"info:location": c.location.encode(),
    }


@app.agent(customers_topic)
async def customers_agent(stream):  # noqa: ANN001, ANN201 - a Faust agent
    """Validate customers, keep them for enrichment, and write their HBase rows."""
    async for events in stream.take_events(TAKE, within=0.2):
        hold(events)
        accepted = []
        records = unbatch(events)
        groups = by_partition(records)
        for partition, group in groups.items():
            for event in group:
                record, reasons = decode(topic_names.CUSTOMERS, event.message.value)
                if reasons:
                    accepted.append((partition, event, None, reasons))
                    continue
                sink.add("customers", row_key(record.customer_id), customer_row(record))
                accepted.append((partition, event, record, None))
        await sink.write_behind()
        await commit_batch(stream, events, groups, _apply, accepted)
        health["records"] += len(records)
        health["batches"] += 1


def _apply(accepted: list[tuple]) -> None:
    """Change the customer table for a batch whose rows are in HBase."""
    for partition, event, record, reasons in accepted:
        if record is None:
            dead_letter(event, reasons)
            continue
        value = [record.name, record.age, record.gender, record.location]
        state.put(state.customers, partition, record.customer_id, value)
