"""faust's "does any active changelog still need recovering" test, answered without a
Counter of every partition (streamproc/faust_fixes.py), against faust's own answer."""

from __future__ import annotations

import random
from collections import Counter
from types import SimpleNamespace

from faust.tables.recovery import Recovery
from faust.types import TP

from streamproc import faust_fixes

faust_need_recovery = Recovery.need_recovery


def _recovery(highwaters: dict, offsets: dict) -> SimpleNamespace:
    recovery = SimpleNamespace(active_highwaters=highwaters, active_offsets=Counter(offsets))
    recovery.active_remaining = lambda: Recovery.active_remaining(recovery)
    return recovery


def test_it_agrees_with_faust_as_a_recovery_reads_its_changelogs() -> None:
    rng = random.Random(5)
    tps = [TP(f"t{t}-changelog", p) for t in range(10) for p in range(8)]
    highwaters = {tp: rng.choice([None, -1, 0, rng.randrange(1, 50)]) for tp in tps}
    offsets = {tp: rng.choice([None, -1]) for tp in tps}
    recovery = _recovery(highwaters, offsets)
    answers = 0
    while True:
        ours = faust_fixes._need_recovery(recovery)
        assert ours == faust_need_recovery(recovery)
        answers += 1
        if not ours:
            break
        tp = rng.choice(tps)  # the next event: one offset further on one partition
        if recovery.active_offsets[tp] is not None and highwaters[tp] is not None:
            recovery.active_offsets[tp] = min(recovery.active_offsets[tp] + 1, highwaters[tp])
    assert answers > 100


def test_a_new_recovery_is_not_misled_by_the_last_partition_behind() -> None:
    tp, other = TP("a-changelog", 0), TP("a-changelog", 1)
    recovery = _recovery({tp: 10, other: 0}, {tp: 3, other: 0})
    assert faust_fixes._need_recovery(recovery)  # tp remembered as behind
    recovery.active_highwaters = {other: 5}  # the next rebalance's recovery
    recovery.active_offsets = Counter({other: 5})
    assert not faust_fixes._need_recovery(recovery)


def test_the_fix_replaces_faust_need_recovery() -> None:
    faust_fixes.apply()
    assert Recovery.need_recovery is faust_fixes._need_recovery
