import json
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamproc import validation
from streamproc.models import Customer, Order, Product, StockUpdate
from streamproc.validation import decode

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)

ORDER = {
    "order_id": 1001,
    "customer_id": 7,
    "product_id": 12,
    "quantity": 2,
    "total_amount": 25998,
    "transaction_date": "2025-03-04T12:34:56Z",
    "payment_method": 3,
}
CUSTOMER = {
    "customer_id": 7,
    "name": "Ada K. Lovelace",
    "email": "ada.lovelace7@gmail.com",
    "phone": "+44 7700900123",
    "age": 36,
    "gender": "F",
    "location": "London, United Kingdom",
}
PRODUCT = {
    "product_id": 12,
    "product_name": "Wireless Headphones",
    "category": "Electronics",
    "price": 12999,
    "stock_quantity": 40,
}
STOCK = {"product_id": 12, "stock_quantity": 0, "updated_at": "2025-03-05T05:00:00Z"}


def raw(obj):
    return orjson.dumps(obj)


def changed(base, **fields):
    return {**base, **fields}


def without(base, name):
    return {k: v for k, v in base.items() if k != name}


def reasons(topic, obj_or_bytes):
    data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else raw(obj_or_bytes)
    record, found = decode(topic, data, NOW)
    assert (record is None) == bool(found)
    return found


# --- valid records ---------------------------------------------------------------------


def test_valid_order_decodes_to_the_record():
    record, found = decode("orders", raw(ORDER), NOW)
    assert found == []
    assert record == Order(1001, 7, 12, 2, 25998, "2025-03-04T12:34:56Z", 3)


def test_valid_customer_product_stock_update_decode():
    assert decode("customers", raw(CUSTOMER), NOW) == (Customer(**CUSTOMER), [])
    assert decode("products", raw(PRODUCT), NOW) == (Product(**PRODUCT), [])
    assert decode("stock-updates", raw(STOCK), NOW) == (StockUpdate(**STOCK), [])


def test_validate_record_accepts_a_clean_record_object():
    assert validation.validate_record(Order(**ORDER), NOW) == []
    assert validation.validate_record(Customer(**changed(CUSTOMER, age=-1)), NOW) == ["invalid_age"]


def test_bytearray_and_memoryview_are_accepted():
    assert decode("orders", bytearray(raw(ORDER)), NOW)[1] == []
    assert decode("orders", memoryview(raw(ORDER)), NOW)[1] == []


def test_unknown_topic_is_a_programming_error():
    with pytest.raises(ValueError, match="no record kind"):
        decode("orders-dlq", raw(ORDER), NOW)


# --- message level ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_message"),
        (None, "empty_message"),
        (b'{"order_id":\xff\xfe1}', "non_utf8"),
        (b"\xc3\x28", "non_utf8"),
        (raw(ORDER)[:-1], "truncated_json"),
        (raw(ORDER)[:25], "truncated_json"),
        (b"{", "truncated_json"),
        (b'{"order_id":1}}', "invalid_json"),
        (b"{order_id: 1}", "invalid_json"),
        (b"NaN", "invalid_json"),
        (b"[1, 2, 3]", "not_object"),
        (b'"an order"', "not_object"),
        (b"42", "not_object"),
        (b"null", "not_object"),
        (b"{" + b" " * (64 * 1024) + b"}", "oversized:message"),
    ],
)
def test_message_level_codes(data, code):
    assert decode("orders", data, NOW) == (None, [code])


def test_a_message_of_exactly_64_kib_is_not_oversized():
    padded = raw(ORDER)[:-1] + b" " * (64 * 1024 - len(raw(ORDER))) + b"}"
    assert len(padded) == 64 * 1024
    assert decode("orders", padded, NOW)[1] == []


# --- shape -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["3", 3.5, True, False, None, [3], {"n": 3}])
def test_quantity_must_be_a_plain_int(bad):
    expected = "missing_field:quantity" if bad is None else "wrong_type:quantity"
    assert reasons("orders", changed(ORDER, quantity=bad)) == [expected]


def test_strings_must_be_strings():
    assert reasons("orders", changed(ORDER, transaction_date=20250304)) == [
        "wrong_type:transaction_date"
    ]
    assert reasons("customers", changed(CUSTOMER, email=None)) == ["missing_field:email"]


def test_unknown_and_missing_fields_are_all_reported():
    obj = changed(without(ORDER, "product_id"), coupon="SAVE10", note="x")
    assert reasons("orders", obj) == [
        "unknown_field:coupon",
        "unknown_field:note",
        "missing_field:product_id",
    ]


def test_unknown_field_names_are_cut_in_the_reason():
    found = reasons("orders", changed(ORDER, **{"k" * 500: 1}))
    assert found == ["unknown_field:" + "k" * 64]


def test_oversized_values():
    assert reasons("customers", changed(CUSTOMER, name="A" * 257)) == ["oversized:name"]
    assert reasons("customers", changed(CUSTOMER, name="A" * 256)) == []
    assert reasons("orders", changed(ORDER, order_id=2**63)) == ["oversized:order_id"]
    assert reasons("orders", changed(ORDER, order_id=2**63 - 1)) == []
    # beyond 64 bits JSON numbers become floats
    assert reasons("orders", b'{"order_id":18446744073709551616}')[0] == "wrong_type:order_id"


# --- values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": None}, "missing_name"),
        ({"name": ""}, "missing_name"),
        ({"name": "   "}, "missing_name"),
        ({"email": "ada.lovelace7 at gmail.com"}, "invalid_email"),
        ({"email": "ada@"}, "invalid_email"),
        ({"email": "@gmail.com"}, "invalid_email"),
        ({"email": "ada@gmail"}, "invalid_email"),
        ({"email": "ada lovelace@gmail.com"}, "invalid_email"),
        ({"phone": ""}, "invalid_phone"),
        ({"phone": "call me"}, "invalid_phone"),
        ({"age": -1}, "invalid_age"),
        ({"age": 17}, "invalid_age"),
        ({"age": 121}, "invalid_age"),
        ({"gender": None}, "missing_gender"),
        ({"gender": ""}, "missing_gender"),
        ({"gender": "X"}, "invalid_gender"),
        ({"gender": "f"}, "invalid_gender"),
        ({"location": ""}, "empty_location"),
        ({"location": "  "}, "empty_location"),
        ({"location": "London"}, "invalid_location"),
        ({"location": ", United Kingdom"}, "invalid_location"),
        ({"customer_id": 0}, "invalid_customer_id"),
    ],
)
def test_customer_rules(fields, code):
    assert reasons("customers", changed(CUSTOMER, **fields)) == [code]


def test_customer_edges_pass():
    for fields in ({"age": 18}, {"age": 120}, {"gender": "O"}, {"email": "a.b+c@mail.co.uk"}):
        assert reasons("customers", changed(CUSTOMER, **fields)) == []


def test_absent_name_and_gender_have_their_own_codes():
    obj = without(without(CUSTOMER, "name"), "gender")
    assert reasons("customers", obj) == ["missing_name", "missing_gender"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"price": -1}, "negative_price"),
        ({"stock_quantity": -5}, "negative_stock"),
        ({"product_name": " "}, "missing_product_name"),
        ({"category": ""}, "missing_category"),
        ({"product_id": -3}, "invalid_product_id"),
    ],
)
def test_product_rules(fields, code):
    assert reasons("products", changed(PRODUCT, **fields)) == [code]


def test_free_and_sold_out_products_pass():
    assert reasons("products", changed(PRODUCT, price=0, stock_quantity=0)) == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"quantity": -1}, "negative_quantity"),
        ({"quantity": 0}, "zero_quantity"),
        ({"total_amount": -25998}, "negative_amount"),
        ({"payment_method": None}, "missing_payment_method"),
        ({"payment_method": 0}, "invalid_payment_method"),
        ({"payment_method": 6}, "invalid_payment_method"),
        ({"order_id": 0}, "invalid_order_id"),
        ({"customer_id": -7}, "invalid_customer_id"),
        ({"product_id": 0}, "invalid_product_id"),
    ],
)
def test_order_rules(fields, code):
    assert reasons("orders", changed(ORDER, **fields)) == [code]


def test_absent_payment_method_is_missing_payment_method():
    assert reasons("orders", without(ORDER, "payment_method")) == ["missing_payment_method"]


def test_several_value_problems_are_all_reported():
    obj = changed(ORDER, quantity=-1, total_amount=-5, payment_method=None)
    assert reasons("orders", obj) == [
        "negative_quantity",
        "negative_amount",
        "missing_payment_method",
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2025-03-04T12:34:56Z", None),
        ("2025-03-04T12:34:56+00:00", None),
        ("2025-03-04T12:34:56.250Z", None),
        ("2025-06-02T12:00:00Z", None),  # exactly now + 1 day
        ("2000-01-01T00:00:00Z", None),
        ("2025-06-02T12:00:01Z", "future_date"),
        ("2031-01-01T00:00:00+00:00", "future_date"),
        ("1999-12-31T23:59:59Z", "past_date"),
        ("1970-01-01T00:00:00+00:00", "past_date"),
        ("2025-03-04T12:34:56", "not_utc"),
        ("2025-03-04T12:34:56+02:00", "not_utc"),
        ("2025-03-04T12:34:56-05:00", "not_utc"),
        ("2025-13-04T12:34:56Z", "invalid_date"),
        ("2025-02-30T12:34:56Z", "invalid_date"),
        ("2025-03-04 12:34:56Z", "invalid_date"),
        ("20250304T123456Z", "invalid_date"),
        ("2025-03-04", "invalid_date"),
        ("yesterday", "invalid_date"),
        ("", "invalid_date"),
        ("2025-03-04T12:34:5xZ", "invalid_date"),
    ],
)
def test_transaction_date_rules(text, code):
    expected = [] if code is None else [code]
    assert reasons("orders", changed(ORDER, transaction_date=text)) == expected
    assert reasons("stock-updates", changed(STOCK, updated_at=text)) == expected


def test_stock_update_rules():
    assert reasons("stock-updates", changed(STOCK, stock_quantity=-1)) == ["negative_stock"]
    assert reasons("stock-updates", changed(STOCK, product_id=0)) == ["invalid_product_id"]


def test_the_default_now_is_the_clock():
    tomorrow_plus = "2999-01-01T00:00:00Z"
    assert decode("orders", raw(changed(ORDER, transaction_date=tomorrow_plus)))[1] == [
        "future_date"
    ]


# --- fuzz ------------------------------------------------------------------------------

TOPICS = ("customers", "products", "orders", "stock-updates")
FIELD_NAMES = sorted({*ORDER, *CUSTOMER, *PRODUCT, *STOCK}) + ["coupon", ""]
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.lists(st.integers(), max_size=3),
    st.integers(min_value=-(2**70), max_value=2**70),
)


@settings(max_examples=1500, deadline=None)
@given(topic=st.sampled_from(TOPICS), data=st.binary(max_size=2048))
def test_decode_never_raises_on_arbitrary_bytes(topic, data):
    record, found = decode(topic, data, NOW)
    assert (record is None) == bool(found)
    assert all(isinstance(code, str) and code for code in found)


@settings(max_examples=1500, deadline=None)
@given(
    topic=st.sampled_from(TOPICS),
    obj=st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=80), JSON_VALUES),
    cut=st.integers(min_value=0, max_value=400),
)
def test_decode_never_raises_on_json_like_bytes(topic, obj, cut):
    data = json.dumps(obj).encode()  # the stdlib writes ints of any size
    for candidate in (data, data[:cut]):
        record, found = decode(topic, candidate, NOW)
        assert (record is None) == bool(found)


@settings(max_examples=500, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {
            "order_id": st.integers(1, 2**63 - 1),
            "customer_id": st.integers(1, 2**63 - 1),
            "product_id": st.integers(1, 2**63 - 1),
            "quantity": st.integers(1, 10_000),
            "total_amount": st.integers(0, 2**40),
            "transaction_date": st.datetimes(
                min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - naive bounds, UTC applied below
                max_value=datetime(2025, 6, 1),  # noqa: DTZ001
                timezones=st.just(UTC),
            ).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
            "payment_method": st.integers(1, 5),
        }
    )
)
def test_every_well_formed_order_passes_and_round_trips(fields):
    record, found = decode("orders", raw(fields), NOW)
    assert found == []
    assert record == Order(**fields)
