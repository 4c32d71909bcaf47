"""Changes injected into the synthetic shop from a known day on: a price change, new customers, a location's demand.

Monitoring (drift, retraining) is tested against changes whose day and size are known; days before the shift are
byte-identical to the shop without it, so a shifted run differs from a plain one exactly where it should.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np

from daybreak.ingest.simulation.population import CUSTOMER_TYPES, FREQUENCY_SIGMA, Population


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


def shifted(pop: Population, seed: int, shifts: Shifts) -> Population:
    """The population from `shifts.from_day` on: prices scaled, the new customers added (their own stream)."""
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
