"""The hand-encoded ``mutateRows`` call is byte for byte what thriftpy2 encodes for
the same arguments, as happybase builds them (the real HBase takes it in the
integration tests)."""

from __future__ import annotations

import happybase  # noqa: F401 - loads the Hbase_thrift module
import Hbase_thrift
from hypothesis import given
from hypothesis import strategies as st
from thriftpy2.protocol.cybin import TCyBinaryProtocol
from thriftpy2.thrift import TClient
from thriftpy2.transport import TMemoryBuffer

from streamproc.sinks.thrift_rows import mutate_rows, mutate_rows_args


def batch_mutations(puts: dict) -> list:
    """The ``BatchMutation`` objects happybase's ``Batch.put`` builds for ``puts``."""
    return [
        Hbase_thrift.BatchMutation(
            row=row,
            mutations=[
                Hbase_thrift.Mutation(isDelete=False, column=c, value=v, writeToWAL=True)
                for c, v in columns.items()
            ],
        )
        for row, columns in puts.items()
    ]


def thriftpy2_bytes(table: bytes, puts: dict) -> bytes:
    """What happybase's ``Batch.send`` makes thriftpy2 write for ``puts``."""
    buffer = TMemoryBuffer()
    args = Hbase_thrift.Hbase.mutateRows_args(
        tableName=table, rowBatches=batch_mutations(puts), attributes={}
    )
    args.write(TCyBinaryProtocol(buffer))
    return buffer.getvalue()


ORDER = {
    b"info:order_id": b"1001",
    b"info:customer_id": b"42",
    b"info:product_id": b"7",
    b"info:quantity": b"2",
    b"info:total_amount": b"13998",
    b"info:transaction_date": b"2025-03-04T05:06:07Z",
    b"info:payment_method": b"3",
}


def test_an_order_row_encodes_as_thriftpy2_encodes_it() -> None:
    puts = {b"0a|000000001001": ORDER, b"03|000000001002": {b"info:order_id": b"1002"}}
    assert mutate_rows_args(b"orders", puts) == thriftpy2_bytes(b"orders", puts)


names = st.binary(min_size=1, max_size=20)


@given(
    st.binary(min_size=1, max_size=30),
    st.dictionaries(names, st.dictionaries(names, st.binary(max_size=300), max_size=8), max_size=6),
)
def test_any_rows_encode_as_thriftpy2_encodes_them(table: bytes, puts: dict) -> None:
    assert mutate_rows_args(table, puts) == thriftpy2_bytes(table, puts)


def test_the_whole_call_is_the_one_happybase_sends() -> None:
    """Message header, arguments and end, as thriftpy2's client writes them."""
    puts = {b"0a|000000001001": ORDER}
    sent = []
    for encode in ("ours", "thriftpy2"):
        buffer = TMemoryBuffer()
        client = TClient(Hbase_thrift.Hbase, TCyBinaryProtocol(buffer))
        client._recv = lambda api: None  # no server: the reply is not read
        if encode == "ours":
            mutate_rows(client, b"orders", puts)
        else:
            client._req("mutateRows", b"orders", batch_mutations(puts), {})
        sent.append(buffer.getvalue())
    assert sent[0] == sent[1]
