"""The synthetic shop's population: its customers, products and countries, the same every day.

Shaped like the UCI Online Retail data (baskets of ~15 lines, a quarter of the lines without a customer, a few
wholesale buyers, heavy-tailed product popularity) with customers of four known types, whose truth table lets
segmentation be checked against ground truth. A pure function of the arguments (`build_population`), drawn from
its own random stream, so a day's file never depends on which range of days a run asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from daybreak.ingest.simulation.seasonality import EPOCH


@dataclass(frozen=True)
class _CustomerType:
    name: str
    share: float  # of customers
    orders_per_year: float  # mean for the type; individuals vary heavy-tailed around it
    mean_lines: float  # mean basket size (lines per order)
    quantity_profile: int  # row of QUANTITY_PROBS
    price_exponent: float  # product weight *= price ** -exponent: > 0 prefers cheap products
    lapses: bool  # active only in a window after EPOCH, then gone


CUSTOMER_TYPES = (
    _CustomerType("champion", 0.05, 26.0, 22.0, 2, -0.3, False),
    _CustomerType("loyal", 0.20, 8.0, 13.0, 1, 0.0, False),
    _CustomerType("occasional", 0.55, 2.5, 6.0, 0, 1.0, False),
    _CustomerType("new_then_lapsed", 0.20, 12.0, 12.0, 1, 0.0, True),
)
ANONYMOUS_GROUP = len(CUSTOMER_TYPES)  # group index of orders without a customer
ANONYMOUS_MEAN_LINES = 26.0
ANONYMOUS_LINE_SHARE = 0.25  # of all lines
CANCELLED_INVOICE_SHARE = 0.02  # of all invoices
PARTIAL_RETURN_SHARE = 0.3  # of cancelled lines with qty > 1: only part of the quantity comes back
FREQUENCY_SIGMA = 0.4  # lognormal spread of order frequency within a type
BASKET_DISPERSION = 1.5  # negative binomial shape of the basket size: smaller = heavier tail
BULK_QTY = 24  # lines of at least this quantity get the bulk price
BULK_DISCOUNT = 0.85

# quantity packs and their probabilities per profile (0 small, 1 medium, 2 wholesale)
QUANTITY_PACKS = np.array([1, 2, 3, 4, 6, 8, 10, 12, 24, 48, 96])
QUANTITY_PROBS = np.array(
    [
        [0.42, 0.22, 0.10, 0.08, 0.07, 0.03, 0.03, 0.04, 0.01, 0.00, 0.00],
        [0.25, 0.15, 0.07, 0.08, 0.10, 0.05, 0.06, 0.15, 0.06, 0.02, 0.01],
        [0.05, 0.05, 0.03, 0.05, 0.10, 0.07, 0.10, 0.25, 0.17, 0.08, 0.05],
    ]
)
# the anonymous (walk-in / guest checkout) orders use the medium profile and neutral price preference
ANONYMOUS_PROFILE = 1

COUNTRIES = (
    "United Kingdom",
    "Germany",
    "France",
    "EIRE",
    "Netherlands",
    "Spain",
    "Belgium",
    "Switzerland",
    "Portugal",
    "Australia",
    "Norway",
    "Italy",
    "Channel Islands",
    "Finland",
    "Cyprus",
    "Sweden",
    "Austria",
    "Denmark",
    "Japan",
    "Poland",
)
HOME_COUNTRY_SHARE = 0.80

_ADJECTIVES = ("VINTAGE", "RETRO", "SMALL", "LARGE", "HANGING", "GLASS", "WOODEN", "ENAMEL", "PAPER", "FELT",
               "CERAMIC", "METAL", "KNITTED", "REGENCY", "JUMBO", "MINI")  # fmt: skip
_COLOURS = ("RED", "WHITE", "PINK", "BLUE", "GREEN", "IVORY", "BLACK", "CREAM", "SILVER", "GOLD", "SPOTTY",
            "STRIPED", "FLORAL", "POLKA DOT")  # fmt: skip
_NOUNS = ("T-LIGHT HOLDER", "LANTERN", "COAT HANGER", "HOT WATER BOTTLE", "NESTING BOXES", "HAND WARMER",
          "LUNCH BAG", "CAKE CASES", "TEA SET", "PHOTO FRAME", "DOORMAT", "ALARM CLOCK", "BUNTING", "CANDLE",
          "JAM JAR", "SHOPPING BAG", "HEART DECORATION", "STORAGE TIN", "MUG", "NOTEBOOK", "WALL ART",
          "CUSHION COVER", "PLANT POT", "BIRD ORNAMENT", "PICNIC BASKET")  # fmt: skip


def _country_names(locations: int) -> list[str]:
    names = list(COUNTRIES[:locations])
    names += [f"Country {k:03d}" for k in range(len(names), locations)]
    return names


def _country_weights(locations: int) -> np.ndarray:
    if locations == 1:
        return np.array([1.0])
    rest = 1.0 / np.arange(1, locations) ** 0.8
    return np.concatenate([[HOME_COUNTRY_SHARE], (1 - HOME_COUNTRY_SHARE) * rest / rest.sum()])


def _grouped_cdf(weights: np.ndarray) -> np.ndarray:
    """Stack per-group CDFs into one sorted array: group g's CDF lives in (g, g + 1]."""
    cdf = np.cumsum(weights, axis=1)
    cdf = cdf / cdf[:, -1:]
    cdf[:, -1] = 1.0
    return (cdf + np.arange(len(weights))[:, None]).ravel()


@dataclass(frozen=True)
class Population:
    """Everything about the shop that does not change from day to day (a pure function of the arguments)."""

    customer_type: np.ndarray  # int, index into CUSTOMER_TYPES
    customer_rate: np.ndarray  # expected orders per day at multiplier 1
    customer_country: np.ndarray  # int, index into countries
    active_from: np.ndarray  # int day ordinal (inclusive)
    active_to: np.ndarray  # int day ordinal (inclusive)
    customer_refs: np.ndarray  # object array of str
    countries: list[str]
    country_weights: np.ndarray
    product_part: np.ndarray  # object array: "sku,description" per product
    price_text: np.ndarray  # object array [products, 2]: normal and bulk price as "1.25"
    product_cdf: np.ndarray  # grouped CDF over products, one group per customer type + anonymous
    quantity_cdf: np.ndarray  # grouped CDF over QUANTITY_PACKS, same groups
    group_mean_lines: np.ndarray  # per group
    scale: float  # multiplies every rate (from orders_per_day)
    invoice_stride: int  # invoice numbers of a day are day_index * stride + 0 .. stride - 1


def build_population(
    seed: int, customers: int, products: int, locations: int, orders_per_day: float | None
) -> Population:
    """The shop's customers (types, order rates, countries, active windows), products (names, prices, who buys
    them) and volume scale; `orders_per_day` rescales the volume without changing the customers."""
    rng = np.random.default_rng([seed, 0, 1])  # a 3-word seed never equals a per-day [seed, ordinal] stream

    # customers: exact type counts, shuffled
    shares = np.array([t.share for t in CUSTOMER_TYPES])
    counts = np.floor(shares * customers).astype(int)
    counts[2] += customers - counts.sum()  # remainder to the occasional type
    ctype = rng.permutation(np.repeat(np.arange(len(CUSTOMER_TYPES)), counts))
    type_rate = np.array([t.orders_per_year for t in CUSTOMER_TYPES]) / 365.25
    spread = rng.lognormal(-(FREQUENCY_SIGMA**2) / 2, FREQUENCY_SIGMA, customers)
    rate = type_rate[ctype] * spread
    countries = _country_names(locations)
    cweights = _country_weights(locations)
    ccountry = rng.choice(locations, size=customers, p=cweights)
    lapses = np.array([t.lapses for t in CUSTOMER_TYPES])[ctype]
    start_offset = rng.integers(0, 120, customers)
    duration = rng.integers(60, 200, customers)
    epoch = EPOCH.toordinal()
    active_from = np.where(lapses, epoch + start_offset, np.iinfo(np.int64).min // 2)
    active_to = np.where(lapses, epoch + start_offset + duration, np.iinfo(np.int64).max // 2)
    width = max(5, len(str(customers - 1)))
    refs = np.array([f"CU{i:0{width}d}" for i in range(customers)], dtype=object)

    # products: heavy-tailed popularity, lognormal price around a few GBP
    popularity = 1.0 / (rng.permutation(products) + 1.0) ** 0.9
    price_cents = np.maximum(19, np.round(rng.lognormal(np.log(2.5), 0.8, products) * 100)).astype(np.int64)
    bulk_cents = np.maximum(10, np.round(price_cents * BULK_DISCOUNT)).astype(np.int64)
    words = [(a, c, n) for n in _NOUNS for c in _COLOURS for a in _ADJECTIVES]
    order = rng.permutation(len(words))
    swidth = max(4, len(str(products - 1)))
    parts = []
    for i in range(products):
        a, c, n = words[order[i % len(words)]]
        suffix = f" NO. {i // len(words) + 1}" if i >= len(words) else ""
        parts.append(f"SKU-{i:0{swidth}d},{a} {c} {n}{suffix}")
    product_part = np.array(parts, dtype=object)
    price_text = np.array(
        [
            [f"{p // 100}.{p % 100:02d}", f"{b // 100}.{b % 100:02d}"]
            for p, b in zip(price_cents, bulk_cents, strict=True)
        ],
        dtype=object,
    )

    exponents = [t.price_exponent for t in CUSTOMER_TYPES] + [0.0]
    price = price_cents / 100.0
    product_weights = np.stack([popularity * price ** (-e) for e in exponents])
    profiles = [t.quantity_profile for t in CUSTOMER_TYPES] + [ANONYMOUS_PROFILE]
    group_mean_lines = np.array([t.mean_lines for t in CUSTOMER_TYPES] + [ANONYMOUS_MEAN_LINES])

    # volume: the default is what the customers order; `orders_per_day` rescales it (at multiplier 1)
    named_orders = rate.sum()
    named_lines = (rate * group_mean_lines[ctype]).sum()
    anonymous_orders = named_lines * ANONYMOUS_LINE_SHARE / (1 - ANONYMOUS_LINE_SHARE) / ANONYMOUS_MEAN_LINES
    default_orders = named_orders + anonymous_orders
    scale = 1.0 if orders_per_day is None else float(orders_per_day) / default_orders
    # room for any plausible day (peak multiplier ~2.5) many times over, as a power of ten
    stride = 10 ** max(3, math.ceil(math.log10(default_orders * scale * 20 + 1)))

    return Population(
        customer_type=ctype,
        customer_rate=rate,
        customer_country=ccountry,
        active_from=active_from,
        active_to=active_to,
        customer_refs=refs,
        countries=countries,
        country_weights=cweights,
        product_part=product_part,
        price_text=price_text,
        product_cdf=_grouped_cdf(product_weights),
        quantity_cdf=_grouped_cdf(QUANTITY_PROBS[profiles]),
        group_mean_lines=group_mean_lines,
        scale=scale,
        invoice_stride=stride,
    )
