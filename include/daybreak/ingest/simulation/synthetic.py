"""The synthetic shop's nightly exports: every day from a start to an end, and the truth about its customers.

`simulate_synthetic` invents an online shop shaped like the UCI Online Retail data (`population`, `seasonality`,
`shop_day`) and writes one export per day, a header-only file on a day the synthetic calendar closes. The
customers' true types are written beside the exports (`_truth/`), so segmentation can be checked against ground
truth, and a folder is never written with two different shops.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import numpy as np

from daybreak.core.files import write_text_atomic
from daybreak.ingest.simulation.day_files import SimulationSummary, days_between, write_days
from daybreak.ingest.simulation.population import CUSTOMER_TYPES, Population, build_population
from daybreak.ingest.simulation.seasonality import synthetic_calendar
from daybreak.ingest.simulation.shifts import Shifts, shifted
from daybreak.ingest.simulation.shop_day import simulate_day

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


def _write_truth(landing_dir: Path, pop: Population, params: dict) -> None:
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
    days = days_between(start, end)
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
    pop = build_population(seed, customers, products, locations, orders_per_day)
    shifted_pop = shifted(pop, seed, shifts) if shifts is not None else pop
    _write_truth(landing_dir, pop, params)

    header = ",".join(SYNTHETIC_COLUMNS) + "\n"

    def render(day: dt.date) -> tuple[str, int]:
        if not calendar.is_open(day):
            return header, 0
        if shifts is not None and day >= shifts.from_day:
            body, n = simulate_day(shifted_pop, seed, day, dict(shifts.location_demand))
        else:
            body, n = simulate_day(pop, seed, day)
        return header + body, n

    written, skipped, lines = write_days(landing_dir, days, render, overwrite=overwrite)
    log.info("simulated %s..%s into %s: %d days written, %d skipped, %d lines", start, end, landing_dir,
             written, skipped, lines)  # fmt: skip
    return SimulationSummary(written, skipped, lines, start, end, landing_dir)
