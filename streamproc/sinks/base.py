"""The shape of a sink: rows are added in memory and written in batches."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Sink(ABC):
    """Buffers rows and writes them in batches.

    The stream processor hands a batch's rows to the sink (:meth:`write_behind`) and
    goes on; before offsets commit it waits for every row handed over so far
    (:meth:`drain`), so a committed offset always has its rows written.  A write that
    keeps failing is retried, and the commit waits: the records are not lost.
    """

    @abstractmethod
    def add(self, table: str, row: bytes, data: dict[bytes, bytes]) -> None:
        """Buffer one row put."""

    @abstractmethod
    async def write_behind(self) -> None:
        """Start writing the buffered rows; return once few enough writes are in flight."""

    @abstractmethod
    async def drain(self, *, give_up: bool = False) -> bool:
        """Write the buffered rows; wait for the writes handed over before the call.

        With ``give_up``, return False instead of waiting on while the store is down.
        """
