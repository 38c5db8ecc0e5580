"""What one poll costs the dashboard's event loop: every session's refresh and message.

Builds the dashboard document ``--sessions`` times as the Bokeh server does (one
run of ``bokeh_server/main.py`` per session), then feeds them ``--polls`` snapshots
in which every figure changes (as at 2,000 orders/s) and times the refresh of all
sessions: the models' changes and each session's ``PATCH-DOC`` serialized to JSON,
as the server does before writing it.  Two ways of building the message take turns
on the same documents:

* ``bokeh``: Bokeh's own ``patch_doc.create`` for every session (the baseline);
* ``shared``: :func:`bokeh_server.patches.patch_message`, which encodes the lists
  every session sends once per snapshot (:class:`bokeh_server.patches.Shared`).

No worker or socket is involved.  Prints a summary on stderr and one JSON object on
stdout.  Usage: python bench/bench_refresh.py [--sessions N] [--polls P] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bokeh.application.handlers import ScriptHandler
from bokeh.document import Document
from bokeh.protocol import Protocol

from bokeh_server import feed as feeds
from bokeh_server import patches

MAIN = Path(__file__).resolve().parent.parent / "bokeh_server" / "main.py"


def views(poll: int) -> dict[str, Any]:
    """Web-view answers of the worker's size in which every figure changes with ``poll``."""
    r = random.Random(poll)

    def sales(keys: Any) -> dict:
        return {
            k: {"revenue": r.randrange(10**9), "orders": r.randrange(10**5),
                "quantity": r.randrange(10**5)}
            for k in keys
        }  # fmt: skip

    def top(kind: str) -> list[dict]:
        return [
            {f"{kind}_id": r.randrange(10**5), f"{kind}_name": f"{kind} {i}", "name": f"Name {i}",
             "quantity": 1000 - i + poll, "revenue": 10**7 - i * 1000 + poll, "orders": 30 - i}
            for i in range(10)
        ]  # fmt: skip

    return {
        "revenue": {
            "total_revenue": 10**9 + poll * 1000,
            "orders": 10**5 + poll * 800,
            "rejected": poll,
            "as_of": "x",
        },
        "top_customers": top("customer"),
        "top_products_quantity": top("product"),
        "top_products_revenue": top("product"),
        "sales_gender": sales("FMO"),
        "sales_age_band": sales(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]),
        "sales_location": sales([f"City{i}, Land" for i in range(60)]),
        "sales_category": sales([f"Category {i}" for i in range(12)]),
        "sales_payment_method": sales("12345"),
        "customers_by_location": {f"City{i}, Land": r.randrange(10**4) for i in range(60)},
        "low_stock": [
            {"product_id": i, "product_name": f"P{i}", "stock": r.randrange(10)} for i in range(50)
        ],
    }


class Feed:
    """Stands in for the feed thread: the bench sets :attr:`snapshot` itself."""

    def __init__(self) -> None:
        self.options = feeds.parse_args([])
        self.snapshot = feeds.Snapshot(views=views(0), as_of=datetime.now(UTC), version=1)
        self.meter = feeds.RateMeter()
        self.dashboards: list[Any] = []

    def next(self, poll: int) -> None:
        self.meter.add(poll * 0.4, poll * 400.0, 10**5 + poll * 800, 10**9 + poll * 1000)
        self.snapshot = feeds.Snapshot(
            views=views(poll), rates=tuple(self.meter.points), as_of=datetime.now(UTC),
            version=poll + 1,
        )  # fmt: skip

    def subscribe(self, callback: Any) -> None:
        self.dashboards.append(callback.__self__)  # a Dashboard's notify


class Session:
    """Takes a document's batches as a server session does, and serializes them."""

    def __init__(self) -> None:
        self.protocol = Protocol()
        self.mode = "shared"
        self.sent_bytes = 0

    def _document_patched(self, batch: patches.PatchBatch) -> None:
        if self.mode == "bokeh":
            msg = self.protocol.create("PATCH-DOC", batch.events)
        else:
            msg = patches.patch_message(batch.events, batch.shared)
        self.sent_bytes = len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--polls", type=int, default=30, help="snapshots per run")
    parser.add_argument("--runs", type=int, default=5, help="runs of each way, taking turns")
    args = parser.parse_args()
    for name in ("sessions", "polls", "runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: expected a positive number, got {getattr(args, name)}")

    feed = Feed()
    feeds.attach(None, feed)  # main.py's build() finds it as a served document's feed
    handler = ScriptHandler(filename=str(MAIN))
    sessions = []
    for _ in range(args.sessions):
        doc = Document()
        handler.modify_document(doc)
        if handler.failed:
            sys.exit(f"bokeh_server/main.py failed: {handler.error}")
        doc.models.flush_synced()  # as after the page's PULL-DOC
        session = Session()
        doc.callbacks.on_change_dispatch_to(session)
        sessions.append(session)

    poll = 0
    per_session: dict[str, list[float]] = {"bokeh": [], "shared": []}
    for run in range(args.runs):
        for mode in ("bokeh", "shared"):
            for session in sessions:
                session.mode = mode
            seconds = []
            for _ in range(args.polls):
                poll += 1
                feed.next(poll)
                t0 = time.perf_counter()
                for dash in feed.dashboards:
                    dash.refresh()
                seconds.append(time.perf_counter() - t0)
            per_session[mode].append(statistics.median(seconds) / args.sessions * 1000)
            print(
                f"run {run + 1} {mode}: {per_session[mode][-1]:.2f} ms per session",
                file=sys.stderr,
            )
    bokeh_ms = statistics.median(per_session["bokeh"])
    shared_ms = statistics.median(per_session["shared"])
    print(json.dumps({
        "sessions": args.sessions,
        "polls": args.polls,
        "runs": args.runs,
        "message_bytes": sessions[0].sent_bytes,
        "bokeh_ms_per_session": round(bokeh_ms, 2),
        "shared_ms_per_session": round(shared_ms, 2),
        "bokeh_ms_per_poll": round(bokeh_ms * args.sessions, 1),
        "shared_ms_per_poll": round(shared_ms * args.sessions, 1),
        "speedup": round(bokeh_ms / shared_ms, 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
