"""Retry with exponential backoff for services that may be down for a while."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class ServiceUnavailable(RuntimeError):
    """A service did not answer within the retry budget."""


def with_backoff(
    fn: Callable[[], T],
    *,
    what: str,
    attempts: int = 8,
    base_delay: float = 0.5,
    max_delay: float = 10.0,
    retry_on: tuple[type[BaseException], ...] = (OSError,),
) -> T:
    """Call ``fn`` until it succeeds, sleeping 0.5 s, 1 s, 2 s, ... between failures.

    Each failure is logged with the attempt number; after ``attempts`` failures a
    :class:`ServiceUnavailable` names ``what`` and the last error.
    """
    delay = base_delay
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except retry_on as exc:
            if attempt == attempts:
                raise ServiceUnavailable(
                    f"{what}: no answer after {attempts} attempts ({type(exc).__name__}: {exc})"
                ) from exc
            log.warning("retrying %s: attempt=%d error=%r delay=%.1fs", what, attempt, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)
    raise AssertionError("unreachable")
