"""The generator's files, checked with DuckDB, pandas and numpy over what it wrote.

Expected figures are the ones the issue asks for (Zipf exponent ~1.1, ~49/48/3
gender mix, a Nov/Dec peak, ...), never values read back from the generator.
"""

# ruff: noqa: S608 - the queries interpolate only paths of temporary directories made here

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest

from streamproc import generator, models, validation

NOW = datetime(2025, 6, 1, tzinfo=UTC)
START, END = date(2023, 1, 1), date(2024, 12, 31)


def gen(out, **kw):
    args = {
        "seed": 11,
        "customers": 500,
        "products": 200,
        "orders": 5_000,
        "out_dir": out,
        "fmt": "parquet",
        "start": START,
        "end": END,
        "progress": False,
    }
    args.update(kw)
    return generator.generate(**args)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A mid-sized clean shop in Parquet: 20k customers, 2k products, 300k orders."""
    out = tmp_path_factory.mktemp("shop")
    manifest = gen(out, customers=20_000, products=2_000, orders=300_000)
    return out, manifest


def sql(query):
    """Run ``query`` on a fresh in-memory DuckDB; the result has fetchone/fetchall/df."""
    return duckdb.connect().execute(query)


def scalar(query):
    return sql(query).fetchone()[0]


def orders_of(out, fmt="parquet"):
    return f"read_parquet('{out}/orders/*/*.{fmt}', hive_partitioning = true)"


# --- determinism -------------------------------------------------------------------


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("fmt", generator.FORMATS)
def test_same_seed_gives_byte_identical_files(tmp_path, fmt):
    gen(tmp_path / "a", fmt=fmt, dirty_rate=0.05)
    gen(tmp_path / "b", fmt=fmt, dirty_rate=0.05)
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert len(a) > 100
    assert a == b


def test_different_seeds_give_different_data(tmp_path):
    gen(tmp_path / "a", fmt="jsonl")
    gen(tmp_path / "b", fmt="jsonl", seed=12)
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    for name in ("customers.jsonl", "products.jsonl", "stock-updates.jsonl"):
        assert a[name] != b[name]
    orders_a = b"".join(v for k, v in a.items() if k.startswith("orders/"))
    orders_b = b"".join(v for k, v in b.items() if k.startswith("orders/"))
    assert orders_a != orders_b


def test_rerun_into_the_same_directory_replaces_the_previous_files(tmp_path):
    gen(tmp_path, start=date(2024, 1, 1), end=date(2024, 3, 31))
    manifest = gen(tmp_path, start=date(2024, 6, 1), end=date(2024, 6, 30))
    partitions = sorted(p.name for p in (tmp_path / "orders").iterdir())
    assert partitions[0] == "date=2024-06-01" and partitions[-1] == "date=2024-06-30"
    assert scalar(f"select count(*) from {orders_of(tmp_path)}") == manifest["counts"]["orders"]


def test_refuses_a_directory_with_foreign_order_files(tmp_path):
    (tmp_path / "orders" / "date=2024-01-01").mkdir(parents=True)
    (tmp_path / "orders" / "date=2024-01-01" / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        gen(tmp_path)
    assert (tmp_path / "orders" / "date=2024-01-01" / "mine.txt").exists()


# --- customers ---------------------------------------------------------------------


def test_ages_are_skewed_right_mostly_25_to_45(shop):
    out, _ = shop
    lo, median, mean, hi, middle = sql(
        f"""select min(age), median(age), avg(age), max(age),
                   avg(case when age between 25 and 45 then 1.0 else 0 end)
            from '{out}/customers.parquet'"""
    ).fetchone()
    assert lo >= 18 and hi <= 85
    assert 28 <= median <= 38
    assert mean > median  # right skew
    assert middle > 0.5
    assert scalar(f"select count(*) from '{out}/customers.parquet' where age >= 65") > 0


def test_gender_mix(shop):
    out, _ = shop
    shares = dict(
        sql(
            f"""select gender, count(*) / sum(count(*)) over ()
                from '{out}/customers.parquet' group by gender"""
        ).fetchall()
    )
    assert shares.keys() == {"F", "M", "O"}
    assert shares["F"] == pytest.approx(0.49, abs=0.015)
    assert shares["M"] == pytest.approx(0.48, abs=0.015)
    assert shares["O"] == pytest.approx(0.03, abs=0.008)


def test_locations_are_weighted_cities_with_countries(shop):
    out, _ = shop
    cities, countries, well_formed, top_share = sql(
        f"""select count(distinct location), count(distinct split_part(location, ', ', 2)),
                   bool_and(regexp_full_match(location, '[A-Za-z .]+, [A-Za-z .]+')),
                   max(n) / sum(n)
            from (select location, count(*) over (partition by location) n
                  from '{out}/customers.parquet')"""
    ).fetchone()
    assert cities >= 50 and countries >= 20 and well_formed
    assert top_share < 0.1  # weighted, but no city dominates


def test_names_emails_unique_and_well_formed(shop):
    out, _ = shop
    n, names, emails, good_names, good_emails, good_phones = sql(
        f"""select count(*), count(distinct name), count(distinct email),
                   bool_and(regexp_full_match(name,
                            '[A-Z][a-z]+ [A-Z]\\. [A-Z][a-z]+( [IVXLC]+)?')),
                   bool_and(regexp_full_match(email, '[a-z]+\\.[a-z]+[0-9]+@[a-z.]+\\.[a-z]+')),
                   bool_and(regexp_full_match(phone, '\\+[0-9]{{1,3}} [0-9]{{9,10}}'))
            from '{out}/customers.parquet'"""
    ).fetchone()
    assert n == names == emails == 20_000
    assert good_names and good_emails and good_phones


def test_customer_names_stay_unique_past_the_name_pool(tmp_path):
    manifest = gen(tmp_path, customers=1_000_000, products=10, orders=0)
    out = tmp_path / "customers.parquet"
    n, names = sql(f"select count(*), count(distinct name) from '{out}'").fetchone()
    assert n == names == 1_000_000
    assert scalar(f"select count(*) from '{out}' where name like '% II'") > 0
    assert manifest["counts"]["orders"] == 0


# --- products ----------------------------------------------------------------------


def test_categories_and_their_price_ranges(shop):
    out, _ = shop
    rows = sql(
        f"""select category, count(*) / sum(count(*)) over (), median(price)
            from '{out}/products.parquet' group by category"""
    ).fetchall()
    share = {c: s for c, s, _ in rows}
    median_price = {c: p for c, _, p in rows}
    assert len(share) >= 12
    assert all(0.02 <= s <= 0.2 for s in share.values())
    assert median_price["Jewelry"] > 10 * median_price["Grocery"]
    assert median_price["Electronics"] > 3 * median_price["Books"]


def test_prices_are_positive_cents_mostly_ending_in_99(shop):
    out, _ = shop
    schema = pq.read_schema(out / "products.parquet")
    assert str(schema.field("price").type) == "int64"
    low, ninety_nine, names, n = sql(
        f"""select min(price), avg(case when price % 100 = 99 then 1.0 else 0 end),
                   count(distinct product_name), count(*)
            from '{out}/products.parquet'"""
    ).fetchone()
    assert low > 0 and ninety_nine > 0.9
    assert names == n == 2_000


def test_stock_levels_are_category_specific(shop):
    out, _ = shop
    stock = dict(
        sql(
            f"""select category, median(stock_quantity) from '{out}/products.parquet'
                group by category"""
        ).fetchall()
    )
    assert scalar(f"select min(stock_quantity) from '{out}/products.parquet'") >= 0
    assert stock["Grocery"] > 5 * stock["Jewelry"]


# --- orders ------------------------------------------------------------------------


def test_order_ids_unique_ascending_with_time_and_partitioned_by_day(shop):
    out, manifest = shop
    ids, dates = [], []
    for path in sorted((out / "orders").glob("date=*/part-*.parquet")):
        table = pq.read_table(path)
        day = path.parent.name.removeprefix("date=")
        stamps = table.column("transaction_date").to_pylist()
        assert all(s[:10] == day for s in stamps)
        assert stamps == sorted(stamps)
        ids.append(table.column("order_id").to_numpy())
        dates.append(day)
    ids = np.concatenate(ids)
    assert np.array_equal(ids, np.arange(1, manifest["counts"]["orders"] + 1))
    assert dates[0] >= "2023-01-01" and dates[-1] <= "2024-12-31"
    assert len(dates) == 731  # every day of 2023-2024 has orders


def test_orders_reference_existing_customers_and_products(shop):
    out, _ = shop
    orphans = scalar(
        f"""select count(*) from {orders_of(out)} o
            left join '{out}/customers.parquet' c using (customer_id)
            left join '{out}/products.parquet' p using (product_id)
            where c.customer_id is null or p.product_id is null"""
    )
    assert orphans == 0


def test_total_amount_is_price_times_quantity(shop):
    out, _ = shop
    wrong = scalar(
        f"""select count(*) from {orders_of(out)} o join '{out}/products.parquet' p
            using (product_id) where o.total_amount != p.price * o.quantity"""
    )
    assert wrong == 0


def test_quantity_mostly_one_with_a_tail_to_ten(shop):
    out, _ = shop
    ones, lo, hi, fives = sql(
        f"""select avg(case when quantity = 1 then 1.0 else 0 end), min(quantity),
                   max(quantity), count(*) filter (where quantity >= 5)
            from {orders_of(out)}"""
    ).fetchone()
    assert 0.7 <= ones <= 0.82
    assert lo == 1 and hi == 10
    assert fives > 1000


def test_product_popularity_follows_zipf(shop):
    out, _ = shop
    counts = np.array(
        [
            c
            for (c,) in sql(
                f"select count(*) c from {orders_of(out)} group by product_id order by c desc"
            ).fetchall()
        ]
    )
    ranks = np.arange(1, 301)
    slope, _ = np.polyfit(np.log(ranks), np.log(counts[:300]), 1)
    assert slope == pytest.approx(-1.1, abs=0.12)


def test_popular_products_are_spread_over_the_catalogue(shop):
    out, _ = shop
    top_ids = [
        pid
        for (pid,) in sql(
            f"""select product_id from {orders_of(out)} group by product_id
                order by count(*) desc limit 20"""
        ).fetchall()
    ]
    assert max(top_ids) - min(top_ids) > 500  # a random permutation, not ids 1..20


def test_repeat_buyers_and_a_power_law_of_orders_per_customer(shop):
    out, _ = shop
    per_customer = (
        sql(f"select count(*) n from {orders_of(out)} group by customer_id order by n desc")
        .df()["n"]
        .to_numpy()
    )
    buyers = len(per_customer)
    repeat_share = (per_customer >= 2).mean()
    top_1pct_share = per_customer[: buyers // 100].sum() / per_customer.sum()
    assert 0.5 <= repeat_share <= 0.97
    assert top_1pct_share > 0.10  # some customers order very often
    assert np.median(per_customer) < per_customer.mean() / 1.5  # most order few times
    assert per_customer.max() > 20 * np.median(per_customer)


def test_seasonality_month_weekday_hour_and_black_friday(shop):
    out, _ = shop
    o = orders_of(out)
    by_month = dict(
        sql(f"select substr(transaction_date, 1, 7), sum(total_amount) from {o} group by 1")
        .fetchall()
    )  # fmt: skip
    assert by_month["2024-12"] > 1.3 * by_month["2024-02"]
    assert by_month["2023-12"] > 1.3 * by_month["2023-02"]
    year = sum(v for k, v in by_month.items() if k.startswith("2024"))
    assert (by_month["2024-11"] + by_month["2024-12"]) / year > 2.4 / 12
    assert by_month["2024-06"] > by_month["2023-06"]  # the shop grows

    df = sql(f"select transaction_date from {o}").df()
    stamps = df["transaction_date"].str.slice(0, 19).astype("datetime64[s]")
    hours = stamps.dt.hour.value_counts()
    assert hours[20] > 4 * hours[4]
    weekdays = stamps.dt.day_of_week.value_counts()
    assert weekdays[6] > weekdays[5]  # Sunday beats Saturday
    days = stamps.dt.date.value_counts()
    fridays_nov_2024 = [date(2024, 11, d) for d in (1, 8, 15, 22)]
    assert days[date(2024, 11, 29)] > 1.8 * np.mean([days[d] for d in fridays_nov_2024])


def test_payment_mix_varies_by_age_band(shop):
    out, _ = shop
    mix = sql(
        f"""select case when c.age <= 24 then 'young' when c.age >= 65 then 'old' end band,
                   avg(case when payment_method = 3 then 1.0 else 0 end) wallet,
                   avg(case when payment_method in (4, 5) then 1.0 else 0 end) offline
            from {orders_of(out)} o join '{out}/customers.parquet' c using (customer_id)
            where c.age <= 24 or c.age >= 65 group by band"""
    ).fetchall()
    share = {band: (wallet, offline) for band, wallet, offline in mix}
    assert share["young"][0] > 0.35 and share["old"][0] < 0.1
    assert share["old"][1] > 0.4 and share["young"][1] < 0.15
    methods = {
        m for (m,) in sql(f"select distinct payment_method from {orders_of(out)}").fetchall()
    }
    assert methods == {1, 2, 3, 4, 5}


def test_stock_updates_come_in_daily_batches(shop):
    out, _ = shop
    per_day = sql(
        f"""select substr(updated_at, 1, 10) d, count(*), count(distinct product_id),
                   min(substr(updated_at, 12, 5)), max(substr(updated_at, 12, 5))
            from '{out}/stock-updates.parquet' group by d order by d"""
    ).fetchall()
    assert len(per_day) == 731
    assert all(n == distinct == 40 for _, n, distinct, _, _ in per_day)  # 2% of 2,000
    assert all(first == "05:00" and last == "05:00" for *_, first, last in per_day)


def test_manifest_counts_match_the_files(shop):
    out, manifest = shop
    for name, meta in manifest["files"].items():
        path = out / name
        assert path.stat().st_size == meta["bytes"]
        assert pq.read_metadata(path).num_rows == meta["rows"]
    assert scalar(f"select count(*) from {orders_of(out)}") == manifest["counts"]["orders"]
    assert manifest["seed"] == 11
    assert manifest["arguments"]["start"] == "2023-01-01"
    assert sum(manifest["dirty"].values()) == 0


def test_clean_files_pass_validation(shop):
    out, _ = shop
    for topic, path in (
        ("customers", out / "customers.parquet"),
        ("products", out / "products.parquet"),
        ("stock-updates", out / "stock-updates.parquet"),
        ("orders", next((out / "orders").glob("date=2024-12-*/part-00000.parquet"))),
    ):
        rows = pq.read_table(path).to_pylist()
        assert all(validation.validate(topic, row, NOW) == [] for row in rows), topic


# --- dirt --------------------------------------------------------------------------


def reasons_of_lines(topic, paths):
    found = Counter()
    for path in paths:
        for line in path.read_bytes().split(b"\n")[:-1]:
            _, reasons = validation.decode(topic, line, NOW)
            found[tuple(reasons)] += 1
    return found


def assert_matches_manifest(found, expected_dirt, rows, rate):
    dirty = {reasons[0]: n for reasons, n in found.items() if reasons}
    assert all(len(reasons) <= 1 for reasons in found), found  # one defect per dirty row
    assert dirty == {kind: n for kind, n in expected_dirt.items() if n}
    assert found[()] == rows - sum(expected_dirt.values())
    assert sum(expected_dirt.values()) == pytest.approx(rate * rows, abs=2)


def test_dirty_jsonl_fails_validation_with_the_manifests_reasons(tmp_path):
    manifest = gen(
        tmp_path,
        fmt="jsonl",
        dirty_rate=0.1,
        customers=2_000,
        products=400,
        orders=40_000,
        start=date(2024, 1, 1),
        end=date(2024, 12, 31),
    )
    dirt, counts = manifest["dirt"], manifest["counts"]
    for topic in ("customers", "products", "stock-updates"):
        found = reasons_of_lines(topic, [tmp_path / f"{topic}.jsonl"])
        assert_matches_manifest(found, dirt[topic], counts[topic], 0.1)
    found = reasons_of_lines("orders", sorted((tmp_path / "orders").rglob("*.jsonl")))
    assert_matches_manifest(found, dirt["orders"], counts["orders"], 0.1)
    assert set(dirt["orders"]) == {
        "negative_quantity",
        "negative_amount",
        "missing_payment_method",
        "truncated_json",
        "wrong_type:quantity",
        "unknown_field:coupon",
        "oversized:transaction_date",
        "non_utf8",
    }
    assert all(n >= 400 for n in dirt["orders"].values())  # spread evenly
    assert set(dirt["customers"]) == {
        "missing_name",
        "invalid_email",
        "invalid_age",
        "empty_location",
        "missing_gender",
    }
    assert manifest["wire_garbage"] is True


def test_dirty_parquet_has_field_level_dirt_only(tmp_path):
    manifest = gen(tmp_path, dirty_rate=0.2, customers=1_000, products=300, orders=20_000)
    dirt = manifest["dirt"]
    assert set(dirt["orders"]) == {"negative_quantity", "negative_amount", "missing_payment_method"}
    assert manifest["wire_garbage"] is False
    for topic, paths in (
        ("customers", [tmp_path / "customers.parquet"]),
        ("products", [tmp_path / "products.parquet"]),
        ("stock-updates", [tmp_path / "stock-updates.parquet"]),
        ("orders", sorted((tmp_path / "orders").rglob("*.parquet"))),
    ):
        found = Counter(
            tuple(validation.validate(topic, row, NOW))
            for path in paths
            for row in pq.read_table(path).to_pylist()
        )
        assert_matches_manifest(found, dirt[topic], manifest["counts"][topic], 0.2)


def test_missing_values_are_nulls_in_parquet(tmp_path):
    gen(tmp_path, dirty_rate=0.5)
    nulls = sql(
        f"""select count(*) filter (where name is null), count(*) filter (where gender is null)
            from '{tmp_path}/customers.parquet'"""
    ).fetchone()
    assert all(n > 0 for n in nulls)


def test_clean_jsonl_lines_are_exactly_the_encoded_records(tmp_path):
    gen(tmp_path, fmt="jsonl", orders=2_000)
    decoders = {
        "customers": models.decode_customer,
        "products": models.decode_product,
        "stock-updates": models.decode_stock_update,
    }
    for name, decode in decoders.items():
        for line in (tmp_path / f"{name}.jsonl").read_bytes().splitlines():
            assert models.encode(decode(line)) == line
    for path in (tmp_path / "orders").rglob("*.jsonl"):
        for line in path.read_bytes().splitlines():
            assert models.encode(models.decode_order(line)) == line
            assert orjson.loads(line)["order_id"] > 0


# --- sizes, ranges, chunks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("5GB", 5_000_000_000),
        ("500MB", 500_000_000),
        ("500 mb", 500_000_000),
        ("1.5GiB", int(1.5 * 2**30)),
        ("64KiB", 65_536),
        ("2T", 2 * 10**12),
        ("1000", 1000),
    ],
)
def test_parse_size(text, size):
    assert generator.parse_size(text) == size


@pytest.mark.parametrize("text", ["5XB", "0", "0GB", "-1GB", "GB", "", "1.5 i", "iB"])
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(ValueError, match="size"):
        generator.parse_size(text)


def test_size_chooses_about_that_many_bytes_of_orders(tmp_path):
    manifest = gen(tmp_path, fmt="jsonl", size="4MB", orders=None)
    written = sum(f["bytes"] for n, f in manifest["files"].items() if n.startswith("orders/"))
    assert written == pytest.approx(4e6, rel=0.15)
    assert manifest["arguments"]["size"] == "4MB"


def test_default_range_is_the_24_months_before_today():
    assert generator.date_range(today=date(2025, 6, 15)) == (date(2023, 6, 15), date(2025, 6, 14))
    assert generator.date_range(today=date(2024, 2, 29)) == (date(2022, 2, 28), date(2024, 2, 28))
    assert generator.date_range(date(2024, 1, 1), date(2024, 1, 1)) == (
        date(2024, 1, 1),
        date(2024, 1, 1),
    )


def test_default_range_is_injectable_into_generate(tmp_path):
    manifest = gen(tmp_path, start=None, end=None, today=date(2025, 1, 10))
    assert (manifest["arguments"]["start"], manifest["arguments"]["end"]) == (
        "2023-01-10",
        "2025-01-09",
    )


@pytest.mark.parametrize(
    ("start", "end"), [(date(2024, 2, 1), date(2024, 1, 1)), (date(1999, 1, 1), date(2024, 1, 1))]
)
def test_bad_ranges_are_refused(tmp_path, start, end):
    with pytest.raises(ValueError):
        gen(tmp_path, start=start, end=end)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="format"):
        gen(tmp_path, fmt="xml")
    with pytest.raises(ValueError, match="dirty rate"):
        gen(tmp_path, dirty_rate=1.5)


def test_days_bigger_than_a_chunk_are_split_into_parts(tmp_path):
    manifest = gen(
        tmp_path, orders=9_000, start=date(2024, 3, 1), end=date(2024, 3, 3), chunk_rows=1_000
    )
    parts = sorted((tmp_path / "orders").rglob("*.parquet"))
    assert len(parts) >= 9
    assert any(p.name == "part-00002.parquet" for p in parts)
    ids = np.concatenate([pq.read_table(p).column("order_id").to_numpy() for p in parts])
    assert sorted(ids.tolist()) == list(range(1, 9_001))
    assert manifest["counts"]["orders"] == 9_000


def test_csv_files_have_a_header_and_all_rows(tmp_path):
    manifest = gen(tmp_path, fmt="csv")
    n = scalar(f"select count(*) from read_csv('{tmp_path}/orders/*/*.csv')")
    assert n == manifest["counts"]["orders"]
    header = (tmp_path / "customers.csv").read_text().splitlines()[0]
    assert header.replace('"', "").split(",") == list(models.CUSTOMER_FIELDS)


def test_shop_draws_are_valid_orders():
    shop = generator.Shop(3, 300, 50)
    drawn = shop.sample_orders(generator.rng_for(3, "live"), 10_000)
    assert drawn["customer_id"].min() >= 1 and drawn["customer_id"].max() <= 300
    assert drawn["product_id"].min() >= 1 and drawn["product_id"].max() <= 50
    assert set(np.unique(drawn["payment_method"])) <= {1, 2, 3, 4, 5}
    ids, levels = shop.sample_stock_levels(generator.rng_for(3, "live", 2), 80)
    assert len(ids) == 50 and len(set(ids.tolist())) == 50 and levels.min() >= 0


def test_alias_sampler_matches_its_weights():
    weights = np.array([5.0, 0.0, 1.0, 3.0, 1.0])
    draws = generator.Categorical(weights).draw(np.random.default_rng(1), 200_000)
    shares = np.bincount(draws, minlength=5) / len(draws)
    assert shares == pytest.approx(weights / weights.sum(), abs=0.005)
    assert shares[1] == 0
