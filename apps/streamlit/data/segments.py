"""The Segments page's queries: sizes, profiles, moves between nights and customer value by segment (aggregates, for
every role), and the customer-level ones, which check the viewer's `customers` permission first
(`identity.require`).

Customer value (`predictions.customer_value`) is scored only for datasets that turn it on, so its queries return
no rows, rather than fail, on a serving file without the table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import identity
import pandas as pd

from daybreak.core.roles import Permission

from . import serving
from .relations import Relation

VALUABLE_SHARE = 0.2
"""The share of customers, by expected revenue on the earlier night, whose fall in probability active is listed."""
MIN_FALL = 0.01
"""The least fall in probability active listed (a percentage point): a smaller one is no sign of a customer slipping
away (on a short history the demo shop's probabilities move by a billionth a night)."""


def segment_sizes() -> pd.DataFrame:
    """Per scored night and segment: customers and revenue share (`as_of_date, segment_name, customers,
    share_of_customers, share_of_revenue`)."""
    frame = serving.read(
        """
        select as_of_date, segment_id, any_value(segment_name) as segment_name, any_value(customers) as customers,
            any_value(share_of_customers) as share_of_customers, any_value(share_of_revenue) as share_of_revenue
        from {SEGMENT_PROFILES}
        group by as_of_date, segment_id
        order by as_of_date, segment_id
        """
    )
    return serving.as_dates(frame, "as_of_date")


def segment_profile(as_of_date: dt.date) -> pd.DataFrame:
    """One night's segment profiles: `segment_name, feature, mean, population_mean, mean_vs_population`."""
    return serving.read(
        """
        select segment_name, feature, mean, median, population_mean, mean_vs_population
        from {SEGMENT_PROFILES}
        where as_of_date = ?
        order by segment_id, feature
        """,
        (as_of_date,),
    )


def segment_dates() -> list[dt.date]:
    """The nights with scored customers, oldest first."""
    frame = serving.read("select distinct as_of_date from {CUSTOMER_SEGMENTS} order by as_of_date")
    return serving.as_dates(frame, "as_of_date")["as_of_date"].tolist()


def segment_transitions(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Customers by (segment on `start`, segment on `end`); `from_segment` is "new" for customers first scored
    after `start`: `from_segment, to_segment, customers, share_of_from`."""
    return serving.read(
        """
        with later as (
            select customer_id, segment_name from {CUSTOMER_SEGMENTS} where as_of_date = ?
        ), earlier as (
            select customer_id, segment_name from {CUSTOMER_SEGMENTS} where as_of_date = ?
        ), moves as (
            select coalesce(earlier.segment_name, 'new') as from_segment, later.segment_name as to_segment,
                count(*) as customers
            from later left join earlier using (customer_id)
            group by all
        )
        select *, customers / sum(customers) over (partition by from_segment) as share_of_from
        from moves
        order by from_segment, to_segment
        """,
        (end, start),
    )


def customer_history(customer_id: str) -> pd.DataFrame:
    """One customer's segment on every scored night: `as_of_date, segment_name, distance` (customer-level)."""
    identity.require(Permission.CUSTOMERS)
    frame = serving.read(
        """
        select as_of_date, segment_name, distance
        from {CUSTOMER_SEGMENTS}
        where customer_id = ?
        order by as_of_date
        """,
        (customer_id,),
    )
    return serving.as_dates(frame, "as_of_date")


def sample_customers(as_of_date: dt.date, limit: int = 200) -> list[str]:
    """Some customers scored on `as_of_date` to pick from (the first by id; customer-level)."""
    identity.require(Permission.CUSTOMERS)
    frame = serving.read(
        "select customer_id from {CUSTOMER_SEGMENTS} where as_of_date = ? order by customer_id limit ?",
        (as_of_date, limit),
    )
    return frame["customer_id"].tolist()


def value_by_segment() -> pd.DataFrame:
    """The latest customer-value night by the customers' segment that night (`Not segmented` for customers the
    segmentation did not score): `as_of_date, segment_name, customers, expected_revenue, expected_purchases,
    mean_probability_active, horizon_days`, in the segments' order; empty before any night scored."""
    columns = {
        "as_of_date": "object",
        "segment_name": "object",
        "customers": "int64",
        "expected_revenue": "float64",
        "expected_purchases": "float64",
        "mean_probability_active": "float64",
        "horizon_days": "int64",
    }
    if serving.missing_tables(Relation.CUSTOMER_VALUE):
        return serving.empty(columns)
    frame = serving.read(
        """
        with night as (select max(as_of_date) as as_of_date from {CUSTOMER_VALUE})
        select v.as_of_date, coalesce(s.segment_name, 'Not segmented') as segment_name, count(*) as customers,
            sum(v.expected_revenue) as expected_revenue, sum(v.expected_purchases) as expected_purchases,
            avg(v.probability_active) as mean_probability_active, max(v.horizon_days) as horizon_days
        from {CUSTOMER_VALUE} v
        join night using (as_of_date)
        left join {CUSTOMER_SEGMENTS} s on s.as_of_date = v.as_of_date and s.customer_id = v.customer_id
        group by v.as_of_date, s.segment_id, s.segment_name
        order by s.segment_id nulls last
        """
    )
    return serving.as_dates(frame, "as_of_date")[list(columns)]


@dataclass(frozen=True)
class Baseline:
    """The night the latest customer-value night is compared with, and why that one.

    Attributes:
        latest: the latest night scored.
        model_version: the version that scored it (the current champion).
        night: the night compared with: the first the current version scored or, when it first scored on `latest`
            (it was trained that night), the last night of the version before it.
        since_retrain: True when `night` is the current version's first night, False when it is the previous
            version's last.
    """

    latest: dt.date
    model_version: str
    night: dt.date
    since_retrain: bool


def value_baseline() -> Baseline | None:
    """What the latest customer-value night is compared with (`Baseline`); None with fewer than two nights.

    The first night of the current version is the baseline where there is one: between it and the latest night
    one model scored, so a probability that fell says the customer stopped buying, not that the model changed."""
    if serving.missing_tables(Relation.CUSTOMER_VALUE):
        return None
    frame = serving.read(
        """
        with latest as (
            select as_of_date, any_value(model_version) as model_version
            from {CUSTOMER_VALUE}
            where as_of_date = (select max(as_of_date) from {CUSTOMER_VALUE})
            group by as_of_date
        ), first_use as (
            select min(as_of_date) as first_night from {CUSTOMER_VALUE}
            where model_version = (select model_version from latest)
        )
        select latest.as_of_date as latest, latest.model_version, first_use.first_night,
            (select max(as_of_date) from {CUSTOMER_VALUE} where as_of_date < first_use.first_night) as previous_night
        from latest, first_use
        """
    )
    if frame.empty:
        return None
    row = frame.iloc[0]
    latest, first_night = row["latest"].date(), row["first_night"].date()
    if first_night < latest:
        return Baseline(latest, str(row["model_version"]), first_night, since_retrain=True)
    if pd.isna(row["previous_night"]):
        return None
    return Baseline(latest, str(row["model_version"]), row["previous_night"].date(), since_retrain=False)


def slipping_customers(
    baseline: Baseline, top_share: float = VALUABLE_SHARE, min_fall: float = MIN_FALL, limit: int = 20
) -> pd.DataFrame:
    """The valuable customers whose probability of being active fell most, by `min_fall` at least, from
    `baseline.night` to `baseline.latest` (customer-level): valuable meaning in the `top_share` of expected revenue
    on the earlier night. `customer_id, segment_name` (on the latest night), `revenue_then, revenue_now, probability_then,
    probability_now, fall`, the largest fall first."""
    identity.require(Permission.CUSTOMERS)
    return serving.read(
        """
        with earlier as (
            select customer_id, expected_revenue, probability_active,
                cume_dist() over (order by expected_revenue desc) as value_rank
            from {CUSTOMER_VALUE} where as_of_date = ?
        ), latest as (
            select customer_id, expected_revenue, probability_active from {CUSTOMER_VALUE} where as_of_date = ?
        )
        select latest.customer_id, coalesce(s.segment_name, 'Not segmented') as segment_name,
            earlier.expected_revenue as revenue_then, latest.expected_revenue as revenue_now,
            earlier.probability_active as probability_then, latest.probability_active as probability_now,
            earlier.probability_active - latest.probability_active as fall
        from earlier
        join latest using (customer_id)
        left join {CUSTOMER_SEGMENTS} s on s.as_of_date = ? and s.customer_id = latest.customer_id
        where earlier.value_rank <= ? and earlier.probability_active - latest.probability_active >= ?
        order by fall desc, revenue_then desc, latest.customer_id
        limit ?
        """,
        (baseline.night, baseline.latest, baseline.latest, top_share, min_fall, limit),
    )
