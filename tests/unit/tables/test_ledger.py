from streamproc.tables.ledger import HW, Ledger


def _run(store, records):
    ledger = Ledger(store.get)
    for key, offset, revenue, qty in records:
        ledger.add(key, offset, revenue, qty)
    store.update(ledger.changed)
    return ledger


def test_sums_and_high_water_mark():
    store = {}
    _run(store, [("books", 0, 500, 1), ("books", 1, 1200, 3), ("toys", 2, 99, 1)])
    assert store == {"books": [1700, 2, 4, 1], "toys": [99, 1, 1, 2]}


def test_replay_after_crash_counts_nothing_twice():
    records = [(f"k{i % 3}", i, 100 + i, 1 + i % 2) for i in range(30)]
    clean = {}
    _run(clean, records)

    crashed = {}
    _run(crashed, records[:5])  # committed: offsets 0-4 fully applied and flushed
    # the next batch stored only one key's changelog record before the crash ...
    first = Ledger(crashed.get)
    for r in records[5:17]:
        first.add(r[0], r[1], r[2], r[3])
    crashed["k1"] = first.changed["k1"]
    # ... then the worker restarts from the last committed offset, 5
    _run(crashed, records[5:])
    assert crashed == clean


def test_older_offset_is_refused():
    store = {"x": [10, 1, 1, 7]}
    ledger = Ledger(store.get)
    assert ledger.add("x", 7, 5, 1) is False
    assert ledger.add("x", 8, 5, 1) is True
    assert ledger.changed["x"][HW] == 8
