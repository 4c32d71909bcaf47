"""Forecast explorer: a series' nightly forecast beside what was actually sold.

Layout only: the numbers come from `data` (`series`, `forecast`), the wording from `formatting`; the sections
around the main chart are drawn by `forecast_sections`.
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
from data import series
from data.relations import Relation
from grain import Grain

REQUIRED_TABLES = (Relation.DAILY_SALES, Relation.FORECASTS)
LOOKBACK_OPTIONS = (7, 14, 30, 60, 90, 120, 180, 270, 365, 730)
DEFAULT_LOOKBACK = {"hourly": 14, "daily": 120, "weekly": 365, "monthly": 730}


def render() -> None:
    st.title("Forecast explorer")
    if not guards.published(*REQUIRED_TABLES):
        return
    series_ids = series.list_series()
    if not series_ids:
        st.info("**No forecasts have been published yet.** They appear after the next nightly run.")
        return

    with st.sidebar:
        series_ids = _filter_by_keys(series_ids)
        series_id = st.selectbox(
            "Series",
            series_ids,
            index=series_ids.index(fmt.TOTAL_SERIES) if fmt.TOTAL_SERIES in series_ids else 0,
            format_func=fmt.series_label,
        )
        versions = series.list_forecast_versions(series_id).set_index("as_of_date", drop=False)
        as_of_date = st.selectbox(
            "Forecast made on",
            versions.index.tolist(),
            index=0,
            # the model's family: its full name (`prophet(seasonality_mode=additive,...)`) is cut off here
            format_func=lambda day: f"{fmt.day(day)} · {versions.loc[day, 'model'].partition('(')[0]}",
            help="Each nightly run forecasts from that night's data; older versions stay for comparison.",
        )
    selected = versions.loc[as_of_date]
    target = selected["target"]
    if target not in fmt.TARGET_LABELS:
        st.error(f"The forecast's target {target!r} is neither units nor revenue; this page cannot show it.")
        return
    rows = series.forecast(series_id, as_of_date)
    grain = Grain.of(rows)
    with st.sidebar:
        lookback = st.select_slider(
            "History shown",
            LOOKBACK_OPTIONS,
            value=DEFAULT_LOOKBACK[grain.frequency],
            format_func=lambda days: f"{days} days",
            help="Days of actuals shown before the forecast was made.",
        )
    guards.published_caption()
    span = series.actuals_range(series_id)
    if span is None:
        st.info(f"**{fmt.series_label(series_id)} has no actual sales yet.**")
        return
    last_actual = span[1]
    horizon = len(rows)
    first = rows["period"].min()
    window_start = pd.Timestamp(as_of_date - dt.timedelta(days=lookback))
    earliest = min(
        window_start,
        grain.shift(first, -grain.recent) - grain.year,
        grain.shift(first, -horizon),
    )
    sales = series.period_actuals(series_id, earliest.date(), last_actual, grain).set_index("period")[target]

    adjective = grain.frequency
    st.caption(
        f"{fmt.series_label(series_id)} · {adjective} {fmt.target_label(target).lower()} · "
        f"forecast made on {fmt.day(as_of_date)} for the next {grain.count(horizon)}"
    )
    currency = dataset_settings.currency()
    forecast_kpis.kpis(sales, rows, selected, grain, target, currency)
    if rows["override_id"].notna().any():
        overridden = rows[rows["override_id"].notna()]
        st.info(
            f"**A planner's override sets {grain.count(len(overridden))} of this forecast** "
            f"({fmt.short_day(overridden['target_date'].min())}–{fmt.short_day(overridden['target_date'].max())}, "
            f"{', '.join(sorted(set(overridden['override_id'])))}). The orange line is the final forecast; the "
            "dashed line is the model's, kept beside it. Who changed it and why: the Review page.",
            icon=":material/edit_note:",
        )
    forecast_sections.contained_overrides(series_id, as_of_date)
    with st.container(border=True):
        st.markdown(f"**{adjective.capitalize()} {fmt.target_label(target).lower()}: actual and forecast**")
        charts.draw(
            charts.forecast_chart(
                sales[sales.index >= window_start], rows, as_of_date, target, grain, currency
            )
        )
    forecast_sections.detail_table(rows, sales, series_id, as_of_date, grain, target, currency)
    forecast_sections.components(series_id, as_of_date, grain)
    forecast_sections.revisions(series_id, rows, grain)
    forecast_sections.accuracy(series_id, grain)


def _filter_by_keys(series_ids: list[str]) -> list[str]:
    """A selectbox per key of the dataset's series (location, product, ...) narrowing the series list.

    Series ids spell their keys (`location=DE|product_id=23`), so the keys are read from the ids themselves and
    the page follows whatever keys the dataset config declares. Only shown when some series have keys.
    """
    keyed = {
        sid: dict(part.partition("=")[::2] for part in sid.split("|")) for sid in series_ids if "=" in sid
    }
    keys = sorted({key for parts in keyed.values() for key in parts})
    chosen: dict[str, str] = {}
    for key in keys:
        values = sorted({parts[key] for parts in keyed.values() if key in parts})
        pick = st.selectbox(
            f"Filter by {fmt.KEY_LABELS.get(key, key).lower()}",
            ["Any", *values],
            key=f"filter_{key}",
            help="Narrows the Series list to the series with this value of the key.",
        )
        if pick != "Any":
            chosen[key] = pick
    if not chosen:
        return series_ids
    matching = [sid for sid, parts in keyed.items() if all(parts.get(k) == v for k, v in chosen.items())]
    return matching or series_ids


render()
