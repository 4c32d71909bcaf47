"""One open day of the synthetic shop: its orders, basket lines and cancellations, as CSV rows.

Every day is a pure function of `(seed, population, day)`: its random stream is
`numpy.random.default_rng([seed, day.toordinal()])`, so days can be generated one at a time, in any order, at any
scale (50 million lines never sit in memory together), and a day rewritten gives the same bytes. The work is
vectorised over the day's lines, since a benchmark shop writes thousands of orders a day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from daybreak.ingest.simulation.population import (
    ANONYMOUS_GROUP,
    ANONYMOUS_LINE_SHARE,
    ANONYMOUS_MEAN_LINES,
    BASKET_DISPERSION,
    BULK_QTY,
    CANCELLED_INVOICE_SHARE,
    PARTIAL_RETURN_SHARE,
    QUANTITY_PACKS,
    Population,
)
from daybreak.ingest.simulation.seasonality import demand_multiplier

# minute of day -> "HH:MM:00"
_MINUTE_TEXT = np.array([f"{m // 60:02d}:{m % 60:02d}:00" for m in range(24 * 60)], dtype=object)
_OPEN_MINUTE, _CLOSE_MINUTE = 7 * 60, 20 * 60 - 1  # orders 07:00 .. 19:59
_LAST_MINUTE = 21 * 60 - 1  # cancellations may come in until 20:59
_INVOICE_BASE = dt.date(2000, 1, 1).toordinal()


def _sample_grouped(flat_cdf: np.ndarray, groups: np.ndarray, u: np.ndarray, width: int) -> np.ndarray:
    """Draw one category per element from its group's distribution: vectorised inverse-CDF sampling."""
    idx = np.searchsorted(flat_cdf, groups + u, side="right")
    return np.minimum(idx - groups * width, width - 1)


def simulate_day(
    pop: Population, seed: int, day: dt.date, location_demand: dict[str, float] | None = None
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
