"""Merging the partial answers of several workers into one view (pure functions)."""

from __future__ import annotations

from streamproc.views import (
    merge_counts,
    merge_revenue,
    merge_sales,
    merge_top_customers,
    product_sums,
)


def test_revenue_sums_every_worker():
    parts = [
        {"total_revenue": 1_000, "orders": 3, "rejected": 1, "as_of": "x"},
        {"total_revenue": 250, "orders": 1, "rejected": 0, "as_of": "y"},
    ]
    got = merge_revenue(parts)
    assert (got["total_revenue"], got["orders"], got["rejected"]) == (1_250, 4, 1)


def test_sales_sum_keys_present_on_either_worker():
    a = {"2025-01": {"revenue": 10, "orders": 1, "quantity": 2}}
    b = {
        "2025-01": {"revenue": 5, "orders": 1, "quantity": 1},
        "2024-12": {"revenue": 7, "orders": 2, "quantity": 3},
    }
    assert merge_sales([a, b]) == {
        "2024-12": {"revenue": 7, "orders": 2, "quantity": 3},
        "2025-01": {"revenue": 15, "orders": 2, "quantity": 3},
    }


def test_top_customers_rank_across_workers_ties_by_lower_id():
    a = [
        {"customer_id": 9, "revenue": 50, "orders": 1},
        {"customer_id": 4, "revenue": 10, "orders": 1},
    ]
    b = [
        {"customer_id": 2, "revenue": 50, "orders": 2},
        {"customer_id": 7, "revenue": 30, "orders": 1},
    ]
    assert [r["customer_id"] for r in merge_top_customers([a, b], 3)] == [2, 9, 7]


def test_product_sums_add_partial_sales_of_one_product():
    # a product's sales are spread over partitions, so over workers (JSON keys are str)
    assert product_sums([{"5": [2, 200]}, {"5": [1, 100], "6": [4, 40]}]) == {
        5: [3, 300],
        6: [4, 40],
    }


def test_counts_sum():
    assert merge_counts([{"Lyon, France": 2}, {"Lyon, France": 1, "Kyoto, Japan": 4}]) == {
        "Kyoto, Japan": 4,
        "Lyon, France": 3,
    }
