"""The Pipeline page's queries: ingest's accounting per night and the quarantine, counted for every role; the
quarantined rows themselves hold the export's raw values, customer included, so reading them checks the viewer's
`customers` permission first (`identity.require`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import identity

from daybreak.core.roles import Permission

from . import serving

if TYPE_CHECKING:
    import pandas as pd


def ingest_accounting(limit_nights: int = 30) -> pd.DataFrame:
    """Per business date of the last `limit_nights`: files, rows and revenue in, loaded and quarantined."""
    frame = serving.read(
        """
        select business_date,
            count(*) filter (where status = 'loaded') as files_loaded,
            count(*) filter (where status = 'duplicate') as files_duplicate,
            count(*) filter (where status = 'refused') as files_refused,
            coalesce(sum(rows_in), 0) as rows_in, coalesce(sum(rows_loaded), 0) as rows_loaded,
            coalesce(sum(rows_quarantined), 0) as rows_quarantined,
            coalesce(sum(revenue_in), 0) as revenue_in, coalesce(sum(revenue_loaded), 0) as revenue_loaded,
            coalesce(sum(revenue_quarantined), 0) as revenue_quarantined
        from {INGEST_RUNS}
        group by business_date
        order by business_date desc
        limit ?
        """,
        (limit_nights,),
    )
    return serving.as_dates(frame, "business_date")


def quarantine_counts() -> pd.DataFrame:
    """Quarantined rows per business date and rule: `business_date, rule, rows, revenue`."""
    frame = serving.read(
        """
        select business_date, rule, count(*) as rows, sum(revenue) as revenue
        from {QUARANTINE}
        group by all
        order by business_date, rule
        """
    )
    return serving.as_dates(frame, "business_date")


def quarantine_rows(rule: str, limit: int = 500) -> pd.DataFrame:
    """The quarantined rows that broke `rule`, newest first; customer-level, as their raw values hold the
    export's columns, customer included."""
    identity.require(Permission.CUSTOMERS)
    frame = serving.read(
        """
        select business_date, source_file, source_row, detail, raw_values, revenue
        from {QUARANTINE}
        where rule = ?
        order by business_date desc, source_file, source_row
        limit ?
        """,
        (rule, limit),
    )
    return serving.as_dates(frame, "business_date")
