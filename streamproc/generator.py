"""A fast, deterministic generator of realistic shop data: customers, products, orders.

Everything is drawn with numpy from ``Generator(PCG64(...))`` sub-streams of one
seed (:func:`rng_for`), so one seed and one set of arguments give byte-identical
files.  Neither the global random state nor the clock is used; the only exception
is the default date range (the 24 months before today), whose "today" can be
passed in (:func:`date_range`).

What the data looks like:

* **customers** -- ages 18-85 skewed right (most 25-45), ~49% F / ~48% M / ~3% O,
  60 cities in 33 countries weighted by size, unique well-formed names
  ("Ada K. Lovelace"; past the pool's capacity a generation suffix "II", "III"),
  unique emails from name and id, phones with the country's calling code.
* **products** -- 14 categories with their own catalogue share, price range
  (lognormal within it, in cents, mostly ending in 99) and stock range; unique
  names "<Adjective> <Noun>" from per-category word lists (nouns are disjoint
  between categories).
* **orders** -- Zipf popularity of products (exponent 1.1 over a random
  permutation), power-law orders per customer (capped Pareto weights: a few
  customers order very often, most rarely), seasonality (month of year with a Nov/Dec peak
  and Black Friday / Cyber Monday, day of week, hour of day, 12% yearly growth),
  quantity 1 in ~3 of 4 orders with a tail up to 10, ``total_amount = price *
  quantity`` in cents, payment method by age band (the young pay by wallet, the
  old by cash on delivery and bank transfer), order ids unique and ascending with
  time.
* **stock updates** -- one batch a day at 05:00 UTC re-counting ~2% of products.

Dirty records (``dirty_rate``): that fraction of the rows of every file is made
dirty, each with one kind of dirt that the validator rejects with exactly the
reason code of the same name (the kinds are spread evenly):

* customers: ``missing_name``, ``invalid_email``, ``invalid_age`` (age -1),
  ``empty_location``, ``missing_gender``;
* products: ``negative_price``, ``negative_stock``; stock updates: ``negative_stock``;
* orders: ``negative_quantity``, ``negative_amount``, ``missing_payment_method``,
  and in ``jsonl`` only the wire-level garbage for the dead-letter path:
  ``truncated_json``, ``wrong_type:quantity`` (``"3"``, ``3.5`` or ``true``),
  ``unknown_field:coupon``, ``oversized:transaction_date``, ``non_utf8``.

CSV and Parquet cannot hold malformed bytes, so in those formats orders get the
field-level kinds only (the manifest says ``"wire_garbage": false``); generate
``jsonl`` to exercise the dead-letter path.  The orders of the dirty rows are drawn
from the clean reference data, so they never inherit a dirty customer's or
product's defect.

Files (:func:`generate`): ``customers.<ext>``, ``products.<ext>``,
``stock-updates.<ext>``, ``orders/date=YYYY-MM-DD/part-00000.<ext>`` and
``manifest.json`` with the seed, the arguments, the rows and bytes of every file
and the count of every kind of dirt.  Orders are generated in chunks of whole
days (:data:`CHUNK_ROWS` rows at most) so memory stays bounded; a day with more
orders than a chunk is split into ``part-00001`` and on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

# --- vocabulary ---------------------------------------------------------------------

_FIRST_F = (
    "Ada", "Alice", "Amelia", "Anna", "Aria", "Ava", "Beatrice", "Camila", "Charlotte",
    "Chloe", "Clara", "Daniela", "Elena", "Eleanor", "Elif", "Ella", "Emily", "Emma",
    "Eva", "Fatima", "Freya", "Grace", "Hana", "Hannah", "Ines", "Isabella", "Isla",
    "Ivy", "Julia", "Keiko", "Laura", "Layla", "Leah", "Lena", "Lily", "Lucia", "Luna",
    "Maria", "Maya", "Mei", "Mia", "Mila", "Nadia", "Naomi", "Nora", "Olivia", "Priya",
    "Rosa", "Ruby", "Sakura", "Sara", "Sofia", "Sophie", "Valentina", "Yara", "Zara",
    "Zoe", "Ingrid", "Aisha", "Carmen",
)  # fmt: skip
_FIRST_M = (
    "Adam", "Ahmed", "Alejandro", "Alexander", "Andre", "Arjun", "Ben", "Carlos",
    "Daniel", "David", "Diego", "Elias", "Emil", "Ethan", "Felix", "Finn", "Gabriel",
    "Hamza", "Hiroshi", "Hugo", "Ibrahim", "Isaac", "Ivan", "Jack", "Jakob", "James",
    "Jonas", "Jose", "Kenji", "Leo", "Liam", "Lucas", "Luca", "Mateo", "Matteo", "Max",
    "Mohammed", "Nikolai", "Noah", "Oliver", "Omar", "Oscar", "Pablo", "Paul", "Rahul",
    "Raj", "Samuel", "Santiago", "Sebastian", "Thomas", "Tom", "Victor", "Wei",
    "William", "Yusuf", "Lars", "Kwame", "Mehmet", "Pedro", "Erik",
)  # fmt: skip
_FIRST_O = (
    "Alex", "Ari", "Avery", "Blair", "Casey", "Charlie", "Dakota", "Eden", "Emerson",
    "Finley", "Harper", "Jamie", "Jordan", "Kai", "Quinn", "Reese", "Riley", "River",
    "Robin", "Rowan", "Sage", "Sam", "Skyler", "Taylor", "Yuki",
)  # fmt: skip
_LAST = (
    "Adams", "Ahmed", "Ali", "Andersen", "Bauer", "Becker", "Bianchi", "Brown", "Campbell",
    "Chen", "Clark", "Costa", "Cruz", "Dubois", "Edwards", "Evans", "Fernandez", "Fischer",
    "Fontaine", "Garcia", "Gomez", "Gonzalez", "Green", "Gupta", "Hall", "Hansen", "Harris",
    "Hernandez", "Hoffmann", "Hughes", "Ito", "Jackson", "Jansen", "Johansson", "Johnson",
    "Jones", "Kaya", "Khan", "Kim", "King", "Klein", "Kowalski", "Kumar", "Larsen", "Lee",
    "Lewis", "Li", "Lopez", "Martin", "Martinez", "Meyer", "Miller", "Moore", "Moreau",
    "Morris", "Muller", "Murphy", "Nakamura", "Nguyen", "Nielsen", "Novak", "Okafor",
    "Olsen", "Ortiz", "Park", "Patel", "Perez", "Petrov", "Phillips", "Ramirez", "Reyes",
    "Ricci", "Roberts", "Robinson", "Rodriguez", "Romano", "Rossi", "Sanchez", "Santos",
    "Sato", "Schmidt", "Schneider", "Scott", "Silva", "Singh", "Smith", "Suzuki", "Tanaka",
    "Taylor", "Thomas", "Thompson", "Torres", "Walker", "Wang", "Weber", "White", "Williams",
    "Wilson", "Wright", "Yamamoto", "Yilmaz", "Young", "Zhang", "Ivanova", "Lindqvist",
    "Mendes", "Novotny", "Okoro", "Popescu", "Virtanen",
)  # fmt: skip
_DOMAINS = (
    ("gmail.com", 40), ("outlook.com", 14), ("yahoo.com", 12), ("icloud.com", 9),
    ("hotmail.com", 8), ("proton.me", 4), ("gmx.de", 4), ("web.de", 3), ("mail.com", 3),
    ("orange.fr", 3),
)  # fmt: skip

# (city, country, weight ~ metro population in millions, calling code)
_CITIES = (
    ("New York", "United States", 8.3, 1), ("Los Angeles", "United States", 3.9, 1),
    ("Chicago", "United States", 2.7, 1), ("Houston", "United States", 2.3, 1),
    ("Phoenix", "United States", 1.6, 1), ("Philadelphia", "United States", 1.6, 1),
    ("San Diego", "United States", 1.4, 1), ("Dallas", "United States", 1.3, 1),
    ("Seattle", "United States", 0.8, 1), ("Boston", "United States", 0.7, 1),
    ("Denver", "United States", 0.7, 1), ("Atlanta", "United States", 0.5, 1),
    ("Miami", "United States", 0.5, 1), ("Toronto", "Canada", 2.8, 1),
    ("Montreal", "Canada", 1.8, 1), ("Vancouver", "Canada", 0.7, 1),
    ("London", "United Kingdom", 9.0, 44), ("Birmingham", "United Kingdom", 1.1, 44),
    ("Manchester", "United Kingdom", 0.6, 44), ("Leeds", "United Kingdom", 0.8, 44),
    ("Glasgow", "United Kingdom", 0.6, 44), ("Dublin", "Ireland", 1.2, 353),
    ("Berlin", "Germany", 3.7, 49), ("Hamburg", "Germany", 1.8, 49),
    ("Munich", "Germany", 1.5, 49), ("Cologne", "Germany", 1.1, 49),
    ("Frankfurt", "Germany", 0.8, 49), ("Paris", "France", 2.1, 33), ("Lyon", "France", 0.5, 33),
    ("Marseille", "France", 0.9, 33), ("Toulouse", "France", 0.5, 33),
    ("Madrid", "Spain", 3.3, 34), ("Barcelona", "Spain", 1.6, 34), ("Valencia", "Spain", 0.8, 34),
    ("Rome", "Italy", 2.8, 39), ("Milan", "Italy", 1.4, 39), ("Naples", "Italy", 0.9, 39),
    ("Amsterdam", "Netherlands", 0.9, 31), ("Rotterdam", "Netherlands", 0.7, 31),
    ("Brussels", "Belgium", 1.2, 32), ("Zurich", "Switzerland", 0.4, 41),
    ("Vienna", "Austria", 1.9, 43), ("Stockholm", "Sweden", 1.0, 46), ("Oslo", "Norway", 0.7, 47),
    ("Copenhagen", "Denmark", 0.6, 45), ("Helsinki", "Finland", 0.7, 358),
    ("Warsaw", "Poland", 1.8, 48), ("Krakow", "Poland", 0.8, 48),
    ("Prague", "Czech Republic", 1.3, 420), ("Lisbon", "Portugal", 0.5, 351),
    ("Athens", "Greece", 0.7, 30), ("Istanbul", "Turkey", 4.0, 90),
    ("Dubai", "United Arab Emirates", 3.3, 971), ("Mumbai", "India", 4.0, 91),
    ("Bangalore", "India", 3.0, 91), ("Tokyo", "Japan", 5.0, 81), ("Osaka", "Japan", 2.0, 81),
    ("Seoul", "South Korea", 4.0, 82), ("Singapore", "Singapore", 3.0, 65),
    ("Sydney", "Australia", 3.0, 61), ("Melbourne", "Australia", 2.8, 61),
    ("Auckland", "New Zealand", 1.2, 64), ("Sao Paulo", "Brazil", 3.5, 55),
    ("Mexico City", "Mexico", 3.0, 52), ("Buenos Aires", "Argentina", 2.0, 54),
    ("Cape Town", "South Africa", 1.5, 27), ("Johannesburg", "South Africa", 1.8, 27),
)  # fmt: skip

_ADJ_TECH = (
    "Smart", "Wireless", "Compact", "Ultra", "Pro", "Portable", "Digital", "Slim", "Turbo",
    "Quantum", "Nano", "Fusion", "Apex", "Vivid", "Sonic", "Prime", "Nova", "Zen",
)  # fmt: skip
_ADJ_STYLE = (
    "Classic", "Slim-Fit", "Vintage", "Cozy", "Urban", "Relaxed", "Tailored", "Organic",
    "Casual", "Linen", "Woolen", "Denim", "Striped", "Essential", "Modern", "Retro",
)  # fmt: skip
_ADJ_HOME = (
    "Rustic", "Modern", "Ceramic", "Bamboo", "Stainless", "Nordic", "Deluxe", "Compact",
    "Cast-Iron", "Glass", "Oak", "Marble", "Essential", "Heritage", "Copper", "Minimal",
)  # fmt: skip
_ADJ_BOOK = (
    "Complete", "Illustrated", "Practical", "Hidden", "Silent", "Lost", "Modern", "Little",
    "Secret", "Golden", "Last", "Wild", "Quiet", "Endless", "Curious", "Brief",
)  # fmt: skip
_ADJ_CARE = (
    "Gentle", "Hydrating", "Radiant", "Pure", "Soothing", "Daily", "Fresh", "Natural",
    "Intense", "Calming", "Herbal", "Velvet", "Botanical", "Revive", "Silky", "Clear",
)  # fmt: skip
_ADJ_ACTIVE = (
    "Pro", "Trail", "Lightweight", "All-Weather", "Rugged", "Alpine", "Sprint", "Summit",
    "Endurance", "Agile", "Performance", "Coastal", "Peak", "Swift", "Core", "Storm",
)  # fmt: skip
_ADJ_FUN = (
    "Magic", "Mighty", "Tiny", "Rainbow", "Super", "Cosmic", "Jolly", "Happy", "Wonder",
    "Dino", "Galaxy", "Pocket", "Giant", "Funky", "Brave", "Sparkly",
)  # fmt: skip
_ADJ_FOOD = (
    "Organic", "Roasted", "Wholegrain", "Spicy", "Smoked", "Wild", "Golden", "Artisan",
    "Sea-Salt", "Honey", "Dark", "Crunchy", "Fair-Trade", "Italian", "Alpine", "Fresh",
)  # fmt: skip
_ADJ_TOOL = (
    "Heavy-Duty", "Precision", "Universal", "Compact", "Industrial", "Pro", "Cordless",
    "Reinforced", "Quick-Release", "All-Season", "Magnetic", "Folding", "Reliable", "Rapid",
)  # fmt: skip
_ADJ_LUX = (
    "Sterling", "Golden", "Rose-Gold", "Diamond", "Pearl", "Vintage", "Elegant", "Royal",
    "Twisted", "Delicate", "Celestial", "Infinity", "Heirloom", "Platinum",
)  # fmt: skip

# name, catalogue share, price range (cents), stock range, adjectives, nouns
_CATEGORIES: tuple[tuple[str, float, int, int, int, int, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Electronics", 0.12, 1_500, 250_000, 5, 200, _ADJ_TECH, (
        "Headphones", "Speaker", "Monitor", "Keyboard", "Mouse", "Webcam", "Tablet", "Laptop",
        "Smartwatch", "Charger", "Router", "Earbuds", "Projector", "Camera", "Drone",
        "Soundbar", "Power Bank", "Microphone")),
    ("Clothing", 0.14, 800, 30_000, 10, 500, _ADJ_STYLE, (
        "T-Shirt", "Jeans", "Hoodie", "Jacket", "Dress", "Sweater", "Shirt", "Skirt", "Coat",
        "Chinos", "Blazer", "Cardigan", "Shorts", "Scarf", "Beanie", "Socks")),
    ("Home & Kitchen", 0.11, 500, 80_000, 10, 300, _ADJ_HOME, (
        "Frying Pan", "Saucepan", "Kettle", "Toaster", "Blender", "Knife Set", "Cutting Board",
        "Mug", "Teapot", "Lamp", "Cushion", "Blanket", "Vase", "Clock", "Coffee Maker",
        "Dinner Set")),
    ("Books", 0.10, 500, 8_000, 5, 300, _ADJ_BOOK, (
        "Atlas", "Cookbook", "Novel", "Memoir", "Guide", "Handbook", "Anthology", "Thriller",
        "Biography", "Journal", "Almanac", "Chronicle", "Poems", "Workbook", "Encyclopedia",
        "Field Notes")),
    ("Beauty", 0.07, 400, 15_000, 20, 400, _ADJ_CARE, (
        "Face Cream", "Serum", "Cleanser", "Lipstick", "Mascara", "Shampoo", "Conditioner",
        "Body Lotion", "Face Mask", "Perfume", "Toner", "Eye Cream", "Nail Polish",
        "Hair Oil", "Sunscreen", "Bath Salts")),
    ("Sports & Outdoors", 0.08, 800, 120_000, 5, 250, _ADJ_ACTIVE, (
        "Running Shoes", "Yoga Mat", "Tent", "Backpack", "Water Bottle", "Dumbbells",
        "Bicycle Helmet", "Sleeping Bag", "Trekking Poles", "Tennis Racket", "Football",
        "Fitness Tracker", "Rain Jacket", "Headlamp", "Kayak Paddle", "Jump Rope")),
    ("Toys & Games", 0.07, 500, 25_000, 10, 300, _ADJ_FUN, (
        "Puzzle", "Board Game", "Building Blocks", "Robot", "Plush Bear", "Kite",
        "Race Car", "Doll House", "Card Game", "Train Set", "Yo-Yo", "Science Kit",
        "Play Dough", "Marble Run", "Spinning Top", "Water Gun")),
    ("Grocery", 0.06, 100, 6_000, 50, 1_000, _ADJ_FOOD, (
        "Coffee Beans", "Olive Oil", "Pasta", "Granola", "Green Tea", "Chocolate Bar",
        "Almonds", "Rice", "Honey Jar", "Peanut Butter", "Oat Flakes", "Hot Sauce",
        "Crackers", "Maple Syrup", "Sea Salt", "Dried Mango")),
    ("Health", 0.05, 300, 12_000, 20, 500, _ADJ_CARE, (
        "Multivitamin", "Protein Powder", "Fish Oil", "Thermometer", "First Aid Kit",
        "Heating Pad", "Massage Gun", "Pill Organizer", "Hand Sanitizer", "Blood Pressure Cuff",
        "Probiotic", "Electrolyte Mix", "Sleep Aid", "Knee Brace")),
    ("Automotive", 0.04, 500, 60_000, 5, 150, _ADJ_TOOL, (
        "Car Charger", "Dash Cam", "Tire Inflator", "Jump Starter", "Seat Cover",
        "Floor Mats", "Wiper Blades", "Phone Mount", "Car Wax", "Tool Kit", "Roof Box",
        "Parking Sensor", "Steering Wheel Cover", "Air Freshener")),
    ("Garden", 0.04, 500, 90_000, 5, 200, _ADJ_TOOL, (
        "Garden Hose", "Pruning Shears", "Lawn Mower", "Planter", "Watering Can",
        "Leaf Blower", "Garden Gloves", "Seed Kit", "Compost Bin", "Bird Feeder",
        "Hedge Trimmer", "Patio Heater", "Wheelbarrow", "Sprinkler")),
    ("Office Supplies", 0.04, 100, 40_000, 20, 800, _ADJ_TOOL, (
        "Notebook", "Gel Pen", "Desk Organizer", "Stapler", "Office Chair", "Desk Lamp",
        "Whiteboard", "Paper Shredder", "Label Maker", "File Cabinet", "Monitor Stand",
        "Sticky Notes", "Calculator", "Planner")),
    ("Pet Supplies", 0.04, 300, 20_000, 10, 400, _ADJ_FUN, (
        "Dog Bed", "Cat Tree", "Leash", "Chew Toy", "Pet Bowl", "Litter Box", "Aquarium",
        "Bird Cage", "Pet Carrier", "Grooming Brush", "Scratching Post", "Dog Collar",
        "Cat Food", "Dog Treats")),
    ("Jewelry", 0.04, 2_000, 500_000, 1, 50, _ADJ_LUX, (
        "Necklace", "Bracelet", "Ring", "Earrings", "Pendant", "Brooch", "Anklet",
        "Cufflinks", "Charm", "Locket", "Tiara", "Watch")),
)  # fmt: skip

#: category names, in the order of the catalogue
CATEGORIES: tuple[str, ...] = tuple(c[0] for c in _CATEGORIES)

# --- distributions ------------------------------------------------------------------

GENDER_SHARES = {"F": 0.49, "M": 0.48, "O": 0.03}
MIN_AGE, MAX_AGE = 18, 85
# 18 + Gamma(2.6, 6.5): median ~33, ~55% between 25 and 45, a long tail of elders
_AGE_SHAPE, _AGE_SCALE = 2.6, 6.5
ZIPF_EXPONENT = 1.1
# how often a customer orders: Pareto II (Lomax) weights, so most order rarely and a
# power-law tail orders often; alpha 1.8 gives the top 1% of customers ~17% of orders.
# The cap keeps any one account from ordering more than 50 times as often as the mean.
CUSTOMER_PARETO_ALPHA = 1.8
CUSTOMER_ACTIVITY_CAP = 50.0
YEARLY_GROWTH = 0.12
# January .. December: a slow start of the year, the Nov/Dec peak
MONTH_WEIGHTS = (0.88, 0.80, 0.90, 0.90, 0.93, 0.92, 0.95, 0.94, 0.93, 1.00, 1.35, 1.55)
# Monday .. Sunday
WEEKDAY_WEIGHTS = (1.05, 1.00, 0.98, 0.97, 0.95, 0.92, 1.08)
# hour 0 .. 23 UTC: a night trough, a lunch bump and an evening peak
HOUR_WEIGHTS = (
    1.2, 0.7, 0.45, 0.35, 0.3, 0.4, 0.8, 1.5, 2.3, 3.0, 3.5, 3.9,
    4.5, 4.3, 3.9, 3.8, 3.9, 4.1, 4.6, 5.3, 5.8, 5.4, 4.0, 2.4,
)  # fmt: skip
BLACK_FRIDAY_FACTOR, CYBER_MONDAY_FACTOR, CHRISTMAS_DAY_FACTOR = 2.5, 2.0, 0.6
MAX_QUANTITY = 10
# P(quantity = q) proportional to q ** -2.5: about 76% buy one unit
_QUANTITY_P = np.arange(1, MAX_QUANTITY + 1, dtype=np.float64) ** -2.5
# upper ages of the bands 18-24 .. 55-64 (65+ is the rest), as in tables.dimensions
_BAND_UPPER = np.array([24, 34, 44, 54, 64])
# per age band: credit card, debit card, digital wallet, cash on delivery, bank transfer
PAYMENT_BY_AGE_BAND = (
    (0.20, 0.25, 0.45, 0.05, 0.05),
    (0.30, 0.25, 0.35, 0.05, 0.05),
    (0.38, 0.27, 0.22, 0.07, 0.06),
    (0.40, 0.27, 0.13, 0.11, 0.09),
    (0.36, 0.24, 0.07, 0.17, 0.16),
    (0.28, 0.18, 0.04, 0.26, 0.24),
)
STOCK_BATCH_HOUR = 5
STOCK_BATCH_SHARE = 0.02
OUT_OF_STOCK_SHARE = 0.03

# --- files and dirt -----------------------------------------------------------------

FORMATS = ("jsonl", "csv", "parquet")
CHUNK_ROWS = 1_000_000
#: bytes on disk per order and per daily file, fitted on 2M and 48M orders over two
#: years (Parquet: 41.7 MB and 883 MB in 731 files); ``size`` uses them
BYTES_PER_ORDER = {"jsonl": 153.0, "csv": 50.5, "parquet": 18.5}
BYTES_PER_FILE = {"jsonl": 0.0, "csv": 100.0, "parquet": 6_500.0}

CUSTOMER_DIRT = ("missing_name", "invalid_email", "invalid_age", "empty_location", "missing_gender")
PRODUCT_DIRT = ("negative_price", "negative_stock")
STOCK_UPDATE_DIRT = ("negative_stock",)
ORDER_FIELD_DIRT = ("negative_quantity", "negative_amount", "missing_payment_method")
ORDER_WIRE_DIRT = (
    "truncated_json",
    "wrong_type:quantity",
    "unknown_field:coupon",
    "oversized:transaction_date",
    "non_utf8",
)

CUSTOMER_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("name", pa.string()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("age", pa.int32()),
        ("gender", pa.string()),
        ("location", pa.string()),
    ]
)
PRODUCT_SCHEMA = pa.schema(
    [
        ("product_id", pa.int64()),
        ("product_name", pa.string()),
        ("category", pa.string()),
        ("price", pa.int64()),
        ("stock_quantity", pa.int32()),
    ]
)
ORDER_SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("product_id", pa.int64()),
        ("quantity", pa.int32()),
        ("total_amount", pa.int64()),
        ("transaction_date", pa.string()),
        ("payment_method", pa.int32()),
    ]
)
STOCK_UPDATE_SCHEMA = pa.schema(
    [
        ("product_id", pa.int64()),
        ("stock_quantity", pa.int32()),
        ("updated_at", pa.string()),
    ]
)

_STREAMS = {
    "customers": 1,
    "products": 2,
    "popularity": 3,
    "orders": 4,
    "stock-updates": 5,
    "dirt": 6,
    "live": 7,
}


def rng_for(seed: int, stream: str, *index: int) -> np.random.Generator:
    """Return the independent random sub-stream ``stream`` (and ``index``) of ``seed``.

    Each part of the data has its own stream, so adding rows to one part does not
    change another.
    """
    sequence = np.random.SeedSequence(seed, spawn_key=(_STREAMS[stream], *index))
    return np.random.Generator(np.random.PCG64(sequence))


# --- text helpers -------------------------------------------------------------------


def _roman(number: int) -> str:
    numerals = (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    )  # fmt: skip
    out = []
    for value, letters in numerals:
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


def _suffixes(generation: np.ndarray) -> pa.Array:
    """Return ``""`` for generation 0 and `` II``, `` III`` ... for the later ones."""
    top = int(generation.max(initial=0))
    pool = pa.array([""] + [f" {_roman(g + 1)}" for g in range(1, top + 1)])
    return pc.take(pool, pa.array(generation))


def _unique_draws(rng: np.random.Generator, n: int, capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` distinct combination numbers below ``capacity``, reused by generation.

    Returns:
        ``(combination, generation)``: generation 0 until the ``capacity`` combinations
        are used up, then 1, 2, ... so that (combination, generation) is unique.
    """
    rounds = max(1, math.ceil(n / capacity))
    k = rng.choice(capacity * rounds, size=n, replace=False)
    return k % capacity, k // capacity


def _join(*pieces: Any) -> pa.Array:
    return pc.binary_join_element_wise(*pieces, "")


def _take(pool: Sequence[str], index: np.ndarray) -> pa.Array:
    return pc.take(pa.array(pool, pa.string()), pa.array(index))


# --- the shop -----------------------------------------------------------------------


def _customers(rng: np.random.Generator, n: int) -> pa.Table:
    ids = np.arange(1, n + 1, dtype=np.int64)
    genders = np.array(list(GENDER_SHARES))
    gender = rng.choice(len(genders), size=n, p=list(GENDER_SHARES.values()))
    ages = np.minimum(MAX_AGE, MIN_AGE + np.floor(rng.gamma(_AGE_SHAPE, _AGE_SCALE, n)))

    first_pool = _FIRST_F + _FIRST_M + _FIRST_O
    offsets = {0: 0, 1: len(_FIRST_F), 2: len(_FIRST_F) + len(_FIRST_M)}
    sizes = {0: len(_FIRST_F), 1: len(_FIRST_M), 2: len(_FIRST_O)}
    first = np.empty(n, np.int64)
    initial = np.empty(n, np.int64)
    last = np.empty(n, np.int64)
    generation = np.empty(n, np.int64)
    per_first = 26 * len(_LAST)
    for g in range(len(genders)):
        rows = np.flatnonzero(gender == g)
        combo, gen = _unique_draws(rng, len(rows), sizes[g] * per_first)
        first[rows] = offsets[g] + combo // per_first
        initial[rows] = (combo // len(_LAST)) % 26
        last[rows] = combo % len(_LAST)
        generation[rows] = gen
    first_text = _take(first_pool, first)
    last_text = _take(_LAST, last)
    letters = [chr(ord("A") + i) for i in range(26)]
    name = _join(first_text, " ", _take(letters, initial), ". ", last_text, _suffixes(generation))

    domain_names = [d for d, _ in _DOMAINS]
    domain_p = np.array([w for _, w in _DOMAINS], dtype=np.float64)
    domain = rng.choice(len(domain_names), size=n, p=domain_p / domain_p.sum())
    local = _join(
        pc.utf8_lower(first_text),
        ".",
        pc.utf8_lower(pc.replace_substring(last_text, " ", "")),
        pc.cast(pa.array(ids), pa.string()),
    )
    email = _join(local, "@", _take(domain_names, domain))

    city_p = np.array([c[2] for c in _CITIES])
    city = rng.choice(len(_CITIES), size=n, p=city_p / city_p.sum())
    location = _take([f"{c[0]}, {c[1]}" for c in _CITIES], city)
    calling = _take([f"+{c[3]} " for c in _CITIES], city)
    # national numbers: 10 digits in the North American plan (+1), 9 elsewhere
    digits = np.array([10 if c[3] == 1 else 9 for c in _CITIES])[city]
    number = rng.integers(2 * 10 ** (digits - 1), 10**digits, dtype=np.int64)
    phone = _join(calling, pc.cast(pa.array(number), pa.string()))

    return pa.Table.from_arrays(
        [
            pa.array(ids),
            name,
            email,
            phone,
            pa.array(ages.astype(np.int32)),
            _take(list(genders), gender),
            location,
        ],
        schema=CUSTOMER_SCHEMA,
    )


@dataclass(frozen=True)
class _Catalogue:
    table: pa.Table
    stock_low: np.ndarray
    stock_high: np.ndarray


def _products(rng: np.random.Generator, n: int) -> _Catalogue:
    shares = np.array([c[1] for c in _CATEGORIES])
    category = rng.choice(len(_CATEGORIES), size=n, p=shares / shares.sum())
    texts: list[pa.Array] = []
    members: list[np.ndarray] = []
    price = np.empty(n, np.int64)
    stock = np.empty(n, np.int64)
    low = np.empty(n, np.int64)
    high = np.empty(n, np.int64)
    for c, (_, _, p_lo, p_hi, s_lo, s_hi, adjectives, nouns) in enumerate(_CATEGORIES):
        rows = np.flatnonzero(category == c)
        if not len(rows):
            continue
        combo, gen = _unique_draws(rng, len(rows), len(adjectives) * len(nouns))
        text = _join(
            _take(adjectives, combo // len(nouns)),
            " ",
            _take(nouns, combo % len(nouns)),
            _suffixes(gen),
        )
        texts.append(text)
        members.append(rows)
        # lognormal around the geometric middle of the range, +-2.5 sigma inside it
        mu = (math.log(p_lo) + math.log(p_hi)) / 2
        sigma = (math.log(p_hi) - math.log(p_lo)) / 5
        raw = rng.lognormal(mu, sigma, len(rows))
        charm = np.floor(raw / 100) * 100 + 99  # most prices end in .99
        price[rows] = np.clip(charm, p_lo, p_hi).astype(np.int64)
        stock[rows] = rng.integers(s_lo, s_hi + 1, len(rows))
        low[rows], high[rows] = s_lo, s_hi
    stock[rng.random(n) < OUT_OF_STOCK_SHARE] = 0
    table = pa.Table.from_arrays(
        [
            pa.array(np.arange(1, n + 1, dtype=np.int64)),
            pc.take(pa.concat_arrays(texts), pa.array(np.argsort(np.concatenate(members)))),
            _take(CATEGORIES, category),
            pa.array(price),
            pa.array(stock.astype(np.int32)),
        ],
        schema=PRODUCT_SCHEMA,
    )
    return _Catalogue(table, low, high)


class Categorical:
    """Draws from a fixed discrete distribution in O(1) per draw (Walker's alias method).

    A binary search of a cumulative table jumps around memory for every draw; the
    alias table needs one lookup and one comparison, which matters at millions of
    draws over a hundred thousand customers.
    """

    def __init__(self, weights: np.ndarray) -> None:
        """Build the alias table of non-negative ``weights`` (not all zero)."""
        weights = np.asarray(weights, dtype=np.float64)
        if not (weights >= 0).all() or not weights.sum() > 0:
            raise ValueError("weights must be non-negative and not all zero")
        k = len(weights)
        scaled = (weights * (k / weights.sum())).tolist()
        alias = list(range(k))
        small = [i for i, x in enumerate(scaled) if x < 1.0]
        large = [i for i, x in enumerate(scaled) if x >= 1.0]
        while small and large:
            s, big = small.pop(), large[-1]
            alias[s] = big
            scaled[big] -= 1.0 - scaled[s]
            if scaled[big] < 1.0:
                small.append(large.pop())
        for i in small + large:  # left over only by rounding: they keep themselves
            scaled[i] = 1.0
        self.size = k
        self._threshold = np.array(scaled)
        self._alias = np.array(alias, dtype=np.int64)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` indices (int64) drawn from the distribution."""
        u = rng.random(n) * self.size
        column = np.minimum(u.astype(np.int64), self.size - 1)
        return np.where(u - column < self._threshold[column], column, self._alias[column])


_PAYMENT_CDF = np.cumsum(np.array(PAYMENT_BY_AGE_BAND), axis=1)
_PAYMENT_CDF /= _PAYMENT_CDF[:, -1:]
# band b's cdf shifted by b: one searchsorted draws every row from its own band
_PAYMENT_FLAT = (_PAYMENT_CDF + np.arange(len(PAYMENT_BY_AGE_BAND))[:, None]).ravel()
_QUANTITY = Categorical(_QUANTITY_P)
_HOUR = Categorical(np.array(HOUR_WEIGHTS))


class Shop:
    """The clean reference data of one seed, and the models orders are drawn from.

    Attributes:
        customers: The customers table (``CUSTOMER_SCHEMA``), ids 1..n.
        products: The products table (``PRODUCT_SCHEMA``), ids 1..n.
    """

    def __init__(self, seed: int, customers: int, products: int) -> None:
        """Build the shop.

        Args:
            seed: The seed of every random stream.
            customers: How many customers, at least 1.
            products: How many products, at least 1.
        """
        if seed < 0:
            raise ValueError(f"seed must be 0 or more, got {seed}")
        if customers < 1 or products < 1:
            raise ValueError("a shop needs at least one customer and one product")
        self.seed = seed
        self.customers = _customers(rng_for(seed, "customers"), customers)
        catalogue = _products(rng_for(seed, "products"), products)
        self.products = catalogue.table
        self._stock_low, self._stock_high = catalogue.stock_low, catalogue.stock_high
        self._price = self.products.column("price").to_numpy()
        ages = self.customers.column("age").to_numpy()
        self._band = np.searchsorted(_BAND_UPPER, ages, side="left").astype(np.int64)

        rng = rng_for(seed, "popularity")
        # Zipf over a random ranking of the products: rank r sells ~ r ** -1.1
        rank = rng.permutation(products)
        popularity = np.empty(products)
        popularity[rank] = np.arange(1, products + 1, dtype=np.float64) ** -ZIPF_EXPONENT
        self._product = Categorical(popularity)
        activity = rng.pareto(CUSTOMER_PARETO_ALPHA, customers)
        activity = np.minimum(activity, CUSTOMER_ACTIVITY_CAP * activity.mean())
        if not activity.any():  # a one-customer shop drew 0.0: anyone must order
            activity[:] = 1.0
        self._customer = Categorical(activity)

    def sample_orders(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """Draw ``n`` orders without ids and timestamps.

        Returns:
            Columns ``customer_id``, ``product_id``, ``quantity``, ``total_amount``
            (cents) and ``payment_method``, as numpy arrays.
        """
        customer = self._customer.draw(rng, n)
        product = self._product.draw(rng, n)
        quantity = _QUANTITY.draw(rng, n) + 1
        band = self._band[customer]
        flat = np.searchsorted(_PAYMENT_FLAT, band + rng.random(n), side="right")
        method = np.clip(flat - band * _PAYMENT_CDF.shape[1], 0, _PAYMENT_CDF.shape[1] - 1) + 1
        return {
            "customer_id": customer + 1,
            "product_id": product + 1,
            "quantity": quantity.astype(np.int32),
            "total_amount": self._price[product] * quantity,
            "payment_method": method.astype(np.int32),
        }

    def sample_stock_levels(
        self, rng: np.random.Generator, n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw a recount of ``n`` distinct products (fewer if the shop has fewer).

        Returns:
            ``(product_ids, stock_levels)``, ids ascending; levels within each
            product's category range, some zero.
        """
        n = min(n, len(self._price))
        rows = np.sort(rng.choice(len(self._price), size=n, replace=False))
        levels = rng.integers(self._stock_low[rows], self._stock_high[rows] + 1)
        levels[rng.random(n) < OUT_OF_STOCK_SHARE] = 0
        return rows + 1, levels.astype(np.int32)


# --- time ---------------------------------------------------------------------------

_EPOCH = date(1970, 1, 1)
_DATE_BYTES = np.dtype((np.void, 11))
_TIME_BYTES = np.dtype((np.void, 9))
# "HH:MM:SSZ" of every second of a day, indexed by second of day
_CLOCK = np.frombuffer(
    "".join(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86_400)).encode(),
    dtype=_TIME_BYTES,
)


def date_range(
    start: date | None = None, end: date | None = None, today: date | None = None
) -> tuple[date, date]:
    """Return the first and last day (both included) of the orders.

    Args:
        start: The first day; default: the same day 24 months before ``today``.
        end: The last day; default: the day before ``today``.
        today: "Today" for the defaults; default: the UTC date of the clock.

    Raises:
        ValueError: ``start`` is after ``end`` or before 2000-01-01.
    """
    if today is None:
        today = datetime.now(UTC).date()
    if end is None:
        end = today - timedelta(days=1)
    if start is None:
        start = _months_before(today, 24)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    if start < date(2000, 1, 1):
        raise ValueError(f"start {start} is before 2000-01-01, which the validator rejects")
    return start, end


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _day_numbers(start: date, end: date) -> np.ndarray:
    return np.arange((start - _EPOCH).days, (end - _EPOCH).days + 1, dtype=np.int64)


def day_weights(days: np.ndarray) -> np.ndarray:
    """Return the relative order volume of each day (days since 1970-01-01).

    Month of year, day of week, yearly growth, and the Black Friday, Cyber Monday
    and Christmas Day effects multiply.
    """
    as_dates = days.astype("datetime64[D]")
    month = as_dates.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    years = (days - days[0]) / 365.25
    weights = (
        np.array(MONTH_WEIGHTS)[month]
        * np.array(WEEKDAY_WEIGHTS)[weekday]
        * (1 + YEARLY_GROWTH) ** years
    )
    first_year = int(as_dates[0].astype("datetime64[Y]").astype(np.int64)) + 1970
    last_year = int(as_dates[-1].astype("datetime64[Y]").astype(np.int64)) + 1970
    for year in range(first_year, last_year + 1):
        november = date(year, 11, 1)
        thanksgiving = november + timedelta(days=(3 - november.weekday()) % 7 + 21)
        for day, factor in (
            (thanksgiving + timedelta(days=1), BLACK_FRIDAY_FACTOR),
            (thanksgiving + timedelta(days=4), CYBER_MONDAY_FACTOR),
            (date(year, 12, 25), CHRISTMAS_DAY_FACTOR),
        ):
            weights[days == (day - _EPOCH).days] *= factor
    return weights


def _timestamps(days: np.ndarray, seconds: np.ndarray) -> pa.Array:
    """Format day numbers and seconds of day as ``YYYY-MM-DDTHH:MM:SSZ``, vectorised.

    Every timestamp is exactly 20 bytes, so the Arrow string array is built from
    fixed-width records: an 11-byte date looked up per day and a 9-byte time
    looked up per second of day.
    """
    n = len(days)
    first = int(days.min(initial=0))
    span = int(days.max(initial=0)) - first + 1
    prefixes = np.datetime_as_string(np.arange(first, first + span).astype("datetime64[D]"))
    dates = np.frombuffer("".join(f"{p}T" for p in prefixes).encode(), _DATE_BYTES)
    text = np.empty(n, dtype=[("date", _DATE_BYTES), ("time", _TIME_BYTES)])
    text["date"] = dates[days - first]
    text["time"] = _CLOCK[seconds]
    offsets = np.arange(0, 20 * (n + 1), 20, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(text.view(np.uint8))]
    )


# --- dirt ---------------------------------------------------------------------------


def _dirt_plan(
    rng: np.random.Generator, n: int, rate: float, kinds: Sequence[str]
) -> dict[str, np.ndarray]:
    """Choose ``round(rate * n)`` distinct rows and spread ``kinds`` evenly over them."""
    k = min(n, round(rate * n))
    if k == 0 or not kinds:
        return {}
    rows = rng.choice(n, size=k, replace=False)
    kind = rng.permutation(np.arange(k) % len(kinds))
    return {name: np.sort(rows[kind == i]) for i, name in enumerate(kinds)}


def _mask(n: int, rows: np.ndarray) -> pa.Array:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pa.array(mask)


def _with_column(table: pa.Table, name: str, column: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


def _dirty_customers(table: pa.Table, plan: dict[str, np.ndarray]) -> pa.Table:
    n = table.num_rows
    for kind, rows in plan.items():
        mask = _mask(n, rows)
        if kind == "missing_name":
            col = pc.if_else(mask, pa.scalar(None, pa.string()), table.column("name"))
            table = _with_column(table, "name", col)
        elif kind == "invalid_email":
            email = table.column("email")
            broken = pc.replace_substring(email, "@", " at ")
            table = _with_column(table, "email", pc.if_else(mask, broken, email))
        elif kind == "invalid_age":
            col = pc.if_else(mask, pa.scalar(-1, pa.int32()), table.column("age"))
            table = _with_column(table, "age", col)
        elif kind == "empty_location":
            table = _with_column(table, "location", pc.if_else(mask, "", table.column("location")))
        elif kind == "missing_gender":
            col = pc.if_else(mask, pa.scalar(None, pa.string()), table.column("gender"))
            table = _with_column(table, "gender", col)
    return table


def _negate(table: pa.Table, name: str, rows: np.ndarray) -> pa.Table:
    values = table.column(name).to_numpy().copy()
    values[rows] = -values[rows] - (values[rows] == 0)  # -0 is not negative
    return _with_column(table, name, pa.array(values, table.schema.field(name).type))


def _dirty_numbers(table: pa.Table, plan: dict[str, np.ndarray]) -> pa.Table:
    columns = {
        "negative_price": "price",
        "negative_stock": "stock_quantity",
        "negative_quantity": "quantity",
        "negative_amount": "total_amount",
    }
    for kind, rows in plan.items():
        if kind in columns:
            table = _negate(table, columns[kind], rows)
        elif kind == "missing_payment_method":
            mask = _mask(table.num_rows, rows)
            col = pc.if_else(mask, pa.scalar(None, pa.int32()), table.column("payment_method"))
            table = _with_column(table, "payment_method", col)
    return table


def _garbage(kind: str, line: bytes, rng: np.random.Generator, i: int) -> bytes:
    """Return wire-level garbage of ``kind`` made from the clean JSON ``line``."""
    body = line.rstrip(b"\n")
    if kind == "truncated_json":
        return body[: int(rng.integers(1, len(body) - 1))] + b"\n"
    if kind == "non_utf8":
        return body.replace(b'"transaction_date":"', b'"transaction_date":"\xff\xfe', 1) + b"\n"
    obj = orjson.loads(body)
    if kind == "wrong_type:quantity":
        obj["quantity"] = (str(obj["quantity"]), obj["quantity"] + 0.5, True)[i % 3]
    elif kind == "unknown_field:coupon":
        obj["coupon"] = "SAVE10"
    elif kind == "oversized:transaction_date":
        obj["transaction_date"] = obj["transaction_date"] + "/" + "9" * 300
    else:
        raise ValueError(f"unknown wire dirt {kind!r}")
    return orjson.dumps(obj) + b"\n"


# --- writing ------------------------------------------------------------------------


def json_lines(table: pa.Table, newline: bool = True) -> pa.Array:
    r"""Return each row of ``table`` as one compact JSON object, vectorised.

    The lines are byte-identical to ``orjson.dumps`` of the record (plus ``\n``
    when ``newline``): fields in schema order, no spaces, ``null`` for nulls.
    Strings escape ``"`` and ``\``; the generator's text never holds control
    characters.
    """
    pieces: list[Any] = []
    for i, field in enumerate(table.schema):
        column = table.column(i).combine_chunks() if table.num_rows else table.column(i)
        if pa.types.is_string(field.type):
            escaped = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"), '"', '\\"')
            text = _join('"', escaped, '"')
        else:
            text = pc.cast(column, pa.string())
        if column.null_count:
            text = pc.fill_null(text, "null")
        pieces += [("{" if i == 0 else ",") + f'"{field.name}":', text]
    pieces.append("}\n" if newline else "}")
    return _join(*pieces)


def _payload(lines: pa.Array) -> memoryview:
    """Return the concatenated bytes of a (possibly sliced) string or binary array."""
    if len(lines) == 0:
        return memoryview(b"")
    _, offsets_buf, data = lines.buffers()
    first = lines.offset
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[first : first + len(lines) + 1]
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


_DICTIONARY_COLUMNS = ["gender", "location", "category", "quantity", "payment_method"]


def _write(table: pa.Table, path: Path, fmt: str, lines: pa.Array | None = None) -> int:
    """Write ``table`` (or its ready JSON ``lines``) to ``path``; return the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        # dictionaries only where values repeat: elsewhere they cost time and bytes
        pq.write_table(table, path, compression="snappy", use_dictionary=_DICTIONARY_COLUMNS)
    elif fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        with path.open("wb") as out:
            out.write(_payload(json_lines(table) if lines is None else lines))
    return path.stat().st_size


# --- sizes --------------------------------------------------------------------------

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str) -> int:
    """Return the bytes of a size such as ``"5GB"``, ``"500MB"``, ``"1.5GiB"`` or ``"1000"``.

    ``KB``/``MB``/``GB``/``TB`` are powers of 1000, ``KiB``/``MiB``/``GiB``/``TiB``
    powers of 1024; the ``B`` may be left out.

    Raises:
        ValueError: The text is not such a size, or it is zero.
    """
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a size like 5GB, 500MB or 1.5GiB")
    number, unit = float(match.group(1)), match.group(2).lower()
    prefix = unit[:1] if unit[:1] in "kmgt" and unit else ""
    scale = _UNITS[prefix]
    if "i" in unit:
        if not prefix:
            raise ValueError(f"{text!r} is not a size like 5GB, 500MB or 1.5GiB")
        scale = 1024 ** ("kmgt".index(prefix) + 1)
    size = int(number * scale)
    if size <= 0:
        raise ValueError(f"{text!r} is not a positive size")
    return size


def orders_for_size(size: str | int, fmt: str, days: int = 1) -> int:
    """Return how many orders make about ``size`` bytes of order files in ``fmt``.

    Args:
        size: Bytes, or text such as ``"5GB"`` (:func:`parse_size`).
        fmt: ``jsonl``, ``csv`` or ``parquet``.
        days: Days of orders, one file each: every file has a fixed overhead.
    """
    total = parse_size(size) if isinstance(size, str) else int(size)
    return max(1, round((total - days * BYTES_PER_FILE[fmt]) / BYTES_PER_ORDER[fmt]))


# --- generate -----------------------------------------------------------------------


def _order_lines(
    table: pa.Table, plan: dict[str, np.ndarray], rng: np.random.Generator
) -> pa.Array:
    """Return the JSON lines of an order chunk with the wire-level dirt of ``plan`` in."""
    lines = pc.cast(json_lines(table), pa.binary())
    wire = {kind: plan[kind] for kind in ORDER_WIRE_DIRT if kind in plan}
    if not wire:
        return lines
    rows = np.concatenate(list(wire.values()))
    garbage = [
        _garbage(kind, lines[int(row)].as_py(), rng, int(row))
        for kind, kind_rows in wire.items()
        for row in kind_rows
    ]
    in_row_order = [garbage[i] for i in np.argsort(rows)]
    return pc.replace_with_mask(lines, _mask(len(lines), rows), pa.array(in_row_order, pa.binary()))


@dataclass(frozen=True)
class _Piece:
    """The orders of one day, or of one part of a day bigger than a chunk."""

    day: int
    part: int
    rows: int


def _pieces(days: np.ndarray, counts: np.ndarray, chunk_rows: int) -> Iterator[list[_Piece]]:
    """Group the days into chunks of at most ``chunk_rows`` orders, splitting big days."""
    chunk: list[_Piece] = []
    size = 0
    for day, count in zip(days.tolist(), counts.tolist(), strict=True):
        for part, start in enumerate(range(0, count, chunk_rows)):
            rows = min(chunk_rows, count - start)
            if size + rows > chunk_rows and chunk:
                yield chunk
                chunk, size = [], 0
            chunk.append(_Piece(day, part, rows))
            size += rows
    if chunk:
        yield chunk


def _order_chunk(
    shop: Shop, rng: np.random.Generator, pieces: list[_Piece], first_id: int
) -> pa.Table:
    rows = np.array([p.rows for p in pieces])
    n = int(rows.sum())
    piece_of_row = np.repeat(np.arange(len(pieces)), rows)
    hour = _HOUR.draw(rng, n)
    second = hour * 3600 + rng.integers(0, 3600, n)
    # sorting by (piece, second) orders every file by time; ids then ascend with time
    key_type = np.int32 if len(pieces) < 2**31 // 86_400 else np.int64  # int32 sorts faster
    base = piece_of_row.astype(key_type) * 86_400
    second = np.sort(base + second.astype(key_type)) - base
    day = np.array([p.day for p in pieces], dtype=np.int64)[piece_of_row]
    drawn = shop.sample_orders(rng, n)
    return pa.Table.from_arrays(
        [
            pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
            pa.array(drawn["customer_id"]),
            pa.array(drawn["product_id"]),
            pa.array(drawn["quantity"]),
            pa.array(drawn["total_amount"]),
            _timestamps(day, second),
            pa.array(drawn["payment_method"]),
        ],
        schema=ORDER_SCHEMA,
    )


def stock_updates(shop: Shop, start: date, end: date) -> pa.Table:
    """Return the daily stock recounts between ``start`` and ``end`` (both included).

    One batch a day at 05:00 UTC re-counts ~2% of the products (at least one);
    the rows of a batch are one second apart, in product order.
    """
    rng = rng_for(shop.seed, "stock-updates")
    per_batch = max(1, round(shop.products.num_rows * STOCK_BATCH_SHARE))
    ids, levels, days, seconds = [], [], [], []
    for day in _day_numbers(start, end).tolist():
        product, level = shop.sample_stock_levels(rng, per_batch)
        ids.append(product)
        levels.append(level)
        days.append(np.full(len(product), day, dtype=np.int64))
        seconds.append(STOCK_BATCH_HOUR * 3600 + np.arange(len(product)))
    return pa.Table.from_arrays(
        [
            pa.array(np.concatenate(ids).astype(np.int64)),
            pa.array(np.concatenate(levels)),
            _timestamps(np.concatenate(days), np.concatenate(seconds)),
        ],
        schema=STOCK_UPDATE_SCHEMA,
    )


def _progress() -> Progress:
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def _clear_previous(out: Path) -> None:
    """Remove the files a previous run listed in its manifest, so runs do not mix."""
    manifest = out / "manifest.json"
    if manifest.exists():
        root = out.resolve()
        for name in orjson.loads(manifest.read_bytes()).get("files", {}):
            path = (out / name).resolve()
            if path.is_relative_to(root):  # a hand-edited manifest deletes nothing outside
                path.unlink(missing_ok=True)
        manifest.unlink()
        orders = out / "orders"
        if orders.is_dir():
            for folder in orders.iterdir():
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    orders = out / "orders"
    if orders.is_dir() and any(orders.iterdir()):
        raise FileExistsError(f"{orders} holds files no manifest lists; choose an empty --out")


def generate(
    seed: int,
    customers: int,
    products: int,
    orders: int | None,
    out_dir: str | Path,
    fmt: str = "jsonl",
    dirty_rate: float = 0.0,
    start: date | None = None,
    end: date | None = None,
    size: str | int | None = None,
    *,
    today: date | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate a shop's data into ``out_dir`` and return its manifest.

    Args:
        seed: Seed of every random stream; same seed and arguments, same bytes.
        customers: How many customers.
        products: How many products.
        orders: How many orders; ``None`` when ``size`` chooses.
        out_dir: Where to write; the files a previous run's manifest lists are replaced.
        fmt: ``jsonl``, ``csv`` or ``parquet``.
        dirty_rate: Fraction of the rows of every file made dirty, 0 to 1.
        start: First order day (default: 24 months before ``today``).
        end: Last order day, included (default: yesterday).
        size: Bytes of order files wanted, e.g. ``"5GB"``; overrides ``orders``.
        today: "Today" for the default range (default: the clock's UTC date).
        chunk_rows: Orders drawn per chunk; at most two chunks are in memory at once.
        progress: Show a progress bar (only ever on a terminal).

    Returns:
        The manifest also written to ``out_dir/manifest.json``.

    Raises:
        ValueError: An argument is out of range.
        FileExistsError: ``out_dir/orders`` holds files of unknown origin.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if not 0.0 <= dirty_rate <= 1.0:
        raise ValueError(f"dirty rate {dirty_rate} is not between 0 and 1")
    start, end = date_range(start, end, today)
    if size is not None:
        orders = orders_for_size(size, fmt, (end - start).days + 1)
    if orders is None or orders < 0:
        raise ValueError(f"orders must be 0 or more, got {orders}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    ext = fmt
    shop = Shop(seed, customers, products)
    files: dict[str, dict[str, int]] = {}
    dirt: dict[str, dict[str, int]] = {}

    def record(name: str, rows: int, size_bytes: int) -> None:
        files[name] = {"rows": rows, "bytes": size_bytes}

    reference = (
        ("customers", shop.customers, CUSTOMER_DIRT, _dirty_customers),
        ("products", shop.products, PRODUCT_DIRT, _dirty_numbers),
        ("stock-updates", stock_updates(shop, start, end), STOCK_UPDATE_DIRT, _dirty_numbers),
    )
    for index, (name, table, kinds, spoil) in enumerate(reference):
        plan = _dirt_plan(rng_for(seed, "dirt", index), table.num_rows, dirty_rate, kinds)
        dirt[name] = {kind: len(plan.get(kind, ())) for kind in kinds}
        table = spoil(table, plan)
        record(f"{name}.{ext}", table.num_rows, _write(table, out / f"{name}.{ext}", fmt))

    days = _day_numbers(start, end)
    weights = day_weights(days)
    counts = rng_for(seed, "orders").multinomial(orders, weights / weights.sum())
    order_kinds = ORDER_FIELD_DIRT + (ORDER_WIRE_DIRT if fmt == "jsonl" else ())
    dirt["orders"] = dict.fromkeys(order_kinds, 0)
    next_id = 1
    # a writer thread encodes and writes one chunk while the next is drawn; pyarrow
    # releases the GIL, and at most two chunks are in memory at once
    pending: list[tuple[str, int, Future[int]]] = []

    def settle(bar: Progress, task: TaskID) -> None:
        for name, rows, written in pending:
            record(name, rows, written.result())
            bar.advance(task, rows)
        pending.clear()

    with _progress() as bar, ThreadPoolExecutor(2, thread_name_prefix="generate") as pool:
        task = bar.add_task(f"orders -> {fmt}", total=orders, visible=progress)
        for index, pieces in enumerate(_pieces(days, counts, chunk_rows)):
            rng = rng_for(seed, "orders", index + 1)
            table = _order_chunk(shop, rng, pieces, next_id)
            n = table.num_rows
            plan = _dirt_plan(rng, n, dirty_rate, order_kinds)
            for kind, rows in plan.items():
                dirt["orders"][kind] += len(rows)
            table = _dirty_numbers(table, plan)
            lines = _order_lines(table, plan, rng) if fmt == "jsonl" else None
            settle(bar, task)
            offset = 0
            for piece in pieces:
                day_text = str(np.datetime64(piece.day, "D"))
                name = f"orders/date={day_text}/part-{piece.part:05d}.{ext}"
                part = table.slice(offset, piece.rows)
                part_lines = None if lines is None else lines.slice(offset, piece.rows)
                written = pool.submit(_write, part, out / name, fmt, part_lines)
                pending.append((name, piece.rows, written))
                offset += piece.rows
            next_id += n
        settle(bar, task)

    manifest: dict[str, Any] = {
        "generator": "streamproc.generator",
        "seed": seed,
        "arguments": {
            "customers": customers,
            "products": products,
            "orders": orders,
            "format": fmt,
            "dirty_rate": dirty_rate,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "size": size,
            "chunk_rows": chunk_rows,
        },
        "counts": {
            "customers": shop.customers.num_rows,
            "products": shop.products.num_rows,
            "stock-updates": files[f"stock-updates.{ext}"]["rows"],
            "orders": orders,
        },
        "wire_garbage": fmt == "jsonl",
        "dirt": dirt,
        "dirty": {name: sum(kinds.values()) for name, kinds in dirt.items()},
        "files": files,
    }
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return manifest
