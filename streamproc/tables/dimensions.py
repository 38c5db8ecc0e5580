"""Dimension keys of a sale: month, day, hour, age band and the like.

Shared by the stream processor and the batch side so that both bucket alike.
"""

from __future__ import annotations

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_UPPER = (24, 34, 44, 54, 64, 10**9)
DIMENSIONS = (
    "month",
    "day",
    "hour",
    "category",
    "gender",
    "age_band",
    "location",
    "payment_method",
)


def age_band(age: int) -> str:
    """Return the age band of ``age``: 18-24, 25-34, 35-44, 45-54, 55-64 or 65+.

    Ages under 18 have no band and raise ``ValueError``: the validator rejects them.
    """
    if age < 18:
        raise ValueError(f"age {age} is under 18: no band")
    for band, upper in zip(AGE_BANDS, _UPPER, strict=True):
        if age <= upper:
            return band
    raise AssertionError("unreachable")


def month_key(ts: str) -> str:
    """Return ``YYYY-MM`` of an ISO-8601 UTC timestamp (the year is kept)."""
    return ts[:7]


def day_key(ts: str) -> str:
    """Return ``YYYY-MM-DD`` of an ISO-8601 UTC timestamp."""
    return ts[:10]


def hour_key(ts: str) -> str:
    """Return the tumbling one-hour window ``YYYY-MM-DDTHH`` of the timestamp.

    The window is that of the order's own ``transaction_date``, so a late order
    lands in the window it belongs to, however late it arrives.
    """
    return ts[:13]
