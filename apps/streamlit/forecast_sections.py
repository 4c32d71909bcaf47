"""The Forecast explorer's sections around its main chart (its key figures are in `forecast_kpis`): the overrides
of the series' parts, and below the chart the forecast's detail table and CSV, its decomposition, how it moved
across nights and its accuracy by horizon.

Layout only, as the page: the numbers come from the page (a version's rows, the actuals) and from
`data.forecast`, the wording from `formatting`.
"""

from __future__ import annotations

import datetime as dt
import re

import charts
import formatting as fmt
import pandas as pd
import streamlit as st
from data import forecast, series
from grain import Grain

from daybreak.core import spreadsheet

VALUE_COLUMNS = (
    "yhat",
    "yhat_lower_80",
    "yhat_upper_80",
    "yhat_lower_95",
    "yhat_upper_95",
    "yhat_statistical",
)
CSV_COLUMNS = (
    "series_id",
    "as_of_date",
    "target_date",
    "target_time",
    "horizon_step",
    *VALUE_COLUMNS,
    "override_id",
    "target",
    "frequency",
    "model",
    "model_version",
    "run_id",
)


def contained_overrides(series_id: str, as_of_date: dt.date) -> None:
    """Which of the series' parts (locations of the total, ...) a planner overrode in this forecast, and on which
    days: the series moved with them, though no override names it."""
    parts = series.overridden_parts(series_id, as_of_date)
    if parts.empty:
        return
    which = "; ".join(
        f"**{fmt.series_label(part)}** ({fmt.day_ranges(days)})"
        for part, days in parts.groupby("series_id")["target_date"]
    )
    st.info(
        f"**This forecast includes planners' overrides of {fmt.plural(parts['series_id'].nunique(), 'part')}:** "
        f"{which}. On those days it is the sum of its parts' final forecasts, so it moved with them; the dashed "
        "line is the model's forecast before the overrides. Who changed them and why: the Review page.",
        icon=":material/edit_note:",
    )


def detail_table(
    rows: pd.DataFrame,
    sales: pd.Series,
    series_id: str,
    as_of_date: dt.date,
    grain: Grain,
    target: str,
    currency: str | None,
) -> None:
    """The forecast's rows beside the actuals, one Markdown table, with the rows as a CSV download; a day the shop
    is closed says so beside its forecast of 0."""
    closed = rows["is_closed"].to_numpy(dtype=bool)
    table = rows.join(sales.rename("actual"), on="period")
    table["versus"] = (table["actual"] - table["yhat"]) / table["yhat"]
    columns = [
        "period",
        "horizon_step",
        "yhat",
        "yhat_statistical",
        "yhat_lower_80",
        "yhat_upper_80",
        "yhat_lower_95",
        "yhat_upper_95",
        "actual",
        "versus",
    ]
    table = table[columns].round({c: 0 for c in columns[2:-1]})

    title_column, download_column = st.columns([4, 1], vertical_alignment="bottom")
    title_column.subheader("Forecast detail")
    download_column.download_button(
        "Download CSV",
        forecast_csv(rows, series_id, as_of_date, grain),
        file_name=re.sub(r"[^A-Za-z0-9_.-]+", "_", f"forecast_{series_id}_{as_of_date.isoformat()}.csv"),
        mime="text/csv",
        icon=":material/download:",
        width="stretch",
    )

    # one Markdown table in a scrolling box: the horizon's few rows need neither st.dataframe's data grid (half a
    # megabyte of script, loaded on the page's first render) nor st.table's Markdown element per cell, both plain
    # in a CPU profile of the page in chromium (docs/benchmarks.md, "Dashboard pages")
    headers = {
        "period": "Week ending" if grain.frequency == "weekly" else grain.noun.capitalize(),
        "horizon_step": f"{grain.noun.capitalize()}s ahead",
        "yhat": fmt.in_currency(f"{charts.FORECAST} {fmt.target_label(target).lower()}", target, currency),
        "yhat_statistical": "Model's forecast",
        "yhat_lower_80": "80% low",
        "yhat_upper_80": "80% high",
        "yhat_lower_95": "95% low",
        "yhat_upper_95": "95% high",
        "actual": charts.ACTUAL,
        "versus": "Actual vs forecast",
    }
    cells = pd.DataFrame(
        {
            "period": table["period"].map(grain.label),
            "horizon_step": table["horizon_step"].map(str),
            **{column: charts.number_text(table[column]) for column in columns[2:-1]},
            "versus": table["versus"].map("{:+.1%}".format).where(table["versus"].notna(), "—"),
        }
    )
    cells["yhat"] = cells["yhat"].where(~closed, cells["yhat"] + " · closed")
    lines = [
        "| " + " | ".join(headers[column] for column in columns) + " |",
        "|:--|" + "--:|" * (len(columns) - 1),
        *("| " + " | ".join(row) + " |" for row in cells[columns].itertuples(index=False)),
    ]
    with st.container(height=318, border=False):
        st.markdown("\n".join(lines))
    st.caption("Actual vs forecast: how far the actual came in above (+) or below (-) the forecast.")


def forecast_csv(rows: pd.DataFrame, series_id: str, as_of_date: dt.date, grain: Grain) -> str:
    """A forecast version as a CSV for people: which series and night, then per period the date (and an hourly
    row's hour), the forecast and its bounds, then the model's value, the override and the model; money rounded to
    cents and other measures to 4 decimals, formulas escaped (`daybreak.core.spreadsheet`)."""
    frame = rows.assign(
        series_id=series_id,
        as_of_date=as_of_date.isoformat(),
        target_date=rows["target_date"].map(dt.date.isoformat),
        target_time=rows["period"].dt.strftime("%Y-%m-%d %H:%M"),
    )
    columns = [column for column in CSV_COLUMNS if column != "target_time" or grain.frequency == "hourly"]
    decimals = 2 if rows["target"].eq("revenue").all() else 4
    return spreadsheet.to_csv(frame[columns].round(dict.fromkeys(VALUE_COLUMNS, decimals)))


def components(series_id: str, as_of_date: dt.date, grain: Grain) -> None:
    """The forecast's decomposition (trend, weekly, yearly, holidays, regressors), when its model has one."""
    parts = forecast.forecast_components(series_id, as_of_date)
    if parts.empty:
        return
    st.subheader("What drives this forecast")
    modes = sorted(set(parts["mode"]))
    st.caption(
        f"{parts['model'].iloc[0]}'s decomposition of each forecast {grain.noun}. "
        + (
            "Additive parts are in the target's units and add up to the forecast. "
            if "additive" in modes
            else ""
        )
        + ("Multiplicative parts are fractions of the trend. " if "multiplicative" in modes else "")
        + (
            "Parts of a log model are on the log1p scale. "
            if any(m.startswith("log1p") for m in modes)
            else ""
        )
    )
    spec = {
        "facet": {"row": charts.field("component:N", title=None)},
        "spec": {
            "mark": "bar",
            "encoding": {
                "x": charts.field(
                    "period:T",
                    title=None,
                    axis={"format": grain.axis_format}
                    | ({} if grain.frequency == "hourly" else {"tickCount": charts.day_ticks(*_span(parts))}),
                ),
                "y": charts.field("value:Q", title=None),
                "color": charts.field("component:N", title="Component"),
                "tooltip": [
                    charts.field("period:T", title=grain.noun.capitalize(), format=grain.label_format),
                    charts.field("component:N"),
                    charts.field("value:Q", format=",.3~f"),
                    charts.field("mode:N"),
                ],
            },
            "height": 160,
        },
        "resolve": {"scale": {"y": "independent"}},
    }
    charts.draw(spec, parts[["period", "component", "value", "mode"]])


def _span(parts: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    return parts["period"].min(), parts["period"].max()


def revisions(series_id: str, rows: pd.DataFrame, grain: Grain) -> None:
    """How the forecast for this version's first few periods moved across the nights that forecast all of them."""
    if rows.empty:
        return
    first = rows["period"].min()
    last = min(rows["period"].max(), grain.shift(first, grain.recent - 1))
    moves = forecast.forecast_revisions(series_id, first, last, grain)
    window = f"{grain.label(first)} to {grain.label(last)}"
    st.subheader("How the forecast moved")
    if len(moves) < 2:
        st.caption(
            f"Only one night has forecast all of {window} so far; once later nights forecast it too, this shows "
            "how the forecast for it changed night by night."
        )
        return
    st.caption(
        f"The forecast total for {window}, as made on each night that covered all of it, with its 80% interval."
    )
    moves["as_of_date"] = pd.to_datetime(moves["as_of_date"])
    x = charts.field("as_of_date:T", title="Forecast made on", axis=charts.day_axis(moves["as_of_date"]))
    spec = {
        "layer": [
            {
                "mark": {"type": "area", "color": charts.COLORS[charts.BAND_80], "opacity": 0.7},
                "encoding": {
                    "x": x,
                    "y": charts.field("yhat_lower_80:Q", title="Forecast total", axis={"format": "~s"}),
                    "y2": {"field": "yhat_upper_80"},
                },
            },
            {
                "mark": {"type": "line", "point": True, "color": charts.COLORS[charts.FORECAST]},
                "encoding": {
                    "x": x,
                    "y": charts.field("yhat:Q"),
                    "tooltip": [
                        charts.field("as_of_date:T", title="Made on"),
                        charts.field("yhat:Q", format=",.0f"),
                    ],
                },
            },
        ],
        "height": 220,
    }
    charts.draw(spec, moves[["as_of_date", "yhat", "yhat_lower_80", "yhat_upper_80"]])


def accuracy(series_id: str, grain: Grain) -> None:
    """Accuracy by horizon of every scored forecast, against the seasonal naive on the same periods."""
    scores = forecast.accuracy_by_horizon(series_id)
    st.subheader("Accuracy by horizon")
    if scores.empty:
        st.caption(
            f"No forecast of this series has been scored yet: a forecast is scored once its {grain.noun}'s "
            "actuals land (`predictions.forecast_accuracy`), so this fills in over the nights after a forecast is "
            "made."
        )
        return
    long = scores.melt(
        id_vars=["horizon_step", "scored"],
        value_vars=["wape", "naive_wape"],
        var_name="forecast",
        value_name="value",
    )
    long["forecast"] = long["forecast"].map({"wape": "Forecast", "naive_wape": "Seasonal naive"})
    st.caption(
        f"Weighted absolute percentage error (lower is better) of the forecasts made that many {grain.noun}s "
        f"ahead, beside the seasonal naive on the same {grain.noun}s: where the line is below the naive's, the "
        "model adds value."
    )
    spec = {
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": charts.field(
                "horizon_step:Q",
                title=f"{grain.noun.capitalize()}s ahead",
                axis={"tickMinStep": 1, "format": "d"},  # whole periods ahead, never 1.2
            ),
            "y": charts.field("value:Q", title="WAPE", axis={"format": "%"}),
            "color": charts.field(
                "forecast:N",
                scale=charts.scale(
                    {"Forecast": charts.COLORS[charts.FORECAST], "Seasonal naive": charts.MUTED}
                ),
                legend={"title": None, "orient": "top"},
            ),
            "tooltip": [
                charts.field("horizon_step:Q"),
                charts.field("forecast:N"),
                charts.field("value:Q", format=".1%"),
                charts.field("scored:Q"),
            ],
        },
        "height": 220,
    }
    charts.draw(spec, long)
