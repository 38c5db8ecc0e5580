"""HBase Thrift1 ``mutateRows`` calls, encoded straight into bytes.

happybase builds a thriftpy2 ``Mutation`` object per column and a ``BatchMutation``
per row, and thriftpy2 then serialises them: about 8.5 µs for a row of seven
columns, in the sink's writer threads, holding the GIL that the agents need.
Writing the same bytes directly takes about 2 µs (the column headers are encoded
once per column name).  The call still goes through happybase's connection and
thriftpy2's client, which reads the reply and raises HBase's ``IOError`` as before.
``tests/unit/test_thrift_rows.py`` checks the bytes against thriftpy2's own
encoding of the same call.

Thrift binary protocol: a field is ``type:i8 id:i16 value``; a string is
``length:i32 bytes``; a list is ``element type:i8 size:i32 elements``; a struct
ends with a stop byte (0).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from thriftpy2.thrift import TMessageType

_I32 = struct.Struct(">i").pack
_STRING, _STRUCT, _MAP, _LIST = 11, 12, 13, 15
_STOP = b"\x00"
#: Mutation{1: isDelete=false, 2: column=..., 3: value=...}: everything before the value
_column_heads: dict[bytes, bytes] = {}
#: the end of a Mutation: 4: writeToWAL=true, stop
_MUTATION_END = b"\x02\x00\x04\x01" + _STOP


def _column_head(column: bytes) -> bytes:
    head = _column_heads.get(column)
    if head is None:
        head = b"\x02\x00\x01\x00\x0b\x00\x02" + _I32(len(column)) + column + b"\x0b\x00\x03"
        _column_heads[column] = head
    return head


def mutate_rows_args(table: bytes, puts: Mapping[bytes, Mapping[bytes, bytes]]) -> bytes:
    """Return the encoded ``mutateRows_args`` struct: ``table``, one put per row, no attributes."""
    parts = [
        b"\x0b\x00\x01" + _I32(len(table)) + table,
        b"\x0f\x00\x02\x0c" + _I32(len(puts)),  # rowBatches: list<BatchMutation>
    ]
    append = parts.append
    for row, columns in puts.items():
        # BatchMutation{1: row, 2: mutations: list<Mutation>}
        append(b"\x0b\x00\x01" + _I32(len(row)) + row + b"\x0f\x00\x02\x0c" + _I32(len(columns)))
        for column, value in columns.items():
            append(_column_head(column) + _I32(len(value)) + value + _MUTATION_END)
        append(_STOP)
    append(b"\x0d\x00\x03\x0b\x0b" + _I32(0))  # attributes: map<Text, Text>, empty
    append(_STOP)
    return b"".join(parts)


def mutate_rows(client: Any, table: bytes, puts: Mapping[bytes, Mapping[bytes, bytes]]) -> None:
    """Send ``puts`` to ``table`` through a happybase connection's thriftpy2 ``client``."""
    if not puts:
        return
    oprot = client._oprot
    oprot.write_message_begin("mutateRows", TMessageType.CALL, client._seqid)
    oprot.trans.write(mutate_rows_args(table, puts))
    oprot.write_message_end()
    oprot.trans.flush()
    client._recv("mutateRows")
