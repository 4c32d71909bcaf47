"""The Pipeline page's queries: ingest's accounting per night, the files corrections replaced, and the quarantine,
counted for every role; the quarantined rows themselves hold the export's raw values, customer included, so reading them checks the viewer's
`customers` permission first (`identity.require`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import identity

from daybreak.core.roles import Permission

from . import serving
from .relations import Relation

if TYPE_CHECKING:
    import pandas as pd


REPLACED = ("rows_replaced", "revenue_replaced")


def replaced_columns() -> dict[str, str]:
    """The accounting's replaced rows and revenue as query fragments (`{rows_replaced}`, `{revenue_replaced}`):
    the columns, or 0 in a serving file published before corrections were recorded (no file was replaced then;
    the next night's ingest adds the columns)."""
    recorded = serving.has_column(Relation.INGEST_RUNS, REPLACED[0])
    return {column: column if recorded else "0" for column in REPLACED}


def ingest_accounting(limit_nights: int = 30) -> pd.DataFrame:
    """Per business date of the last `limit_nights`: files, rows and revenue in, loaded, quarantined and replaced
    (a file a later delivery for its day replaced, `landing.corrections: replace`: rows in = loaded + quarantined
    + replaced)."""
    frame = serving.read(
        """
        select business_date,
            count(*) filter (where status = 'loaded') as files_loaded,
            count(*) filter (where status = 'duplicate') as files_duplicate,
            count(*) filter (where status = 'refused') as files_refused,
            count(*) filter (where status = 'replaced') as files_replaced,
            coalesce(sum(rows_in), 0) as rows_in, coalesce(sum(rows_loaded), 0) as rows_loaded,
            coalesce(sum(rows_quarantined), 0) as rows_quarantined,
            coalesce(sum({rows_replaced}), 0) as rows_replaced,
            coalesce(sum(revenue_in), 0) as revenue_in, coalesce(sum(revenue_loaded), 0) as revenue_loaded,
            coalesce(sum(revenue_quarantined), 0) as revenue_quarantined,
            coalesce(sum({revenue_replaced}), 0) as revenue_replaced
        from {INGEST_RUNS}
        group by business_date
        order by business_date desc
        limit ?
        """,
        (limit_nights,),
        **replaced_columns(),
    )
    return serving.as_dates(frame, "business_date")


def replaced_files(limit: int = 200) -> pd.DataFrame:
    """The files a later delivery for their day replaced, newest day first: `business_date, source_file,
    replaced_by` (<date>/<file> of the delivery that replaced it), `replaced_by_run_date`, `rows_replaced` and
    `revenue_replaced` (what the file had loaded, which left the lake)."""
    if replaced_columns()["rows_replaced"] == "0":
        return serving.empty(
            {"business_date": "object", "source_file": "object", "replaced_by": "object"}
            | {"replaced_by_run_date": "object", "rows_replaced": "int64", "revenue_replaced": "float64"}
        )
    frame = serving.read(
        """
        select business_date, source_file, replaced_by, replaced_by_run_date, rows_replaced, revenue_replaced
        from {INGEST_RUNS}
        where status = 'replaced'
        order by business_date desc, source_file
        limit ?
        """,
        (limit,),
    )
    return serving.as_dates(frame, "business_date", "replaced_by_run_date")


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
