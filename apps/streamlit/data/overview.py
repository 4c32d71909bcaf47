"""The Overview's queries: the business's daily totals, the newest sales day, the nights' completeness, the
biggest movers, and what was forecast for the last days."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import pipeline, series, serving
from .relations import Relation

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd


def daily_totals(start: dt.date, end: dt.date) -> pd.DataFrame:
    """The `total` series' daily actuals from `start` to `end` (the whole business in one line)."""
    return series.actuals("total", start, end)


def last_sales_date() -> dt.date | None:
    """The newest day in the sales mart."""
    frame = serving.read("select max(sales_date) as last_date from {DAILY_SALES}")
    value = frame.loc[0, "last_date"]
    return None if value is None or value != value else value.date()


def night_status() -> pd.DataFrame:
    """The published nights' completeness, newest first: per business date, files landed/refused/replaced by a
    later delivery (and the rows these had loaded) and whether forecasts were written for it (a night that
    forecast reached its end: forecasting is its last model step).

    Columns: `business_date, files_loaded, files_refused, rows_quarantined, files_replaced, rows_replaced,
    forecast_series`.
    """
    if serving.missing_tables(Relation.INGEST_RUNS):
        frame = serving.read(
            """
            select as_of_date as business_date, 0 as files_loaded, 0 as files_refused, 0 as rows_quarantined,
                0 as files_replaced, 0 as rows_replaced, count(distinct series_id) as forecast_series
            from {FORECASTS} group by as_of_date order by as_of_date desc limit 14
            """
        )
        return serving.as_dates(frame, "business_date")
    frame = serving.read(
        """
        with runs as (
            select business_date,
                count(*) filter (where status = 'loaded') as files_loaded,
                count(*) filter (where status = 'refused') as files_refused,
                coalesce(sum(rows_quarantined), 0) as rows_quarantined,
                count(*) filter (where status = 'replaced') as files_replaced,
                coalesce(sum({rows_replaced}), 0) as rows_replaced
            from {INGEST_RUNS} group by business_date
        ), forecasts as (
            select as_of_date as business_date, count(distinct series_id) as forecast_series
            from {FORECASTS} group by as_of_date
        )
        select coalesce(runs.business_date, forecasts.business_date) as business_date,
            coalesce(files_loaded, 0) as files_loaded, coalesce(files_refused, 0) as files_refused,
            coalesce(rows_quarantined, 0) as rows_quarantined, coalesce(files_replaced, 0) as files_replaced,
            coalesce(rows_replaced, 0) as rows_replaced, coalesce(forecast_series, 0) as forecast_series
        from runs full join forecasts using (business_date)
        order by business_date desc
        limit 14
        """,
        **pipeline.replaced_columns(),
    )
    return serving.as_dates(frame, "business_date")


def movers(end: dt.date, days: int = 7, limit: int = 8) -> pd.DataFrame:
    """Series (other than `total`) whose revenue changed most over the last `days` days against the `days`
    before, by absolute change: `series_id, current, previous, change, change_pct`."""
    return serving.read(
        """
        with windows as (
            select series_id,
                sum(revenue) filter (where sales_date > ?::date - ?::integer) as current,
                sum(revenue) filter (where sales_date <= ?::date - ?::integer) as previous
            from {DAILY_SALES}
            where series_id <> 'total' and sales_date > ?::date - 2 * ?::integer and sales_date <= ?::date
            group by series_id
        )
        select series_id, coalesce(current, 0) as current, coalesce(previous, 0) as previous,
            coalesce(current, 0) - coalesce(previous, 0) as change,
            (coalesce(current, 0) - previous) / nullif(previous, 0) as change_pct
        from windows
        order by abs(coalesce(current, 0) - coalesce(previous, 0)) desc, series_id
        limit ?
        """,
        (end, days, end, days, end, days, end, limit),
    )


def forecasts_covering(series_id: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Every forecast point of one series for target dates `start`..`end`, from whichever night made it:
    `as_of_date, target_date, period, yhat` (`period` as `series.forecast` names it). The Overview compares the
    last days' actuals with what was forecast for them.
    """
    frame = serving.read(
        """
        select as_of_date, target_date, {period} as period, yhat
        from {FORECASTS}
        where series_id = ? and target_date between ? and ?
        order by as_of_date, period
        """,
        (series_id, start, end),
        period=series.PERIOD,
    )
    return serving.as_dates(frame, "as_of_date", "target_date")
