"""Each MRJob on literal input with the inline runner and no mrjob config."""

from io import BytesIO

import orjson

from batch.mapreduce.clean_customers import MRCleanCustomers
from batch.mapreduce.clean_products import MRCleanProducts
from batch.mapreduce.enrich_orders import MREnrichOrders
from batch.mapreduce.sales_by import MRSalesBy


def run(job_class, lines, *args):
    job = job_class(["-r", "inline", "--no-conf", *args, "-"])
    job.sandbox(stdin=BytesIO(b"".join(line + b"\n" for line in lines)))
    with job.make_runner() as runner:
        runner.run()
        output = list(job.parse_output(runner.cat_output()))
        counters = runner.counters()
    merged = {}
    for step in counters:
        for group, values in step.items():
            for name, value in values.items():
                merged.setdefault(group, {}).setdefault(name, 0)
                merged[group][name] += value
    return output, merged


def customer(cid, age=30, gender="F", location="Paris, France", email=None):
    return orjson.dumps(
        {
            "customer_id": cid,
            "name": f"Name {cid}",
            "email": email or f"c{cid}@example.com",
            "phone": "+33 123456789",
            "age": age,
            "gender": gender,
            "location": location,
        }
    )


def product(pid, price=1000, stock=10, category="Books"):
    return orjson.dumps(
        {
            "product_id": pid,
            "product_name": f"Item {pid}",
            "category": category,
            "price": price,
            "stock_quantity": stock,
        }
    )


def order(oid, cid, pid, qty=1, amount=1000, ts="2025-03-04T10:00:00Z", method=1):
    return orjson.dumps(
        {
            "order_id": oid,
            "customer_id": cid,
            "product_id": pid,
            "quantity": qty,
            "total_amount": amount,
            "transaction_date": ts,
            "payment_method": method,
        }
    )


def tagged(kind, record):
    return orjson.dumps(kind) + b"\t" + record


def test_clean_customers_fills_missing_ages_with_the_median_of_valid_ages():
    lines = [
        customer(1, age=20),
        customer(2, age=40),
        customer(3, age=60),
        customer(4, age=-1, gender=None),
        customer(21, age=-1),  # another bucket than 4
        customer(5, location=""),
        customer(1, age=20),
        b'{"customer_id": 9',
    ]
    output, counters = run(MRCleanCustomers, lines)
    kept = {v["customer_id"]: v for k, v in output if k == "customer"}
    rejects = sorted(tuple(v["reasons"]) for k, v in output if k == "reject")
    # ages 20, 20 (the duplicate line), 40, 60 -> lower median 20
    assert kept[4]["age"] == 20 and kept[21]["age"] == 20
    assert kept[4]["gender"] == "O" and kept[4]["repairs"] == ["missing_gender", "invalid_age"]
    assert sorted(kept) == [1, 2, 3, 4, 21]
    assert rejects == [("duplicate_customer_id",), ("empty_location",), ("truncated_json",)]
    assert counters["customers"] == {"kept": 3, "repaired": 2, "rejected": 3}
    assert counters["customer_rejects"]["empty_location"] == 1


def test_clean_customers_strict_rejects_what_the_stream_rejects():
    output, counters = run(MRCleanCustomers, [customer(1), customer(2, gender=None)], "--strict")
    assert [v["customer_id"] for k, v in output if k == "customer"] == [1]
    assert counters["customers"] == {"kept": 1, "rejected": 1}


def test_clean_products_rejects_negative_price_and_stock_without_abs():
    lines = [product(1), product(2, price=-500), product(3, stock=-1), product(1, price=7)]
    output, counters = run(MRCleanProducts, lines)
    kept = [v for k, v in output if k == "product"]
    assert [(p["product_id"], p["price"]) for p in kept] == [(1, 1000)]
    reasons = sorted(r for k, v in output if k == "reject" for r in v["reasons"])
    assert reasons == ["duplicate_product_id", "negative_price", "negative_stock"]
    assert counters["products"] == {"kept": 1, "rejected": 3}


def test_enrich_orders_joins_repairs_rejects_and_dedupes():
    customers = [tagged("customer", customer(1, age=23, gender="M", location="Oslo, Norway"))]
    products = [tagged("product", product(10, price=250, category="Garden"))]
    lines = [
        *customers,
        *products,
        order(100, 1, 10, qty=2, amount=500),
        order(101, 1, 10, qty=3, amount=-750),  # repaired: 250 * 3
        order(102, 1, 99),  # unknown product
        order(103, 2, 10),  # unknown customer
        order(104, 1, 10, qty=-1),  # rejected, never abs()
        order(100, 1, 10, qty=2, amount=500),  # duplicate
        b'{"order_id": 1',
    ]
    output, counters = run(MREnrichOrders, lines)
    orders = {v["order_id"]: v for k, v in output if k == "order"}
    assert sorted(orders) == [100, 101]
    assert orders[101]["total_amount"] == 750 and orders[101]["repairs"] == ["negative_amount"]
    assert (orders[100]["category"], orders[100]["gender"], orders[100]["age_band"]) == (
        "Garden",
        "M",
        "18-24",
    )
    assert orders[100]["location"] == "Oslo, Norway" and orders[100]["month"] == "2025-03"
    reasons = sorted(r for k, v in output if k == "reject" for r in v["reasons"])
    assert reasons == [
        "duplicate_order_id",
        "negative_quantity",
        "truncated_json",
        "unknown_customer",
        "unknown_product",
    ]
    assert counters["orders"] == {"kept": 1, "repaired": 1, "rejected": 5}


def test_enrich_orders_strict_rejects_a_negative_amount():
    lines = [
        tagged("customer", customer(1)),
        tagged("product", product(10)),
        order(1, 1, 10, amount=-1000),
    ]
    output, counters = run(MREnrichOrders, lines, "--strict")
    assert [v["reasons"] for k, v in output] == [["negative_amount"]]


def test_sales_by_sums_every_dimension():
    def enriched(oid, cid, amount, qty, category, month="2025-03"):
        return {
            "order_id": oid,
            "customer_id": cid,
            "product_id": 10 + cid,
            "quantity": qty,
            "total_amount": amount,
            "transaction_date": f"{month}-04T10:00:00Z",
            "payment_method": 2,
            "category": category,
            "gender": "F",
            "age_band": "25-34",
            "location": "Oslo, Norway",
            "repairs": [],
        }

    lines = [
        tagged("order", orjson.dumps(enriched(1, 1, 1000, 1, "Books"))),
        tagged("order", orjson.dumps(enriched(2, 1, 2500, 2, "Books", "2025-04"))),
        tagged("order", orjson.dumps(enriched(3, 2, 700, 7, "Garden"))),
        tagged("reject", orjson.dumps({"kind": "order", "reasons": ["x"], "raw": ""})),
    ]
    output, counters = run(MRSalesBy, lines)
    sums = {tuple(k): v for k, v in output}
    assert sums[("total", "all")] == [4200, 3, 10]
    assert sums[("category", "Books")] == [3500, 2, 3]
    assert sums[("month", "2025-03")] == [1700, 2, 8]
    assert sums[("payment_method", "2")] == [4200, 3, 10]
    assert sums[("customer_id", "1")] == [3500, 2, 3]
    assert sums[("product_id", "12")] == [700, 1, 7]
    assert counters["sales"] == {"orders": 3}
