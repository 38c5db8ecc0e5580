from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from streamproc import models
from streamproc.models import Customer, Order, Product, StockUpdate

CUSTOMER = Customer(7, "Ada K. Lovelace", "ada.lovelace7@gmail.com", "+44 7700900123", 36, "F",
                    "London, United Kingdom")  # fmt: skip
PRODUCT = Product(12, "Wireless Headphones", "Electronics", 12999, 40)
ORDER = Order(1001, 7, 12, 2, 25998, "2025-03-04T12:34:56Z", models.DIGITAL_WALLET)
STOCK = StockUpdate(12, 35, "2025-03-05T05:00:00Z")


def test_keys_are_the_ids_as_utf8_text():
    assert models.key_of(CUSTOMER) == b"7"
    assert models.key_of(PRODUCT) == b"12"
    assert models.key_of(STOCK) == b"12"
    assert models.key_of(ORDER) == b"7"  # orders go with their customer


def test_key_of_rejects_other_objects():
    with pytest.raises(TypeError):
        models.key_of({"order_id": 1})


def test_encode_is_compact_json_in_field_order():
    assert models.encode(ORDER) == (
        b'{"order_id":1001,"customer_id":7,"product_id":12,"quantity":2,'
        b'"total_amount":25998,"transaction_date":"2025-03-04T12:34:56Z","payment_method":3}'
    )


@pytest.mark.parametrize(
    ("record", "decode"),
    [
        (CUSTOMER, models.decode_customer),
        (PRODUCT, models.decode_product),
        (ORDER, models.decode_order),
        (STOCK, models.decode_stock_update),
    ],
)
def test_encode_decode_round_trip(record, decode):
    assert decode(models.encode(record)) == record


def test_records_are_frozen():
    with pytest.raises(AttributeError):
        ORDER.quantity = 3


def test_money_is_integer_cents():
    order = models.decode_order(models.encode(ORDER))
    assert type(order.total_amount) is int
    assert orjson.loads(models.encode(PRODUCT))["price"] == 12999


def test_payment_method_codes_and_names():
    assert models.PAYMENT_METHODS == {
        1: "credit_card",
        2: "debit_card",
        3: "digital_wallet",
        4: "cash_on_delivery",
        5: "bank_transfer",
    }
    assert set(models.GENDERS) == {"M", "F", "O"}


def test_format_utc_whole_seconds_with_z():
    moment = datetime(2025, 3, 4, 14, 34, 56, 999, tzinfo=timezone(timedelta(hours=2)))
    assert models.format_utc(moment) == "2025-03-04T12:34:56Z"


def test_format_utc_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        models.format_utc(datetime(2025, 3, 4))  # noqa: DTZ001


def test_parse_utc_is_timezone_aware():
    assert models.parse_utc("2025-03-04T12:34:56Z") == datetime(2025, 3, 4, 12, 34, 56, tzinfo=UTC)
    with pytest.raises(ValueError):
        models.parse_utc("2025-03-04T12:34:56")
