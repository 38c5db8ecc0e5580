"""HBase sink: happybase batches, retried with backoff while HBase is down.

Row keys carry a salt prefix against region hot-spotting: ``SS|IIIIIIIIIIII``, where
``IIIIIIIIIIII`` is the zero-padded numeric id and ``SS`` is ``crc32(id) % 16`` in two
hex digits.  Consecutive ids (order ids grow monotonically) so spread over 16 key
ranges, which map onto regions when a table is pre-split at ``01|``, ``02|``, ...
(see docs/scaling.md).  A reader computes the key from the id alone.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import zlib
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor

import happybase
from thriftpy2.thrift import TException

from streamproc.settings import Settings
from streamproc.sinks.base import Sink

log = logging.getLogger(__name__)
SALT_BUCKETS = 16


def row_key(entity_id: int) -> bytes:
    """Return the salted row key of a numeric id."""
    salt = zlib.crc32(str(entity_id).encode()) % SALT_BUCKETS
    return f"{salt:02x}|{entity_id:012d}".encode()


def id_of(row: bytes) -> int:
    """Return the numeric id of a salted row key."""
    return int(row.split(b"|", 1)[1])


Rows = dict[str, dict[bytes, dict[bytes, bytes]]]


class HBaseSink(Sink):
    """Buffers puts per table and writes each table's rows in one Thrift batch.

    Writes run in one thread of their own, in the order they were handed over, while
    the event loop goes on with the next records; at most ``max_in_flight`` batches
    wait there (back-pressure when HBase is slower than the stream).  While HBase is
    down or stalled (:meth:`degraded`) the batches queue up to ``max_pending_rows``
    rows instead, so the tables keep going through an outage; the offset commits
    still wait for every row.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        max_delay: float = 5.0,
        max_in_flight: int = 4,
        stall_after: float = 10.0,
    ) -> None:
        self._settings = settings
        self._rows: Rows = defaultdict(dict)
        self._conn: happybase.Connection | None = None
        self._max_delay = max_delay
        self._max_in_flight = max_in_flight
        self._max_pending_rows = settings.hbase_max_pending_rows
        self._stall_after = stall_after
        self._lock = threading.Lock()
        self._writer: ThreadPoolExecutor | None = None
        self._in_flight: deque[tuple[Future, int]] = deque()
        self._writing_since: float | None = None
        self.retries = 0
        self.written = 0
        self.last_error: str | None = None

    def _may_queue(self) -> bool:
        return self.degraded() and self.pending() <= self._max_pending_rows

    def degraded(self) -> bool:
        """Return True while a write fails, or has taken longer than ``stall_after``."""
        since = self._writing_since
        return self.last_error is not None or (
            since is not None and time.monotonic() - since > self._stall_after
        )

    def add(self, table: str, row: bytes, data: dict[bytes, bytes]) -> None:
        """Buffer a put; a later put of the same row merges its columns."""
        self._rows[table].setdefault(row, {}).update(data)

    def pending(self) -> int:
        """Return the number of rows not written yet (buffered or being written)."""
        buffered = sum(len(rows) for rows in self._rows.values())
        return buffered + sum(count for future, count in self._in_flight if not future.done())

    async def write_behind(self) -> None:
        """Hand the buffered rows to the writer thread (call from the event loop)."""
        rows, self._rows = self._rows, defaultdict(dict)
        count = sum(len(r) for r in rows.values())
        if count:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="hbase-sink")
            self._in_flight.append((self._writer.submit(self._write_rows, rows, count), count))
        if len(self._in_flight) > self._max_in_flight:
            # wait for the write max_in_flight places back, not for the queue to shrink
            # (another agent refilling it would keep this one waiting), and stop waiting
            # once HBase is found down or stalled: the rows may then queue up
            earlier = asyncio.wrap_future(self._in_flight[-1 - self._max_in_flight][0])
            while not earlier.done() and not self._may_queue():
                await asyncio.wait({earlier}, timeout=0.5)
            self._forget_written()

    async def drain(self) -> int:
        """Write every buffered row and wait until HBase has taken them; return their count.

        Only the writes handed over before the call are waited for.  Waiting until
        none was in flight never ended while a backlog kept the agents handing over
        rows (each waits for the write four places back, not for the queue to empty):
        a worker draining a backlog did not commit until it had drained all of it.
        A write that raised stays queued, and every later drain raises it again.
        """
        await self.write_behind()
        waited = list(self._in_flight)
        for future, _count in waited:
            await asyncio.wrap_future(future)  # raises what the write raised
        self._forget_written()
        return sum(count for _future, count in waited)

    def _forget_written(self) -> None:
        """Drop the writes done from the front of the queue (a failed one is kept)."""
        while self._in_flight and self._in_flight[0][0].done():
            if self._in_flight[0][0].exception() is not None:
                break  # kept: drain() raises it
            self._in_flight.popleft()

    def _write_rows(self, rows: Rows, count: int) -> int:
        """Write ``rows``, retrying with backoff until HBase takes them."""
        with self._lock:
            delay = 0.5
            self._writing_since = time.monotonic()
            while True:
                try:
                    self._write(rows)
                    self.written += count
                    self.last_error = None
                    self._writing_since = None
                    return count
                except (OSError, TException) as exc:  # refused, reset, or an HBase IOError
                    self.retries += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning(
                        "hbase flush failed: rows=%d retry_in=%.1fs error=%r", count, delay, exc
                    )
                    self._close()
                    time.sleep(delay)
                    delay = min(delay * 2, self._max_delay)

    def _write(self, rows: Rows) -> None:
        conn = self._connection()
        for table, puts in rows.items():
            with conn.table(self._settings.table_name(table)).batch() as batch:
                for row, data in puts.items():
                    batch.put(row, data)

    def _connection(self) -> happybase.Connection:
        if self._conn is None:
            conn = happybase.Connection(
                self._settings.hbase_host,
                self._settings.hbase_port,
                timeout=60_000,
                autoconnect=False,
            )
            conn.open()
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        """Close the connection (buffered rows stay buffered)."""
        with self._lock:
            self._close()
