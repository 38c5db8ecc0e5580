"""Top-N rankings: highest first, ties broken by the lower id first."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

MAX_N = 100


def top_n(scores: Mapping[int, tuple[int, ...]], n: int) -> list[tuple[int, tuple[int, ...]]]:
    """Return the ``n`` ids with the highest score tuples, ties by the lower id.

    ``scores`` maps an id to a tuple compared lexicographically (e.g. ``(revenue,)``
    or ``(quantity, revenue)``).
    """
    return heapq.nsmallest(n, scores.items(), key=lambda kv: (_neg(kv[1]), kv[0]))


def _neg(score: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(-s for s in score)


def merge_top(
    current: Iterable[int],
    updated: Iterable[int],
    score: Mapping[int, tuple[int, ...]],
    k: int = MAX_N,
) -> list[int]:
    """Return the new top-``k`` ids after the ids in ``updated`` changed.

    Scores only grow (amounts and quantities are never negative), so any id that
    enters the top-k must be one that was updated: the union of the old top-k and
    the updated ids holds the new top-k.
    """
    candidates = set(current) | set(updated)
    return [i for i, _ in top_n({i: score[i] for i in candidates}, k)]
