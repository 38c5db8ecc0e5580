"""The worker's collector: full collections by timer, survivors frozen, compactions."""

from __future__ import annotations

import gc

import pytest

from streamproc import gcpacing


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_pace_freezes_and_stops_automatic_full_collections(restore_gc):
    gcpacing.pace()
    assert gc.get_freeze_count() > 0
    young, _middle, old = gc.get_threshold()
    assert young == gcpacing.YOUNG
    assert old == 2**31 - 1


def test_frozen_cycles_wait_for_the_compaction(restore_gc):
    now = [0.0]
    collector = gcpacing.Collector(compact_every=600, clock=lambda: now[0])
    gc.collect()
    Cycle()  # unreachable at once, but only a collection frees it
    assert collector.collect() >= 1  # a full collection finds it
    frozen = Cycle()
    collector.collect()  # frozen alive with the survivors
    del frozen
    assert collector.collect() == 0  # full collections skip the frozen garbage
    now[0] = 600.0
    assert collector.collect() >= 1  # the compaction frees it
    assert collector.stats["compactions"] == 1
    assert collector.stats["full_collections"] == 3
    assert gc.get_freeze_count() > 0  # the survivors are frozen again
