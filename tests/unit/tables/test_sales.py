from types import SimpleNamespace

import pytest

from streamproc.tables.sales import Sale, add_into, current_stock, enrich, fold


def _sale(order_id, customer_id, product_id, qty, amount, ts="2025-11-29T14:05:00Z", **kw):
    base = dict(
        payment_method=1, category="Books", gender="F", age_band="25-34", location="Lyon, France"
    )
    base.update(kw)
    return Sale(order_id, customer_id, product_id, qty, amount, ts, **base)


def test_enrich_joins_customer_and_product():
    order = SimpleNamespace(
        order_id=9,
        customer_id=4,
        product_id=7,
        quantity=2,
        total_amount=3998,
        transaction_date="2024-02-29T23:59:59Z",
        payment_method=3,
    )
    sale = enrich(
        order, ["Ana Silva", 67, "F", "Porto, Portugal"], ["Red Kettle", "Kitchen", 1999, 40, 0]
    )
    assert (sale.category, sale.gender, sale.age_band, sale.location) == (
        "Kitchen",
        "F",
        "65+",
        "Porto, Portugal",
    )
    assert dict(sale.dimension_keys())["month"] == "2024-02"
    assert dict(sale.dimension_keys())["hour"] == "2024-02-29T23"
    assert dict(sale.dimension_keys())["payment_method"] == "3"


def test_fold_sums_every_table():
    sales = [
        _sale(1, 10, 100, 1, 1500),
        _sale(2, 10, 101, 3, 600, category="Toys", ts="2025-12-01T00:00:00Z"),
        _sale(3, 11, 100, 2, 3000, gender="M"),
    ]
    d = fold(sales)
    assert d.totals == [5100, 3, 6]
    assert d.dimensions[("category", "Books")] == [4500, 2, 3]
    assert d.dimensions[("category", "Toys")] == [600, 1, 3]
    assert d.dimensions[("month", "2025-11")] == [4500, 2, 3]
    assert d.dimensions[("month", "2025-12")] == [600, 1, 3]
    assert d.dimensions[("gender", "F")] == [2100, 2, 4]
    # fold computes the time keys itself (not through Sale.dimension_keys)
    assert d.dimensions[("day", "2025-11-29")] == [4500, 2, 3]
    assert d.dimensions[("hour", "2025-11-29T14")] == [4500, 2, 3]
    assert d.dimensions[("hour", "2025-12-01T00")] == [600, 1, 3]
    assert d.customers == {10: [2100, 2], 11: [3000, 1]}
    assert d.products == {100: [3, 4500], 101: [3, 600]}


def test_fold_keys_are_the_dimension_keys_of_each_sale():
    # the batch side counts under Sale.dimension_keys(); fold computes them its own way
    sales = [
        _sale(1, 10, 100, 1, 1500, payment_method=4, location="Oslo, Norway"),
        _sale(2, 11, 101, 3, 600, ts="2024-02-29T23:59:59Z", gender="M", age_band="65+"),
    ]
    sales += [_sale(3, 12, 102, 1, 99, ts="2023-12-31T23:59:59.999Z")]
    expected = {pair for sale in sales for pair in sale.dimension_keys()}
    assert set(fold(sales).dimensions) == expected
    assert ("payment_method", "4") in expected


def test_integer_amounts_do_not_drift():
    sales = [_sale(i, 1, 1, 1, 10) for i in range(1, 100_001)]  # 100,000 x 0.10
    assert fold(sales).totals[0] == 1_000_000


def test_add_into_and_stock():
    assert add_into(None, [1, 2, 3]) == [1, 2, 3]
    assert add_into([1, 1, 1], [1, 2, 3]) == [2, 3, 4]
    with pytest.raises(ValueError, match="lengths differ"):
        add_into([1, 1], [1, 2, 3])  # a stored value of another shape is not cut short
    # 50 in stock at the update, when 120 had sold; 135 sold now -> 35 left
    assert current_stock(["Kettle", "Kitchen", 999, 50, 120], 135) == 35
