"""Overview: what an executive reads at breakfast. Last week's and month's sales against forecast and last year,
the business's forecast for the horizon, the biggest movers, and whether last night's run completed or a night is
running, retrying or failed, and for which business date (`data.nights`).
"""

from __future__ import annotations

import datetime as dt

import charts
import dataset_settings
import forecast_kpis
import forecast_sections
import formatting as fmt
import guards
import pandas as pd
import streamlit as st
from data import nights, overview, series
from data.relations import Relation
from grain import Grain

REQUIRED_TABLES = (Relation.DAILY_SALES, Relation.FORECASTS)
WINDOWS = (7, 28)
YEAR_AGO = dt.timedelta(weeks=52)  # same weekdays a year earlier
# days of actuals the business's chart shows before its forecast, by the forecast's grain (a bare string here
# would be drawn on the page: Streamlit's magic)
HISTORY_DAYS = {"hourly": 14, "daily": 90, "weekly": 365, "monthly": 730}


def render() -> None:
    st.title("Overview")
    if not guards.published(*REQUIRED_TABLES):
        return
    guards.published_caption()
    as_of = series.latest_night()
    last_day = overview.last_sales_date()
    if as_of is None or last_day is None:
        guards.nothing_yet(
            "No forecasts or sales are published yet.", "They appear after the first complete nightly run."
        )
        return
    _night_banner(as_of, last_day)
    history = overview.daily_totals(last_day - YEAR_AGO - dt.timedelta(days=max(WINDOWS)), last_day)
    history = history.set_index("sales_date")
    if history.empty:
        guards.nothing_yet(
            "The `total` series has no sales yet.", "Run a night that loads sales (`make demo`)."
        )
        return
    rows = series.forecast("total", as_of)
    grain = Grain.of(rows)
    currency = dataset_settings.currency()
    _kpis(history, last_day, grain, currency)
    days = HISTORY_DAYS[grain.frequency]
    forecast_sections.contained_overrides("total", as_of)
    with st.container(border=True):
        st.markdown(
            f"**The business's {grain.frequency} {fmt.target_label(_target(rows)).lower()}: last {days} days "
            f"and the forecast made {fmt.day(as_of)}**"
        )
        first_day = last_day - dt.timedelta(days=days - 1)
        recent = series.period_actuals("total", first_day, last_day, grain).set_index("period")[_target(rows)]
        charts.draw(charts.forecast_chart(recent, rows, as_of, _target(rows), grain, currency))
    _movers(last_day, currency)


def _target(rows: pd.DataFrame) -> str:
    return rows["target"].iloc[0] if not rows.empty else "revenue"


def _night_banner(as_of: dt.date, last_day: dt.date) -> None:
    """Whether the numbers are last night's: what Airflow says of the night it is on (running, retrying, failed),
    else whether exports wait for a night, else the newest published night's own completeness."""
    numbers = f"The numbers below are as of **{fmt.day(as_of)}**, the newest night published"
    night = nights.airflow_night()
    if night is not None and night.state != "success":
        day, tasks = fmt.day(night.business_date), ", ".join(night.tasks)
        if night.state in ("queued", "running"):
            now = f" (now: {tasks})" if tasks else ""
            st.info(
                f"A night is {night.state} for business date **{day}**{now}. {numbers}; they update when it "
                "publishes.",
                icon=":material/pending:",
            )
        elif night.state == "retrying":
            st.warning(
                f"The night for business date **{day}** is retrying: {tasks} failed and will run again. {numbers}.",
                icon=":material/refresh:",
            )
        else:
            failed = f" at {tasks}" if tasks else ""
            st.error(
                f"The night for business date **{day}** failed{failed}. {numbers}. Its task log in the Airflow UI "
                "says what to do; the Pipeline page shows what it ingested.",
                icon=":material/error:",
            )
        return
    if night is None and (waiting := nights.landed_after(as_of)):
        days = fmt.day(waiting[0]) + (f" to {fmt.day(waiting[-1])}" if len(waiting) > 1 else "")
        st.warning(
            f"Exports have landed for business date {days}, but no night has published them yet: one is queued, "
            f"running or failed (Airflow could not be asked; its UI says which). {numbers}.",
            icon=":material/warning:",
        )
        return
    status = overview.night_status()
    latest = status.iloc[0] if not status.empty else None
    complete = as_of >= last_day and latest is not None and latest["forecast_series"] > 0
    detail = ""
    if latest is not None:
        replaced = (
            f"{int(latest['files_replaced'])} replaced by a later delivery ({int(latest['rows_replaced']):,} "
            "row(s) replaced), "
            if latest["files_replaced"]
            else ""
        )
        detail = (
            f" {int(latest['forecast_series'])} series forecast; {int(latest['files_loaded'])} file(s) loaded, "
            f"{replaced}{int(latest['files_refused'])} refused, {int(latest['rows_quarantined'])} row(s) "
            "quarantined."
        )
    if complete and (latest is None or latest["files_refused"] == 0):
        st.success(
            f"Numbers as of **{fmt.day(as_of)}**. Last night's run completed.{detail}",
            icon=":material/check_circle:",
        )
    else:
        st.warning(
            f"Numbers as of **{fmt.day(as_of)}**, sales to {fmt.day(last_day)}. Last night's run did not complete "
            f"cleanly.{detail} See the Pipeline page.",
            icon=":material/warning:",
        )


def _window(values: pd.Series, first: dt.date, last: dt.date) -> float | None:
    window = values[(values.index >= first) & (values.index <= last)]
    return float(window.sum()) if len(window) == (last - first).days + 1 else None


def _forecast_for(first: dt.date, last: dt.date, grain: Grain) -> float | None:
    """What the nights before each day forecast for it (the newest forecast made before the day), summed; None
    unless every period of the days was forecast. Weeks and months do not split into days: None for them."""
    if grain.frequency in ("weekly", "monthly"):
        return None
    points = overview.forecasts_covering("total", first, last)
    points = points[points["as_of_date"] < points["target_date"]]
    if points.empty:
        return None
    newest = points.sort_values("as_of_date").groupby("period").tail(1)
    expected = ((last - first).days + 1) * (24 if grain.frequency == "hourly" else 1)
    return float(newest["yhat"].sum()) if len(newest) == expected else None


def _kpis(history: pd.DataFrame, last_day: dt.date, grain: Grain, currency: str | None) -> None:
    # an aggregated export without units (`grain: aggregated`) has null units on every day: no units cards then
    measures = ("revenue", "units") if history["units"].notna().any() else ("revenue",)
    columns = st.columns(len(measures) * len(WINDOWS))
    forecast_target = series.list_forecast_versions("total")
    target = forecast_target["target"].iloc[0] if not forecast_target.empty else "revenue"
    index = 0
    for measure in measures:
        for days in WINDOWS:
            first = last_day - dt.timedelta(days=days - 1)
            current = _window(history[measure], first, last_day)
            year_ago = _window(history[measure], first - YEAR_AGO, last_day - YEAR_AGO)
            forecast = _forecast_for(first, last_day, grain) if measure == target else None
            versus_forecast = fmt.percent_change(current, forecast) if current is not None else None
            versus_year = fmt.percent_change(current, year_ago) if current is not None else None
            with forecast_kpis.card(columns[index]):  # the forecast's comparison inside the card
                st.metric(
                    f"{fmt.target_label(measure, currency)}, last {days} days",
                    fmt.compact(current),
                    delta=f"{versus_year} vs last year" if versus_year else "no year-ago data",
                    delta_color="normal" if versus_year else "off",
                    delta_arrow="auto" if versus_year else "off",
                    help=f"{fmt.day(first)} to {fmt.day(last_day)}. Against forecast: "
                    + (
                        f"{versus_forecast} ({fmt.compact(forecast)} forecast)"
                        if versus_forecast
                        else "no forecast covered every day of the window"
                    )
                    + ". Against the same weekdays 52 weeks earlier when that history exists.",
                )
                if versus_forecast:
                    st.caption(
                        f"Actual {versus_forecast} vs forecast: {fmt.compact(forecast)} was forecast for these "
                        "days, each the night before"
                    )
            index += 1


def _movers(last_day: dt.date, currency: str | None) -> None:
    movers = overview.movers(last_day)
    st.subheader("Biggest movers")
    if movers.empty:
        st.caption(
            "Only the total series is published; movers appear when the dataset forecasts more series."
        )
        return
    movers["series"] = movers["series_id"].map(fmt.series_label)
    movers["direction"] = movers["change"].map(lambda change: "up" if change >= 0 else "down")
    movers["change_text"] = movers["change_pct"].map(lambda v: "new" if v != v else f"{v:+.1%}")
    spec = {
        "mark": {"type": "bar", "size": 20},
        "encoding": {
            "y": charts.field("series:N", sort="-x", title=None, scale={"paddingInner": 0.25}),
            "x": charts.field(
                "change:Q",
                title=f"{fmt.target_label('revenue', currency)}, last 7 days minus the 7 before",
                axis={"format": "~s"},
            ),
            "color": charts.field(
                "direction:N", scale=charts.scale({"up": charts.GOOD, "down": charts.BAD}), legend=None
            ),
            "tooltip": [
                charts.field("series:N", title="Series"),
                charts.field("current:Q", format=",.0f"),
                charts.field("previous:Q", format=",.0f"),
                charts.field("change_text:N", title="Change"),
            ],
        },
        **charts.rows(len(movers)),  # the plot grows with the bars; the axis title never squeezes them
    }
    charts.draw(spec, movers[["series", "change", "direction", "current", "previous", "change_text"]])


render()
