"""The source simulator: drops one nightly export file per business day into a landing folder.

Daybreak's pipeline starts from files a shop's system leaves behind every night
(`<landing_dir>/<YYYY-MM-DD>/sales_<YYYY-MM-DD>.csv`). In development nothing produces them, so this module does,
in two ways:

- `simulate_synthetic` invents an online shop shaped like the UCI Online Retail data (baskets of ~15 lines,
  a quarter of the lines without a customer, cancellations, weekly and yearly seasonality, UK bank holidays, a
  mild trend) with customers of known type, whose truth table lets segmentation be checked against ground truth.
  Every day is a pure function of `(seed, population arguments, day)`: its random stream is
  `numpy.random.default_rng([seed, day.toordinal()])`, so days can be generated one at a time, in any order, at
  any scale (50 million lines never sit in memory together).
- `replay_dataset` cuts a real dataset (online_retail, store_item) into the same daily files, keeping the
  source's own columns and row order, so the pipeline sees real data arrive night by night.

Both write each file atomically (`daybreak.core.files.write_text_atomic`), produce byte-identical files for the same
arguments, write a header-only file on a closed day, and skip a day whose file already exists unless
`overwrite=True`, so a rerun is cheap and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import io
import json
import logging
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak.core.files import write_text_atomic
from daybreak.core.vocabulary import WHITESPACE_DELIMITER
from daybreak.datasets import DatasetConfig, DatasetConfigError, load_dataset_config
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.datasets.expressions import fill_template, template_columns
from daybreak.ingest.exports import decode, sniff_delimiter
from daybreak.ingest.timestamps import parse_timestamps

log = logging.getLogger(__name__)

# Column names of the synthetic shop's export (the right-hand side of synthetic.yml's `columns:`).
SYNTHETIC_COLUMNS = (
    "invoice_no",
    "invoice_ts",
    "customer_ref",
    "sku",
    "description",
    "country",
    "qty",
    "unit_price",
)
TRUTH_COLUMNS = ("customer_ref", "customer_type", "home_country")

# The customer base is anchored here: customers of the lapsing type are active in the months after this date and
# then stop; the trend is measured from it. A module constant (not `start`) so that a day's file does not depend
# on which range a run asked for.
EPOCH = dt.date(2023, 1, 1)


@dataclass(frozen=True)
class SimulationSummary:
    """What one simulator or replay run did.

    Args:
        days_written: day files written by this run (header-only closed days included).
        days_skipped: days whose file already existed and was left alone.
        lines_written: data rows written (headers not counted).
        first_day: first day of the range (inclusive).
        last_day: last day of the range (inclusive).
        landing_dir: the folder the day folders were written under.
    """

    days_written: int
    days_skipped: int
    lines_written: int
    first_day: dt.date
    last_day: dt.date
    landing_dir: Path


# --------------------------------------------------------------------------------------------------------------
# Shared file helpers


def day_file(landing_dir: Path, day: dt.date) -> Path:
    """Where the export of `day` lives: `<landing_dir>/<YYYY-MM-DD>/sales_<YYYY-MM-DD>.csv`."""
    iso = day.isoformat()
    return Path(landing_dir) / iso / f"sales_{iso}.csv"


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


# --------------------------------------------------------------------------------------------------------------
# Seasonality: a pure function of the day


@functools.lru_cache(maxsize=1)
def synthetic_calendar() -> BusinessCalendar:
    """The synthetic dataset's calendar (its config's closed days and holidays): what the shop and the models share."""
    return BusinessCalendar.from_config(load_dataset_config("synthetic"))


# Monday .. Sunday: busy early in the week and on Thursday, quiet at the weekend (as in the UCI data).
WEEKDAY_FACTORS = (1.08, 1.10, 1.05, 1.15, 0.95, 0.55, 0.72)
HOLIDAY_FACTOR = 0.35
TREND_PER_YEAR = 1.10


def _circular_gap(doy: float, centre: float) -> float:
    gap = abs(doy - centre) % 365.25
    return min(gap, 365.25 - gap)


def demand_multiplier(day: dt.date) -> float:
    """How busy the shop is on `day` relative to an average weekday of the epoch year (closed days aside).

    The product of a weekday factor, a yearly curve that climbs from September to a peak in mid-November and dips
    in January-February, a cut on the synthetic calendar's public holidays (GB) and a mild upward trend of 10% a year from `EPOCH`.
    A pure function, so tests can check the seasonality without simulating.

    Args:
        day: the business day.

    Returns:
        A positive factor; expected orders of the day are proportional to it.
    """
    doy = float(day.timetuple().tm_yday)
    yearly = (
        0.85
        + 0.75 * math.exp(-0.5 * (_circular_gap(doy, 320.0) / 24.0) ** 2)  # November peak (~16 Nov)
        + 0.25 * math.exp(-0.5 * (_circular_gap(doy, 275.0) / 30.0) ** 2)  # autumn build-up
        - 0.15 * math.exp(-0.5 * (_circular_gap(doy, 35.0) / 25.0) ** 2)  # post-Christmas lull
    )
    weekly = WEEKDAY_FACTORS[day.weekday()]
    holiday = HOLIDAY_FACTOR if synthetic_calendar().is_holiday(day) else 1.0
    trend = TREND_PER_YEAR ** ((day - EPOCH).days / 365.25)
    return weekly * yearly * holiday * trend


# --------------------------------------------------------------------------------------------------------------
# The synthetic population: customers, products, locations


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


def _sample_grouped(flat_cdf: np.ndarray, groups: np.ndarray, u: np.ndarray, width: int) -> np.ndarray:
    """Draw one category per element from its group's distribution: vectorised inverse-CDF sampling."""
    idx = np.searchsorted(flat_cdf, groups + u, side="right")
    return np.minimum(idx - groups * width, width - 1)


@dataclass(frozen=True)
class _Population:
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


def _build_population(
    seed: int, customers: int, products: int, locations: int, orders_per_day: float | None
) -> _Population:
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

    return _Population(
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


# minute of day -> "HH:MM:00"
_MINUTE_TEXT = np.array([f"{m // 60:02d}:{m % 60:02d}:00" for m in range(24 * 60)], dtype=object)
_OPEN_MINUTE, _CLOSE_MINUTE = 7 * 60, 20 * 60 - 1  # orders 07:00 .. 19:59
_LAST_MINUTE = 21 * 60 - 1  # cancellations may come in until 20:59
_INVOICE_BASE = dt.date(2000, 1, 1).toordinal()
_UNIX_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Shifts:
    """Changes injected into the synthetic shop from a known day on, so monitoring can be tested against them.

    Days before `from_day` are byte-identical to the shop without shifts.

    Args:
        from_day: the first day the shifts hold.
        price_factor: every price is multiplied by it (a price change).
        new_customers: a group of new wholesale customers (the champion type's habits) active from `from_day`.
        location_demand: location name -> factor on its orders (a demand level shift in one location).
    """

    from_day: dt.date
    price_factor: float = 1.0
    new_customers: int = 0
    location_demand: tuple[tuple[str, float], ...] = ()

    def as_params(self) -> dict:
        return {
            "from_day": self.from_day.isoformat(),
            "price_factor": self.price_factor,
            "new_customers": self.new_customers,
            "location_demand": [list(pair) for pair in self.location_demand],
        }


def _shifted(pop: _Population, seed: int, shifts: Shifts) -> _Population:
    """The population from `shifts.from_day` on: prices scaled, the new customers added (their own stream)."""
    import dataclasses

    price_text = pop.price_text
    if shifts.price_factor != 1.0:
        cents = np.vectorize(lambda text: round(float(text) * 100))(pop.price_text)
        scaled = np.maximum(1, np.round(cents * shifts.price_factor)).astype(np.int64)
        price_text = np.vectorize(lambda c: f"{c // 100}.{c % 100:02d}", otypes=[object])(scaled)
    n = shifts.new_customers
    rng = np.random.default_rng([seed, 0, 2])
    champion = 0
    rate = (
        CUSTOMER_TYPES[champion].orders_per_year
        / 365.25
        * rng.lognormal(-(FREQUENCY_SIGMA**2) / 2, FREQUENCY_SIGMA, n)
    )
    width = max(5, len(str(len(pop.customer_refs) + n)))
    return dataclasses.replace(
        pop,
        price_text=price_text,
        customer_type=np.concatenate([pop.customer_type, np.full(n, champion)]),
        customer_rate=np.concatenate([pop.customer_rate, rate]),
        customer_country=np.concatenate(
            [pop.customer_country, rng.choice(len(pop.countries), size=n, p=pop.country_weights)]
        ),
        active_from=np.concatenate([pop.active_from, np.full(n, shifts.from_day.toordinal())]),
        active_to=np.concatenate([pop.active_to, np.full(n, np.iinfo(np.int64).max // 2)]),
        customer_refs=np.concatenate(
            [pop.customer_refs, np.array([f"NW{i:0{width}d}" for i in range(n)], dtype=object)]
        ),
    )


def _simulate_day(
    pop: _Population, seed: int, day: dt.date, location_demand: dict[str, float] | None = None
) -> tuple[str, int]:
    """Generate the data rows of one open day as CSV text (no header). Returns (text, number of lines).

    Args:
        location_demand: location name -> factor on its customers' and walk-ins' orders (a shift).
    """
    rng = np.random.default_rng([seed, day.toordinal()])
    ordinal = day.toordinal()
    mult = demand_multiplier(day) * pop.scale

    # orders: who orders today
    active = (pop.active_from <= ordinal) & (ordinal <= pop.active_to)
    lam = pop.customer_rate * mult * active
    country_weights = pop.country_weights
    if location_demand:
        factors = np.array([location_demand.get(name, 1.0) for name in pop.countries])
        lam = lam * factors[pop.customer_country]
        country_weights = pop.country_weights * factors / (pop.country_weights * factors).sum()
    per_customer = rng.poisson(lam)
    named_cust = np.repeat(np.arange(len(lam)), per_customer)
    named_lines = (lam * pop.group_mean_lines[pop.customer_type]).sum()
    anon_lam = named_lines * ANONYMOUS_LINE_SHARE / (1 - ANONYMOUS_LINE_SHARE) / ANONYMOUS_MEAN_LINES
    n_named = len(named_cust)
    # an open shop's export always has something: a tiny simulated shop gets at least one walk-in order
    if location_demand:
        anon_lam *= float((pop.country_weights * factors).sum())
    n_anon = max(int(rng.poisson(anon_lam)), 0 if n_named else 1)
    n_orders = n_named + n_anon
    if n_orders == 0:
        return "", 0
    # give same-customer orders a random order in the day (named orders come out of np.repeat sorted)
    named_cust = named_cust[rng.permutation(n_named)]
    order_cust = np.concatenate([named_cust, np.full(n_anon, -1)])
    order_group = np.concatenate([pop.customer_type[named_cust], np.full(n_anon, ANONYMOUS_GROUP)])
    anon_country = rng.choice(len(pop.countries), size=n_anon, p=country_weights)
    order_country = np.concatenate([pop.customer_country[named_cust], anon_country])
    minute = np.clip(np.round(rng.normal(12.8 * 60, 2.3 * 60, n_orders)), _OPEN_MINUTE, _CLOSE_MINUTE)
    order_minute = minute.astype(np.int64)

    # lines: basket size, product, quantity, price
    mean_extra = pop.group_mean_lines[order_group] - 1.0
    n_lines = 1 + rng.negative_binomial(
        BASKET_DISPERSION, BASKET_DISPERSION / (BASKET_DISPERSION + mean_extra)
    )
    line_order = np.repeat(np.arange(n_orders), n_lines)
    line_group = order_group[line_order]
    n_products = len(pop.product_part)
    product = _sample_grouped(pop.product_cdf, line_group, rng.random(len(line_order)), n_products)
    pack = _sample_grouped(pop.quantity_cdf, line_group, rng.random(len(line_order)), len(QUANTITY_PACKS))
    qty = QUANTITY_PACKS[pack]
    bulk = (qty >= BULK_QTY).astype(np.int64)

    # cancellations: a later invoice of the same customer negating some lines of one of today's orders
    n_total = n_orders
    target = CANCELLED_INVOICE_SHARE / (1 - CANCELLED_INVOICE_SHARE) * n_total
    p_cancel = min(1.0, target / n_named) if n_named else 0.0
    cancelled = np.flatnonzero(rng.random(n_named) < p_cancel)
    n_cancel = len(cancelled)
    first_line = np.concatenate([[0], np.cumsum(n_lines)[:-1]])
    is_first = np.zeros(len(line_order), dtype=bool)
    is_first[first_line] = True
    cancel_of_order = np.full(n_orders, -1)
    cancel_of_order[cancelled] = np.arange(n_cancel)
    keep = rng.random(len(line_order)) < 0.5
    c_lines = np.flatnonzero((cancel_of_order[line_order] >= 0) & (keep | is_first))
    c_qty = qty[c_lines]
    partial = (rng.random(len(c_lines)) < PARTIAL_RETURN_SHARE) & (c_qty > 1)
    returned = np.where(partial, 1 + np.floor(rng.random(len(c_lines)) * (c_qty - 1)).astype(np.int64), c_qty)
    c_minute = np.minimum(order_minute[cancelled] + rng.integers(5, 180, n_cancel), _LAST_MINUTE)

    # invoices in time order (cancellations after their order, since they are at least 5 minutes later)
    inv_minute = np.concatenate([order_minute, c_minute])
    inv_rank = np.empty(n_orders + n_cancel, dtype=np.int64)
    inv_rank[np.lexsort((np.arange(n_orders + n_cancel), inv_minute))] = np.arange(n_orders + n_cancel)
    if n_orders + n_cancel > pop.invoice_stride:
        raise RuntimeError(f"{day}: {n_orders + n_cancel} invoices exceed the day's number range")
    inv_cust = np.concatenate([order_cust, order_cust[cancelled]])
    inv_country = np.concatenate([order_country, order_country[cancelled]])
    inv_cancel = np.concatenate([np.zeros(n_orders, dtype=bool), np.ones(n_cancel, dtype=bool)])
    base = (ordinal - _INVOICE_BASE) * pop.invoice_stride
    date_text = day.isoformat() + " "
    refs = pop.customer_refs
    inv_head = np.array(
        [
            f"{'C' if c else ''}{base + r},{date_text}{_MINUTE_TEXT[m]},{refs[k] if k >= 0 else ''}"
            for c, r, m, k in zip(
                inv_cancel.tolist(), inv_rank.tolist(), inv_minute.tolist(), inv_cust.tolist(), strict=True
            )
        ],
        dtype=object,
    )
    country_text = np.array(pop.countries, dtype=object)[inv_country]

    # all lines, sorted by invoice rank (stable: lines of an invoice keep their order)
    all_inv = np.concatenate([line_order, n_orders + cancel_of_order[line_order[c_lines]]])
    all_product = np.concatenate([product, product[c_lines]])
    all_qty = np.concatenate([qty, -returned])
    all_bulk = np.concatenate([bulk, bulk[c_lines]])
    sort = np.argsort(inv_rank[all_inv], kind="stable")
    all_inv, all_product, all_qty, all_bulk = all_inv[sort], all_product[sort], all_qty[sort], all_bulk[sort]

    rows = zip(
        inv_head[all_inv].tolist(),
        pop.product_part[all_product].tolist(),
        country_text[all_inv].tolist(),
        map(str, all_qty.tolist()),
        pop.price_text[all_product, all_bulk].tolist(),
        strict=True,
    )
    text = "\n".join(map(",".join, rows)) + "\n"
    return text, len(all_inv)


def _write_truth(landing_dir: Path, pop: _Population, params: dict) -> None:
    """Write `_truth/customers.csv` and `_truth/simulation.json`, refusing to mix populations in one folder."""
    truth_dir = Path(landing_dir) / "_truth"
    params_path = truth_dir / "simulation.json"
    params_text = json.dumps(params, indent=2, sort_keys=True) + "\n"
    names = np.array([t.name for t in CUSTOMER_TYPES], dtype=object)
    lines = [",".join(TRUTH_COLUMNS)]
    lines += [
        f"{r},{t},{c}"
        for r, t, c in zip(
            pop.customer_refs.tolist(),
            names[pop.customer_type].tolist(),
            np.array(pop.countries, dtype=object)[pop.customer_country].tolist(),
            strict=True,
        )
    ]
    truth_text = "\n".join(lines) + "\n"
    for path, text in ((params_path, params_text), (truth_dir / "customers.csv", truth_text)):
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_text_atomic(path, text)


def simulate_synthetic(
    landing_dir: Path,
    *,
    start: dt.date,
    end: dt.date,
    seed: int = 42,
    customers: int = 2000,
    products: int = 300,
    locations: int = 8,
    orders_per_day: float | None = None,
    overwrite: bool = False,
    shifts: Shifts | None = None,
) -> SimulationSummary:
    """Write the synthetic shop's nightly exports for every day from `start` to `end` (inclusive).

    The shop's customers, products and countries are a pure function of `(seed, customers, products, locations,
    orders_per_day)`, and each day's file a pure function of those and the day, so a range can be written in
    pieces, rerun, or extended, always giving the same bytes. A day the synthetic calendar closes gets a
    header-only file. The customers' true types go to `<landing_dir>/_truth/customers.csv` for checking
    segmentation; `_truth/simulation.json` records the population arguments, and a later run with other
    arguments into the same folder is refused unless `overwrite=True` (mixing two shops would be silent garbage).

    Args:
        landing_dir: the dataset's landing folder (`Settings.landing_dir`); day folders are created in it.
        start: first business day to write.
        end: last business day to write (inclusive).
        seed: the random seed; the same seed gives the same files.
        customers: number of customers, of four latent types (champion 5%: ~26 orders a year, big wholesale
            baskets; loyal 20%: ~8 a year, medium baskets; occasional 55%: ~2.5 a year, small cheap baskets;
            new_then_lapsed 20%: ~12 a year for 2-6 months in the first half of 2023, then never again).
        products: number of products (SKUs).
        locations: number of countries (United Kingdom first, with about 80% of the lines).
        orders_per_day: expected invoices on a day with demand multiplier 1 if every customer were active
            (about 43 for the defaults, ~470 lines a day); set it to scale the volume for benchmarks without
            changing the customers (about 5100 gives 50 million lines over 2023-2024).
        overwrite: rewrite day files that already exist (default: skip them).
        shifts: changes from a known day on (a price change, a new customer group, a location's demand), to
            test monitoring; None for the stationary shop.

    Returns:
        A `SimulationSummary` of what was written and skipped.

    Raises:
        ValueError: a non-positive population argument, `end` before `start`, or a landing folder simulated
            with other population arguments (without `overwrite`).
    """
    if customers < 1 or products < 1 or locations < 1:
        raise ValueError("customers, products and locations must be at least 1")
    if orders_per_day is not None and orders_per_day <= 0:
        raise ValueError("orders_per_day must be positive")
    days = _days(start, end)
    landing_dir = Path(landing_dir)
    params = {
        "seed": seed,
        "customers": customers,
        "products": products,
        "locations": locations,
        "orders_per_day": orders_per_day,
        **({"shifts": shifts.as_params()} if shifts is not None else {}),
    }
    params_path = landing_dir / "_truth" / "simulation.json"
    if params_path.is_file() and not overwrite:
        previous = json.loads(params_path.read_text(encoding="utf-8"))
        if previous != params:
            raise ValueError(
                f"{landing_dir} holds a simulation with {previous}, not {params}; "
                "use another folder or overwrite=True"
            )
    calendar = synthetic_calendar()
    pop = _build_population(seed, customers, products, locations, orders_per_day)
    shifted = _shifted(pop, seed, shifts) if shifts is not None else pop
    _write_truth(landing_dir, pop, params)

    header = ",".join(SYNTHETIC_COLUMNS) + "\n"

    def render(day: dt.date) -> tuple[str, int]:
        if not calendar.is_open(day):
            return header, 0
        if shifts is not None and day >= shifts.from_day:
            body, n = _simulate_day(shifted, seed, day, dict(shifts.location_demand))
        else:
            body, n = _simulate_day(pop, seed, day)
        return header + body, n

    written, skipped, lines = _write_days(landing_dir, days, render, overwrite=overwrite)
    log.info("simulated %s..%s into %s: %d days written, %d skipped, %d lines", start, end, landing_dir,
             written, skipped, lines)  # fmt: skip
    return SimulationSummary(written, skipped, lines, start, end, landing_dir)


def _write_days(
    landing_dir: Path, days: list[dt.date], render: Callable[[dt.date], tuple[str, int]], *, overwrite: bool
) -> tuple[int, int, int]:
    """Write each day's export that is not there yet (or every one, with `overwrite`), atomically.

    `render(day)` gives the file's text and its number of lines. Returns (days written, days skipped, lines).
    """
    written = skipped = lines = 0
    for day in days:
        path = day_file(landing_dir, day)
        if path.exists() and not overwrite:
            skipped += 1
            continue
        text, n = render(day)
        write_text_atomic(path, text)
        written += 1
        lines += n
    return written, skipped, lines


# --------------------------------------------------------------------------------------------------------------
# Replay of a real dataset


SOURCE_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".zip": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")


def _source_format(config: DatasetConfig, location: str) -> tuple[str, str]:
    """(format, suffix) of the source file: `source.format` if set, else read off the name's suffix."""
    name = location.lower().split("?")[0]
    for compression in COMPRESSIONS:
        name = name.removesuffix(compression)
    suffix = Path(name).suffix
    fmt = config.source.get("format") or SOURCE_SUFFIXES.get(suffix)
    if fmt is None:
        raise DatasetConfigError(
            f"{location}: cannot tell the format from {suffix or 'no suffix'!r} (known: "
            f"{', '.join(SOURCE_SUFFIXES)}); set source.format to csv, parquet or jsonl"
        )
    return fmt, suffix


def _read_csv_source(handle, config: DatasetConfig, suffix: str) -> pd.DataFrame:
    """A delimited source read as text: every value a string, exactly as in the file."""
    delimiter = config.source.get("delimiter", config.landing.delimiter)
    delimiter = r"\s+" if delimiter == WHITESPACE_DELIMITER else delimiter
    data = handle.read()
    if delimiter is None:
        delimiter = "\t" if suffix == ".tsv" else sniff_delimiter(decode(data[: 1 << 16])[0])
    return pd.read_csv(io.BytesIO(data), sep=delimiter, dtype=str, keep_default_na=False, na_filter=False)


def _read_source(config: DatasetConfig, location: str) -> tuple[pd.DataFrame, bool]:
    """Read the whole source. Returns (frame, typed): typed is False for delimited text, read as text to keep
    values as they are; Parquet and JSON lines keep their types until `_as_text`."""
    import fsspec

    fmt, suffix = _source_format(config, location)
    if fmt == "parquet":
        return pd.read_parquet(location), True
    if fmt == "jsonl":
        with fsspec.open(location, "rb", compression="infer") as handle:
            return pd.read_json(handle, lines=True, dtype=False, convert_dates=False), True
    if suffix == ".zip":
        with fsspec.open(location, "rb") as raw, zipfile.ZipFile(io.BytesIO(raw.read())) as archive:
            member = config.source.get("member")
            if member is None:
                csvs = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if len(csvs) != 1:
                    raise DatasetConfigError(
                        f"{location}: name the member to read (source.member), found {csvs}"
                    )
                member = csvs[0]
            with archive.open(member) as handle:
                return _read_csv_source(handle, config, Path(member).suffix.lower()), False
    with fsspec.open(location, "rb", compression="infer") as handle:
        return _read_csv_source(handle, config, suffix), False


def _dating_text(frame: pd.DataFrame, config: DatasetConfig, location: str, typed: bool) -> pd.Series:
    """The text that dates each row: the `ordered_at` column, or its template filled (`{day} {time}`).

    Raises:
        DatasetConfigError: the file lacks a column the dataset reads (one line naming the file and column).
    """
    if missing := [c for c in config.export_columns if c not in frame.columns]:
        raise DatasetConfigError(
            f"{location}: no column {missing[0]!r}, which the dataset {config.name!r} reads "
            f"(the file has {', '.join(map(str, frame.columns))})"
        )
    if "ordered_at" in config.columns:
        column = frame[config.columns["ordered_at"]]
        return _as_text(column) if typed and not pd.api.types.is_datetime64_any_dtype(column) else column
    template = config.derived["ordered_at"].template
    parts = {c: (_as_text(frame[c]) if typed else frame[c]) for c in template_columns(template)}
    return fill_template(template, parts)


def _as_text(column: pd.Series) -> pd.Series:
    """Format one typed column as the text a shop's export would hold.

    Datetimes as `YYYY-MM-DD HH:MM:SS`; float columns whose values are all whole numbers as integers (so
    `17850.0` becomes `17850`); other floats with Python's shortest round-trip repr; missing values as ''.
    """
    missing = column.isna()
    if pd.api.types.is_datetime64_any_dtype(column):
        text = column.dt.strftime("%Y-%m-%d %H:%M:%S")
    elif pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=float)
        finite = values[~missing.to_numpy()]
        if np.all(np.floor(finite) == finite) and np.all(np.abs(finite) < 2**53):
            text = column.astype("Int64").astype(str)
        else:
            text = pd.Series([repr(v) for v in values.tolist()], index=column.index)
    elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_integer_dtype(column):
        text = column.astype(str)
    else:
        text = column.astype(object).where(~missing, "").astype(str)
    return text.where(~missing, "").astype(object)


def _day_writer(config: DatasetConfig) -> Callable[[pd.DataFrame], str]:
    """Renders a day's rows as the shop's export: CSV in the landing's delimiter (`,` when it is sniffed).

    Whitespace-separated files quote a field that is empty or holds a blank or a quote, so every line splits
    back into the header's fields."""
    delimiter = config.landing.delimiter
    if delimiter != WHITESPACE_DELIMITER:
        return lambda rows: rows.to_csv(index=False, lineterminator="\n", sep=delimiter or ",")

    def field(value: str) -> str:
        if value and not any(c in value for c in ' \t"'):
            return value
        return '"' + value.replace('"', '""') + '"'

    def write(rows: pd.DataFrame) -> str:
        lines = [" ".join(field(str(c)) for c in rows.columns)]
        lines.extend(" ".join(field(v) for v in record) for record in rows.itertuples(index=False, name=None))
        return "\n".join(lines) + "\n"

    return write


def replay_dataset(
    config: DatasetConfig,
    landing_dir: Path,
    *,
    source: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    overwrite: bool = False,
) -> SimulationSummary:
    """Cut a real dataset into nightly export files, one per calendar day, as if the shop had sent them.

    A row belongs to the calendar date of its `ordered_at` column (e.g. online_retail's `InvoiceDate`), read with
    `landing.timestamp_format` when one is set. The source is csv (any delimiter, `source.delimiter`), parquet or
    jsonl, by `source.format` or its suffix. Files keep the source's own columns in the source's order and its
    rows in the source's order, in the landing's delimiter. Parquet and JSON values are written as text
    (integral floats as integers, datetimes as `YYYY-MM-DD HH:MM:SS`, missing as empty); delimited sources are
    read as text and written back unchanged. A day in the range without rows (a closed day) gets a header-only
    file. If every day of an explicit range is already there, the source is not even read.

    Args:
        config: the dataset config; its `source` says where the file is and `columns` which column dates a row.
        landing_dir: the dataset's landing folder (`Settings.landing_dir`).
        source: a path or fsspec URL overriding the config's default and its environment variable.
        start: first day to write; default the first day in the data.
        end: last day to write (inclusive); default the last day in the data.
        overwrite: rewrite day files that already exist (default: skip them).

    Returns:
        A `SimulationSummary` of what was written and skipped.

    Raises:
        DatasetConfigError: the dataset has no source file, its format or zip member is unclear, the file lacks
            a column the dataset reads, a row cannot be dated (names the file, row and value), or the landing
            cannot take CSV day files.
        ValueError: `end` before `start`.
    """
    landing_dir = Path(landing_dir)
    location = config.source_location(source)
    if config.landing.format != "csv" or not fnmatch.fnmatch(
        day_file(landing_dir, dt.date.min).name, config.landing.glob
    ):
        raise DatasetConfigError(
            f"dataset {config.name!r}: a replay writes CSV files named sales_<YYYY-MM-DD>.csv, so "
            f"landing.format must be csv and landing.glob match them (got {config.landing.format}, "
            f"{config.landing.glob!r})"
        )
    if start is not None and end is not None:
        days = _days(start, end)
        if not overwrite and all(day_file(landing_dir, d).exists() for d in days):
            return SimulationSummary(0, len(days), 0, start, end, landing_dir)

    frame, typed = _read_source(config, location)
    dating = _dating_text(frame, config, location, typed)
    stamps = parse_timestamps(dating, config.landing.timestamp_format, config.landing.timezone)
    if stamps.isna().any():
        bad = dating[stamps.isna()]
        raise DatasetConfigError(
            f"{location}: {len(bad)} rows cannot be dated ({config.landing.timestamp_format or 'not a date'}), "
            f"e.g. row {bad.index[0] + 1}: {bad.iloc[0]!r}"
        )
    day_ordinal = stamps.to_numpy().astype("datetime64[D]").astype(np.int64) + _UNIX_EPOCH_ORDINAL
    first = start or dt.date.fromordinal(int(day_ordinal.min()))
    last = end or dt.date.fromordinal(int(day_ordinal.max()))
    days = _days(first, last)

    in_range = (day_ordinal >= first.toordinal()) & (day_ordinal <= last.toordinal())
    frame = frame.loc[in_range]
    day_ordinal = day_ordinal[in_range]
    if typed:
        frame = pd.DataFrame({name: _as_text(frame[name]) for name in frame.columns})
    order = np.argsort(day_ordinal, kind="stable")  # source order within a day
    sorted_days = day_ordinal[order]
    write = _day_writer(config)
    empty = write(frame.iloc[:0])  # header only

    def render(day: dt.date) -> tuple[str, int]:
        lo, hi = np.searchsorted(sorted_days, [day.toordinal(), day.toordinal() + 1])
        text = write(frame.iloc[order[lo:hi]]) if hi > lo else empty
        return text, int(hi - lo)

    written, skipped, lines = _write_days(landing_dir, days, render, overwrite=overwrite)
    log.info("replayed %s %s..%s into %s: %d days written, %d skipped, %d lines", config.name, first, last,
             landing_dir, written, skipped, lines)  # fmt: skip
    return SimulationSummary(written, skipped, lines, first, last, landing_dir)


def simulate_dataset(
    config: DatasetConfig,
    landing_dir: Path,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    seed: int = 42,
    customers: int | None = None,
    products: int | None = None,
    locations: int | None = None,
    orders_per_day: float | None = None,
    source: str | None = None,
    overwrite: bool = False,
) -> SimulationSummary:
    """The dataset's nightly exports: simulated for a `kind: simulator` source (defaults from its `simulation:`),
    else replayed from the original file (`replay_dataset`). What `daybreak simulate` and the demo run."""
    if config.source["kind"] != "simulator":
        return replay_dataset(config, landing_dir, source=source, start=start, end=end, overwrite=overwrite)
    defaults = config.simulation
    return simulate_synthetic(
        landing_dir,
        start=start or dt.date.fromisoformat(str(defaults["start"])),
        end=end or dt.date.fromisoformat(str(defaults["end"])),
        seed=seed,
        customers=customers or defaults.get("customers", 2000),
        products=products or defaults.get("products", 300),
        locations=locations or defaults.get("locations", 8),
        orders_per_day=orders_per_day,
        overwrite=overwrite,
    )
