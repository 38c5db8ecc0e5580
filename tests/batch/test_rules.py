import orjson
import pytest

from batch.mapreduce import rules


def line(**fields) -> bytes:
    return orjson.dumps(fields)


CUSTOMER = {
    "customer_id": 7,
    "name": "Ada K. Lovelace",
    "email": "ada@example.com",
    "phone": "+44 2079460000",
    "age": 36,
    "gender": "F",
    "location": "London, United Kingdom",
}
PRODUCT = {
    "product_id": 3,
    "product_name": "Smart Mouse",
    "category": "Electronics",
    "price": 1999,
    "stock_quantity": 5,
}
ORDER = {
    "order_id": 100,
    "customer_id": 7,
    "product_id": 3,
    "quantity": 2,
    "total_amount": 3998,
    "transaction_date": "2025-03-04T12:34:56Z",
    "payment_method": 1,
}


def test_a_valid_customer_is_kept_unchanged():
    customer, reasons = rules.check_customer(line(**CUSTOMER))
    assert reasons == []
    assert customer == {**CUSTOMER, "repairs": [], "flags": []}


def test_missing_gender_becomes_o_and_an_unknown_age_awaits_the_median():
    customer, reasons = rules.check_customer(line(**{**CUSTOMER, "gender": None, "age": -1}))
    assert reasons == []
    assert customer["gender"] == "O"
    assert customer["age"] is None
    assert customer["repairs"] == ["missing_gender", "invalid_age"]
    assert rules.fill_age(customer, 33)["age"] == 33


def test_an_invalid_email_is_kept_and_flagged():
    customer, reasons = rules.check_customer(line(**{**CUSTOMER, "email": "ada at example.com"}))
    assert reasons == [] and customer["flags"] == ["invalid_email"] and customer["repairs"] == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"location": ""}, "empty_location"),
        ({"name": None}, "missing_name"),
        ({"gender": "X"}, "invalid_gender"),
        ({"age": "33"}, "wrong_type:age"),
    ],
)
def test_customers_that_cannot_be_repaired_are_rejected_with_the_reason(change, reason):
    customer, reasons = rules.check_customer(line(**{**CUSTOMER, **change}))
    assert customer is None and reason in reasons


def test_strict_customers_follow_the_stream_rules():
    customer, reasons = rules.check_customer(line(**{**CUSTOMER, "gender": None}), strict=True)
    assert customer is None and reasons == ["missing_gender"]


def test_malformed_bytes_are_rejected_with_the_stream_code():
    assert rules.check_customer(b'{"customer_id": 7,') == (None, ["truncated_json"])
    assert rules.check_order(b"\xff\xfe{}") == (None, ["non_utf8"])


@pytest.mark.parametrize(
    ("histogram", "median"),
    [
        ({}, None),
        ({"30": 1}, 30),
        ({30: 1, 40: 1}, 30),
        ({"20": 2, "50": 1}, 20),
        ({18: 1, 19: 1, 70: 1}, 19),
    ],
)
def test_median_age_is_the_lower_median(histogram, median):
    assert rules.median_age(histogram) == median


@pytest.mark.parametrize("change", [{"price": -1999}, {"stock_quantity": -5}])
def test_negative_price_or_stock_rejects_the_product(change):
    product, reasons = rules.check_product(line(**{**PRODUCT, **change}))
    assert product is None
    assert reasons == ["negative_price" if "price" in change else "negative_stock"]


def test_a_negative_amount_is_recomputed_from_price_times_quantity():
    order, reasons = rules.check_order(line(**{**ORDER, "total_amount": -3998}))
    assert reasons == [] and order["total_amount"] is None
    priced = rules.price_order(order, PRODUCT)
    assert priced["total_amount"] == 1999 * 2
    assert priced["repairs"] == ["negative_amount"]


def test_a_missing_amount_is_recomputed_but_not_when_strict():
    raw = {k: v for k, v in ORDER.items() if k != "total_amount"}
    order, _ = rules.check_order(line(**raw))
    assert rules.price_order(order, PRODUCT)["total_amount"] == 3998
    assert rules.check_order(line(**raw), strict=True) == (None, ["missing_field:total_amount"])


def test_an_amount_defect_does_not_hide_another_defect():
    order, reasons = rules.check_order(line(**{**ORDER, "total_amount": -1, "quantity": -2}))
    assert order is None and reasons == ["negative_quantity", "negative_amount"]
    raw = {k: v for k, v in ORDER.items() if k != "total_amount"} | {"quantity": -2}
    assert rules.check_order(line(**raw)) == (None, ["negative_quantity"])


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"quantity": -1}, "negative_quantity"), ({"payment_method": None}, "missing_payment_method")],
)
def test_orders_that_cannot_be_repaired_are_rejected(change, reason):
    assert rules.check_order(line(**{**ORDER, **change})) == (None, [reason])


def test_an_enriched_order_uses_the_shared_age_band_and_counts_under_every_dimension():
    order, _ = rules.check_order(line(**ORDER))
    enriched = rules.enrich_order(rules.price_order(order, PRODUCT), {**CUSTOMER, "age": 65})
    assert enriched["age_band"] == "65+" and enriched["month"] == "2025-03"
    keys = dict(rules.sale_keys(enriched))
    assert keys == {
        "total": "all",
        "month": "2025-03",
        "day": "2025-03-04",
        "hour": "2025-03-04T12",
        "category": "Electronics",
        "gender": "F",
        "age_band": "65+",
        "location": "London, United Kingdom",
        "payment_method": "1",
        "customer_id": "7",
        "product_id": "3",
    }
