"""The jobs' orjson line protocol against mrjob's own JSONProtocol."""

import pytest
from mrjob.protocol import StandardJSONProtocol

from batch.mapreduce.protocols import OrjsonProtocol

PAIRS = [
    (["o", 42], {"order_id": 42, "total_amount": 129_999, "repairs": []}),
    (["c", 7], ["0", {"customer_id": 7, "name": "Zoë Ñúñez", "age": 31}]),
    ("reject", {"kind": "order", "reasons": ["bad_json"], "raw": '{"order_id": \t'}),
    (["month", "2026-01"], [2**62, 1, 3]),
    (None, 1.5),
]


@pytest.mark.parametrize(("key", "value"), PAIRS)
def test_reads_back_what_it_writes_and_what_mrjob_reads(key, value):
    ours, theirs = OrjsonProtocol(), StandardJSONProtocol()
    line = ours.write(key, value)
    assert b"\n" not in line
    assert ours.read(line) == (key, value)
    assert theirs.read(line) == (key, value)  # readable by mrjob's protocol too
    assert ours.read(theirs.write(key, value)) == (key, value)


def test_equal_keys_are_equal_bytes_so_hadoop_groups_them():
    protocol = OrjsonProtocol()
    first = protocol.write(["p", 3], ["1", {"order_id": 1}]).split(b"\t")[0]
    second = protocol.write(["p", 3], ["0", {"product_id": 3}]).split(b"\t")[0]
    assert first == second == b'["p",3]'


def test_int_dict_keys_become_strings_as_with_json():
    assert OrjsonProtocol().write("h", {1: 2}) == StandardJSONProtocol().write("h", {1: 2}).replace(
        b" ", b""
    )


def test_a_run_of_one_key_decodes_the_key_once_and_a_new_key_again():
    protocol = OrjsonProtocol()
    k1, _ = protocol.read(b'["c",1]\t1')
    k1_again, _ = protocol.read(b'["c",1]\t2')
    k2, _ = protocol.read(b'["c",2]\t3')
    assert k1 is k1_again
    assert k2 == ["c", 2]


@pytest.mark.parametrize("line", [b'["c",1]', b'["c",1]\t{bad', b"{bad\t1"])
def test_a_line_without_a_tab_or_with_bad_json_raises_value_error(line):
    with pytest.raises(ValueError):
        OrjsonProtocol().read(line)
