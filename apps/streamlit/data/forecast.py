"""The Forecast explorer's own queries: what a forecast is made of, how it moved across nights, and how accurate
the series' forecasts were by horizon (a series' forecasts and actuals themselves are in `series`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import series, serving
from .relations import Relation

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd
    from grain import Grain


def forecast_components(series_id: str, as_of_date: dt.date) -> pd.DataFrame:
    """What one forecast version is made of, per period (as `series.forecast` names it): `period, component,
    value, mode, model`.

    Empty for models without a decomposition (the statistical ones other than MSTL, the seasonal naive) and for
    files published before the components table existed.
    """
    if serving.missing_tables(Relation.FORECAST_COMPONENTS):
        return serving.empty(
            {
                "period": "datetime64[ns]",
                "component": "object",
                "value": "float64",
                "mode": "object",
                "model": "object",
            }
        )
    # files published before target_time was added hold daily rows only
    hourly = serving.has_column(Relation.FORECAST_COMPONENTS, "target_time")
    return serving.read(
        """
        select {period} as period, component, value, mode, model
        from {FORECAST_COMPONENTS}
        where series_id = ? and as_of_date = ?
        order by component, period
        """,
        (series_id, as_of_date),
        period=series.PERIOD if hourly else "target_date::timestamp",
    )


def forecast_revisions(series_id: str, first: pd.Timestamp, last: pd.Timestamp, grain: Grain) -> pd.DataFrame:
    """How the forecast for the periods `first`..`last` moved across the nights that forecast all of them:
    `as_of_date, yhat, yhat_lower_80, yhat_upper_80, periods` (sums over the window)."""
    frame = serving.read(
        """
        select as_of_date, sum(yhat) as yhat, sum(yhat_lower_80) as yhat_lower_80,
            sum(yhat_upper_80) as yhat_upper_80, count(*) as periods
        from {FORECASTS}
        where series_id = ? and {period} between ? and ?
        group by as_of_date
        having count(*) = ?
        order by as_of_date
        """,
        (series_id, first.to_pydatetime(), last.to_pydatetime(), len(grain.span(first, last))),
        period=series.PERIOD,
    )
    return serving.as_dates(frame, "as_of_date")


def accuracy_by_horizon(series_id: str) -> pd.DataFrame:
    """Scored forecasts of one series by horizon step, from dbt's view `predictions.forecast_accuracy`: the model's
    and the seasonal naive's weighted absolute percentage error (WAPE) over the same periods, and how many were
    scored.

    Columns: `horizon_step, scored, wape, naive_wape, within_80`; empty when nothing is scored or the view is
    not published.
    """
    if serving.missing_tables(Relation.FORECAST_ACCURACY):
        return serving.empty(
            {
                "horizon_step": "int64",
                "scored": "int64",
                "wape": "float64",
                "naive_wape": "float64",
                "within_80": "float64",
            }
        )
    return serving.read(
        """
        select horizon_step, count(*) as scored,
            sum(abs_error) / nullif(sum(abs(actual)), 0) as wape,
            sum(naive_abs_error) filter (where naive_abs_error is not null)
                / nullif(sum(abs(actual)) filter (where naive_abs_error is not null), 0) as naive_wape,
            avg(case when within_80 then 1.0 else 0.0 end) as within_80
        from {FORECAST_ACCURACY}
        where series_id = ?
        group by horizon_step
        order by horizon_step
        """,
        (series_id,),
    )
