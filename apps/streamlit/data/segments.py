"""The Segments page's queries: sizes, profiles and moves between nights (aggregates, for every role), and the
customer-level ones, which check the viewer's `customers` permission first (`identity.require`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import identity

from daybreak.core.roles import Permission

from . import serving

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd


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
