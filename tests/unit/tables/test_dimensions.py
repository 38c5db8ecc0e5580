import pytest

from streamproc.tables.dimensions import AGE_BANDS, age_band, day_key, hour_key, month_key


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (18, "18-24"),
        (24, "18-24"),
        (25, "25-34"),
        (34, "25-34"),
        (35, "35-44"),
        (44, "35-44"),
        (45, "45-54"),
        (54, "45-54"),
        (55, "55-64"),
        (64, "55-64"),
        (65, "65+"),
        (85, "65+"),
        (120, "65+"),
    ],
)
def test_age_band_edges(age, band):
    assert age_band(age) == band


def test_every_band_is_reachable():
    assert {age_band(a) for a in range(18, 100)} == set(AGE_BANDS)


@pytest.mark.parametrize("age", [-1, 0, 17])
def test_under_18_has_no_band(age):
    with pytest.raises(ValueError, match=str(age)):
        age_band(age)


def test_time_keys_keep_the_year():
    ts = "2024-12-31T23:59:59Z"
    assert month_key(ts) == "2024-12"
    assert month_key("2025-12-01T00:00:00Z") != month_key(ts)  # not folded into "12"
    assert day_key(ts) == "2024-12-31"
    assert hour_key(ts) == "2024-12-31T23"
