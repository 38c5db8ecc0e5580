"""The products changelog follower applies only the partitions the worker does not own."""

from types import SimpleNamespace

import orjson

from streamproc.agents.catalog import apply


class _MemoryStore(dict):
    """faust's memory store as the tables read it: a mapping whose ``data`` is a dict."""

    @property
    def data(self) -> dict:
        return self


def _rec(key, value):
    return orjson.dumps(key), None if value is None else orjson.dumps(value)


def test_other_workers_partitions_are_applied_in_order_own_ones_skipped():
    table = SimpleNamespace(data=_MemoryStore({7: ["own", "books", 100, 5, 0]}))
    records = {
        0: [_rec(1, ["a", "toys", 250, 3, 0]), _rec(1, ["a2", "toys", 300, 2, 1])],
        1: [_rec(7, ["stale", "books", 1, 1, 0])],  # partition 1 is ours: skipped
        2: [_rec(9, ["gone", "x", 1, 1, 0]), _rec(9, None)],
    }
    assert apply(records, owned={1}, table=table) == 4
    assert table.data == {1: ["a2", "toys", 300, 2, 1], 7: ["own", "books", 100, 5, 0]}
