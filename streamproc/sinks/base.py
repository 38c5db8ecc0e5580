"""The shape of a sink: rows are added in memory and written by ``flush``."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Sink(ABC):
    """Buffers rows and writes them in batches.

    The stream processor flushes a sink before the records that produced its rows
    are acknowledged, so a committed offset always has its rows written.  A failed
    flush raises: the batch is not acknowledged and is processed again.
    """

    @abstractmethod
    def add(self, table: str, row: bytes, data: dict[bytes, bytes]) -> None:
        """Buffer one row put."""

    @abstractmethod
    def flush(self) -> int:
        """Write every buffered row; return how many were written."""
