"""A series' forecasts and actuals: the queries the Overview, the Forecast explorer and the Review page share.

The forecasts are read from dbt's view `predictions.forecast_versions` (every version of every series, with the
model's value and the grain filled in on rows written before those columns existed), the actuals from the sales
marts.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from . import serving
from .relations import Relation

if TYPE_CHECKING:
    import pandas as pd
    from grain import Grain

PERIOD = "coalesce(target_time, target_date::timestamp)"
"""A forecast row's period as a timestamp: the hour of an hourly row (`target_time`), else its `target_date`."""


def list_series() -> list[str]:
    """Series that have at least one forecast, `total` first, then by name."""
    frame = serving.read(
        """
        select distinct series_id
        from {FORECASTS}
        order by series_id <> 'total', series_id
        """
    )
    return frame["series_id"].tolist()


def list_forecast_versions(series_id: str) -> pd.DataFrame:
    """The forecast versions of one series, newest first.

    Returns:
        one row per as_of_date: `as_of_date, target, model, model_version, run_id, horizon, first_target_date,
        last_target_date`.
    """
    frame = serving.read(
        """
        select
            as_of_date,
            any_value(target) as target,
            any_value(model) as model,
            any_value(model_version) as model_version,
            any_value(run_id) as run_id,
            count(*) as horizon,
            min(target_date) as first_target_date,
            max(target_date) as last_target_date,
        from {FORECASTS}
        where series_id = ?
        group by as_of_date
        order by as_of_date desc
        """,
        (series_id,),
    )
    return serving.as_dates(frame, "as_of_date", "first_target_date", "last_target_date")


def latest_night() -> dt.date | None:
    """The newest as-of date with forecasts: the business date the published numbers are as of."""
    frame = serving.read("select max(as_of_date) as as_of_date from {FORECASTS}")
    value = frame.loc[0, "as_of_date"]
    return None if value is None or value != value else value.date()


def forecast(series_id: str, as_of_date: dt.date) -> pd.DataFrame:
    """The forecast rows one version holds for one series, by period; `yhat` is the final forecast,
    `yhat_statistical` the model's and `override_id` the planner's override that changed it (null: none);
    `is_closed` whether the shop is closed on the row's day (`closed_days`), when every forecast is 0.

    `period` is the period forecast, at the grain `frequency` names (`grain.Grain`): the hour of an hourly series
    (`target_time`), else `target_date`.
    """
    frame = serving.read(
        """
        select
            yhat_statistical,
            override_id,
            {period} as period,
            frequency,
            target_date,
            horizon_step,
            target,
            yhat,
            yhat_lower_80,
            yhat_upper_80,
            yhat_lower_95,
            yhat_upper_95,
            model,
            model_version,
            run_id,
        from {FORECASTS}
        where series_id = ? and as_of_date = ?
        order by period
        """,
        (series_id, as_of_date),
        period=PERIOD,
    )
    frame = serving.as_dates(frame, "target_date")
    closed = closed_days(frame["target_date"].min(), frame["target_date"].max()) if len(frame) else set()
    return frame.assign(is_closed=frame["target_date"].isin(closed))


def closed_days(start: dt.date, end: dt.date) -> set[dt.date]:
    """The days from `start` to `end` the shop is closed (`marts.dim_calendar`, from the config's `calendar:`);
    none in a file published before the calendar mart existed."""
    if serving.missing_tables(Relation.CALENDAR):
        return set()
    frame = serving.read(
        "select date_day from {CALENDAR} where is_closed and date_day between ? and ?", (start, end)
    )
    return set(serving.as_dates(frame, "date_day")["date_day"])


def overridden_parts(series_id: str, as_of_date: dt.date) -> pd.DataFrame:
    """The days a planner overrode one of the series a version of `series_id` sums, which moved it with them (the
    night re-sums a parent from its children's final forecasts): `series_id, target_date, override_id`, one row per
    overridden day. A series' parts are those whose keys include all of its own: every other series for `total`,
    `location=DE|product_id=23` for `location=DE`."""
    frame = serving.read(
        """
        select distinct series_id, target_date, override_id
        from {FORECASTS}
        where as_of_date = ? and override_id is not null and series_id <> ?
        order by series_id, target_date
        """,
        (as_of_date, series_id),
    )
    keys = _keys(series_id)
    parts = frame["series_id"].map(lambda part: keys <= _keys(part)).astype(bool)
    return serving.as_dates(frame.loc[parts].copy(), "target_date")


def _keys(series_id: str) -> set[str]:
    """`location=DE|product_id=23` -> {"location=DE", "product_id=23"}; none for `total`."""
    return set() if series_id == "total" else set(series_id.split("|"))


def actuals(series_id: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Daily actuals of one series from `start` to `end`, both inclusive: `sales_date, units, revenue`."""
    frame = serving.read(
        """
        select sales_date, units, revenue
        from {DAILY_SALES}
        where series_id = ? and sales_date between ? and ?
        order by sales_date
        """,
        (series_id, start, end),
    )
    return serving.as_dates(frame, "sales_date")


def period_actuals(series_id: str, start: dt.date, end: dt.date, grain: Grain) -> pd.DataFrame:
    """Actuals of one series at a forecast's grain for the days `start`..`end`: `period, units, revenue`. An
    hourly grain reads `marts.features_series_hourly`; weeks and months are the daily actuals summed into the
    periods complete by `end`."""
    if grain.frequency != "hourly":
        daily = actuals(series_id, start, end)
        if grain.is_daily:
            return daily.rename(columns={"sales_date": "period"}).astype({"period": "datetime64[ns]"})
        return grain.periods_of(daily, end)
    return serving.read(
        """
        select sales_hour as period, units, revenue
        from {HOURLY_SALES}
        where series_id = ? and sales_date between ? and ?
        order by sales_hour
        """,
        (series_id, start, end),
    )


def actuals_range(series_id: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day with an actual for one series, or None when it has none."""
    frame = serving.read(
        """
        select count(*) as days, min(sales_date) as first_date, max(sales_date) as last_date
        from {DAILY_SALES}
        where series_id = ?
        """,
        (series_id,),
    )
    if not frame.loc[0, "days"]:
        return None
    frame = serving.as_dates(frame, "first_date", "last_date")
    return frame.loc[0, "first_date"], frame.loc[0, "last_date"]
