"""InOrder: each partition applied in offset order, once; quiet gaps sought back."""

from __future__ import annotations

from types import SimpleNamespace

from streamproc.ordering import InOrder

T = "orders"


def msgs(*offsets, partition=0):
    return [SimpleNamespace(topic=T, partition=partition, offset=o) for o in offsets]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def guard(progress, quiet=2.0):
    """An InOrder over ``progress`` (key -> last applied offset), updated as applied."""
    clock = Clock()
    order = InOrder(progress.get, quiet=quiet, clock=clock)

    def apply(batch):
        chosen = [batch[i] for i in order.select(batch)]
        for m in chosen:
            progress[(m.topic, m.partition)] = m.offset
        return [m.offset for m in chosen]

    return order, clock, apply


def test_fresh_partition_starts_at_zero_and_skips_replays():
    _, _, apply = guard({})
    assert apply(msgs(0, 1, 2)) == [0, 1, 2]
    assert apply(msgs(1, 2, 3, 4)) == [3, 4]


def test_partitions_and_topics_are_independent():
    order, _, _ = guard({(T, 1): 9})
    batch = (
        msgs(10, partition=1)
        + msgs(0, partition=0)
        + [SimpleNamespace(topic="customers", partition=1, offset=0)]
    )
    assert order.select(batch) == [0, 1, 2]


def test_gap_is_due_at_once_when_the_partition_never_settled():
    order, _, apply = guard({(T, 0): 3915})
    assert apply(msgs(4113, 4114)) == []
    assert order.due() == {(T, 0): 3916}
    assert order.due() == {}  # asked once


def test_stale_records_queued_before_a_seek_do_not_hide_the_right_ones():
    """The livelock: stale records ahead, then the re-fetched ones, in one batch."""
    order, clock, apply = guard({(T, 0): 3915})
    apply(msgs(4113))
    assert order.due() == {(T, 0): 3916}
    clock.now += 0.5
    assert apply(msgs(6128, 6129, 3916, 3917, 6130, 3918)) == [3916, 3917, 3918]
    assert order.pending == {(T, 0): 3919}
    clock.now += 1.0
    assert order.due() == {}  # in-order records are flowing: no new seek
    assert apply(msgs(3919, 3920)) == [3919, 3920]
    assert order.pending == {}


def test_a_quiet_gap_is_sought_again_after_the_quiet_time():
    order, clock, apply = guard({(T, 0): 99}, quiet=2.0)
    assert apply(msgs(100, 101)) == [100, 101]
    clock.now += 1.0
    assert apply(msgs(150)) == []  # faust jumped forward
    assert order.due() == {}  # records applied 1 s ago: the seek waits
    clock.now += 1.0
    assert order.due() == {(T, 0): 102}
    clock.now += 1.0
    assert apply(msgs(151)) == []  # still a stale one
    assert order.due() == {}  # sought 1 s ago
    clock.now += 1.5
    assert order.due() == {(T, 0): 102}  # nothing came: seek again


def test_pending_clears_when_the_missing_records_arrive():
    order, _, apply = guard({(T, 0): 9})
    apply(msgs(12))
    assert order.pending == {(T, 0): 10}
    assert apply(msgs(10, 11, 12)) == [10, 11, 12]
    assert order.pending == {}


def test_floor_skips_offsets_deleted_by_retention():
    order, _, apply = guard({(T, 0): 9})
    order.raise_floor([((T, 0), 50)])
    assert order.next_offset((T, 0)) == 50
    assert apply(msgs(49, 50, 51)) == [50, 51]


def test_a_lost_tail_with_nothing_after_it_is_sought_back_once_quiet():
    # records 0-4 applied; 5-9 were fetched and lost in a rebalance, none came after
    order, clock, apply = guard({})
    assert apply(msgs(0, 1, 2, 3, 4)) == [0, 1, 2, 3, 4]
    order.behind({(T, 0): 10})
    assert order.due() == {}  # quiet for less than 2 s
    clock.now += 2.0
    order.behind({(T, 0): 10})
    assert order.due() == {(T, 0): 5}


def test_a_partition_merely_behind_is_not_sought_while_records_arrive():
    order, clock, apply = guard({})
    for start in range(0, 12, 3):
        order.behind({(T, 0): 100})
        clock.now += 1.0
        assert apply(msgs(start, start + 1, start + 2)) == [start, start + 1, start + 2]
        assert order.due() == {}
    order.behind({(T, 0): 12})  # caught up with the log end: nothing to wait for
    clock.now += 5.0
    assert order.due() == {}
