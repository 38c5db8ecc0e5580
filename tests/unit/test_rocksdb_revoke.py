"""A revoked partition's RocksDB files are closed and deleted, so the partition comes
back restored from the committed changelog only (streamproc/faust_fixes.py)."""

from __future__ import annotations

from types import SimpleNamespace

from faust.stores import rocksdb as faust_rocksdb
from faust.types import TP
from rocksdict import Rdict

from streamproc import faust_fixes


def test_revoking_a_partition_deletes_its_database_and_nothing_else(tmp_path) -> None:
    store = SimpleNamespace(_dbs={}, partition_path=lambda p: tmp_path / f"sales-{p}.db")
    for partition in (0, 1):
        db = store._dbs[partition] = Rdict(str(store.partition_path(partition)))
        db[b"k"] = b"written by a transaction a crash may abort"
    table = SimpleNamespace(changelog_topic=SimpleNamespace(topics={"app-sales-changelog"}))

    faust_fixes._revoke_partitions(
        store, table, {TP("app-sales-changelog", 0), TP("app-orders", 1)}
    )

    assert list(store._dbs) == [1]  # the input topic's partition 1 is not the table's
    assert not store.partition_path(0).exists()
    assert store.partition_path(1).exists()
    reopened = Rdict(str(store.partition_path(0)))
    assert reopened.get(b"k") is None
    reopened.close()
    store._dbs[1].close()


def test_the_fix_replaces_the_method_of_faust_rocksdb_store() -> None:
    faust_fixes.apply()
    assert faust_rocksdb.Store.revoke_partitions is faust_fixes._revoke_partitions
