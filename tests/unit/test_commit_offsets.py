"""The offset a commit takes: the last applied record + 1, not faust's run of acks."""

from __future__ import annotations

from collections import defaultdict

import pytest
from faust.types import TP
from intervaltree import IntervalTree

from streamproc import faust_fixes

TOPIC = "orders"
PART = TP(TOPIC, 0)


class _Consumer:
    """The fields of faust's Consumer that its ``_new_offset`` reads."""

    def __init__(self, acked: list[int], committed: int | None) -> None:
        self._acked = defaultdict(list, {PART: list(acked)})
        self._acked_index = defaultdict(set, {PART: set(acked)})
        self._committed_offset = defaultdict(lambda: None, {PART: committed})
        self._gap = defaultdict(IntervalTree)


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> dict:
    progress: dict = {}
    monkeypatch.setattr(faust_fixes, "_last_applied", progress.get)
    monkeypatch.setattr(faust_fixes, "commits_past_acks", 0)
    monkeypatch.setattr(faust_fixes, "_batched", frozenset())
    return progress


def test_a_missing_ack_does_not_stop_the_commits(applied: dict) -> None:
    # offset 12 was applied but its ack never reached faust: faust alone commits
    # nothing past 12 (head gap), for ever
    consumer = _Consumer(acked=[13, 14, 15], committed=10)
    assert faust_fixes._original_new_offset(_Consumer([13, 14, 15], 10), PART) is None
    applied[(TOPIC, 0)] = 15
    assert faust_fixes._new_offset(consumer, PART) == 16
    assert consumer._acked[PART] == [] and consumer._acked_index[PART] == set()
    assert faust_fixes.commits_past_acks == 1


def test_acks_of_records_not_applied_are_not_committed(applied: dict) -> None:
    # records 21-23 were delivered ahead of a gap at 20: acked, left out, not applied
    consumer = _Consumer(acked=[21, 22, 23], committed=19)
    applied[(TOPIC, 0)] = 18
    assert faust_fixes._new_offset(consumer, PART) == 19  # not past what is applied
    applied[(TOPIC, 0)] = 23
    assert faust_fixes._new_offset(consumer, PART) == 24


def test_acks_beyond_the_applied_offset_are_kept(applied: dict) -> None:
    consumer = _Consumer(acked=[5, 6, 9, 10], committed=5)
    applied[(TOPIC, 0)] = 6
    assert faust_fixes._new_offset(consumer, PART) == 7
    assert consumer._acked[PART] == [9, 10]
    assert consumer._acked_index[PART] == {9, 10}


def test_a_partition_without_progress_keeps_faust_s_rule(applied: dict) -> None:
    consumer = _Consumer(acked=[3, 4, 5, 8], committed=3)
    assert faust_fixes._new_offset(consumer, PART) == 6
    assert faust_fixes.commits_past_acks == 0


def test_a_batched_topic_commits_what_is_applied(applied: dict, monkeypatch) -> None:
    # acked once per batch, at its last record: faust's rule sees a head gap
    monkeypatch.setattr(faust_fixes, "_batched", frozenset({TOPIC}))
    consumer = _Consumer(acked=[499, 999, 1499], committed=100)
    assert faust_fixes._original_new_offset(_Consumer([499, 999, 1499], 100), PART) is None
    applied[(TOPIC, 0)] = 999
    assert faust_fixes._new_offset(consumer, PART) == 1000
    assert consumer._acked[PART] == [1499] and consumer._acked_index[PART] == {1499}
    assert faust_fixes.commits_past_acks == 0
