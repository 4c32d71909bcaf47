"""The dashboards' one visual language (colours, axes, tooltips) and the charts more than one page draws.

Every chart is a plain Vega-Lite spec (a dict) drawn with `st.vega_lite_chart`, not an Altair chart: the browser
receives the same spec either way, but building layered Altair charts and Streamlit's validation of them against
the whole Vega-Lite schema took about two thirds of the Forecast explorer's server time on a 10-million-line
history (docs/benchmarks.md, "Dashboard pages"). `field` spells an encoding the way Altair's shorthand does
(`"date:T"`), so a page's spec reads like the chart it draws.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import formatting as fmt
import numpy as np
import pandas as pd
import streamlit as st

from daybreak.core import spreadsheet

if TYPE_CHECKING:
    from collections.abc import Mapping

    from grain import Grain

ACTUAL = "Actual"
FORECAST = "Forecast"
BAND_80 = "80% interval"
BAND_95 = "95% interval"
STATISTICAL = "Model's forecast (before override)"
INK = "#1f3b57"  # the dashboards' dark blue: actuals, champions, what was loaded
ACCENT = "#e8710a"  # the theme's orange (.streamlit/config.toml): forecasts, challengers
COLORS = {ACTUAL: INK, FORECAST: ACCENT, BAND_80: "#f7bd85", BAND_95: "#fde3cb"}
STATISTICAL_COLOR = "#6a4c93"
MUTED = "#7b8794"
GRID = "#e4e7eb"
GOOD, BAD = "#2e7d32", "#c62828"  # improved / worsened, up / down, passed / failed
TYPES = {"Q": "quantitative", "T": "temporal", "N": "nominal", "O": "ordinal"}

Spec = dict[str, Any]
FULL_LABELS = {part: {"labelLimit": 0} for part in ("axis", "legend", "header")}  # 0: no limit


def field(shorthand: str, **properties: Any) -> Spec:
    """An encoding of a column: `field("date:T", title=None)` -> {"field": "date", "type": "temporal", ...}."""
    name, _, kind = shorthand.rpartition(":")
    return {"field": name, "type": TYPES[kind], **properties}


def scale(colors: Mapping[str, str]) -> Spec:
    """A colour scale giving each category its fixed colour, in the mapping's order (which the legend follows)."""
    return {"domain": list(colors), "range": list(colors.values())}


FIT_WIDTH: Spec = {"type": "fit-x", "contains": "padding"}
"""A chart's `autosize` that fits its width to the page and leaves its `height` to the plot alone. Streamlit's
default fits the whole chart, axes, titles and legends included, into the height, which squeezes the plot of a
chart with few rows or a legend below it (a one-row bar chart becomes a hairline)."""


def rows(count: int, step: int = 34) -> Spec:
    """The size of a chart of `count` rows (one per category): `step` pixels a row, the width fitted. (A height in
    Vega-Lite's own steps would make Vega warn that it drops Streamlit's fitting.)"""
    return {"height": step * count, "autosize": FIT_WIDTH}


def draw(spec: Spec, data: pd.DataFrame | None = None, *, width: str = "stretch") -> None:
    """Draw a spec (with `data`, or the spec's own `datasets`) in Streamlit's chart theme. Send only the columns
    the spec reads: every cell travels to the browser. Axis, legend and header labels are never cut off (Vega
    truncates them at 160 to 180 pixels by default: "Location United ..."); a spec's own `config` still wins."""
    st.vega_lite_chart(data, {**spec, "config": FULL_LABELS | spec.get("config", {})}, width=width)


def table(frame: pd.DataFrame, **options: Any) -> None:
    """The dashboards' one way to show a table (`st.dataframe`, `options` passed on). Its toolbar downloads it as a
    CSV that a spreadsheet opens, so text a spreadsheet would run as a formula (a planner's reason, a source file's
    raw values: `=HYPERLINK(...)`) is escaped as Daybreak's own CSV files escape it (`daybreak.core.spreadsheet`)."""
    st.dataframe(spreadsheet.escape_formulas(frame), **options)


def day_ticks(first: dt.date | pd.Timestamp, last: dt.date | pd.Timestamp) -> Spec:
    """A time axis's ticks for days from `first` to `last`: whole days, weeks or months, never hours (Vega ticks a
    few days' span every 12 hours, labelled "12 PM")."""
    days = (pd.Timestamp(last) - pd.Timestamp(first)).days
    if days <= 14:
        return {"interval": "day", "step": 1 if days <= 10 else 2}
    return {"interval": "week" if days <= 120 else "month"}


def day_axis(dates: pd.Series, **properties: Any) -> Spec:
    """A time axis for a column of days: `1 Jul`, ticking whole days (`day_ticks`)."""
    return {"format": "%-d %b", "tickCount": day_ticks(dates.min(), dates.max()), **properties}


def forecast_chart(
    history: pd.Series,
    rows: pd.DataFrame,
    as_of_date: dt.date,
    target: str,
    grain: Grain,
    currency: str | None = None,
) -> Spec:
    """Actuals as a line, the forecast as a line over its 80% and 95% bands, a rule at the last period the
    forecast knew, and a hover rule whose tooltip reads every value of the period (a closed day's forecast says
    so). `history` is indexed by period and `rows` (`data.series.forecast`) have theirs, both at `grain`; a money
    axis names `currency`. The data travels in the spec (`datasets`)."""
    overridden = moved_by_overrides(rows)
    colors = COLORS | ({STATISTICAL: STATISTICAL_COLOR} if overridden else {})
    actual = history.rename("actual").rename_axis("date").reset_index()
    forecast = rows.rename(columns={"period": "date"})[
        ["date", "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
        + (["yhat_statistical"] if overridden else [])
    ]
    frame = actual.merge(forecast, on="date", how="outer").sort_values("date")
    frame["date"] = pd.to_datetime(frame["date"])  # datetime64 is read as local time, ISO dates as UTC
    frame["actual_text"] = number_text(frame["actual"])
    frame["yhat_text"] = number_text(frame["yhat"])
    if "is_closed" in rows:
        closed = pd.to_datetime(rows.loc[rows["is_closed"].astype(bool), "period"])
        frame.loc[frame["date"].isin(closed), "yhat_text"] += " · closed"
    frame["band_80"] = number_text(frame["yhat_lower_80"]) + " – " + number_text(frame["yhat_upper_80"])
    frame["band_95"] = number_text(frame["yhat_lower_95"]) + " – " + number_text(frame["yhat_upper_95"])
    frame.loc[frame["yhat"].isna(), ["band_80", "band_95"]] = "—"
    origin = grain.shift(rows["period"].min(), -1) if not rows.empty else pd.Timestamp(as_of_date)
    as_of = pd.DataFrame({"date": [origin], "text": [f"Forecast made {fmt.short_day(as_of_date)}"]})

    legend = {"title": None, "orient": "top", "direction": "horizontal", "symbolType": "square"}
    ticks = 8 if grain.frequency == "hourly" else day_ticks(frame["date"].min(), frame["date"].max())
    if grain.frequency == "monthly":
        ticks = {"interval": "month"}
    x = field(
        "date:T",
        title=None,
        axis={"format": grain.axis_format, "grid": False, "labelColor": MUTED, "tickCount": ticks},
    )

    def tagged(layer: str, mark: Spec, **encoding: Any) -> Spec:
        """A layer of the series frame whose colour (and legend entry) is `layer`: a constant `datum` of the
        colour scale, which Vega carries as a value, never as expression text (a label's quote cannot break it)."""
        color = {"datum": layer, "type": "nominal", "scale": scale(colors), "legend": legend}
        return {"mark": mark, "encoding": {"x": x, "color": color, **encoding}}

    y_axis = {"format": "~s", "labelColor": MUTED, "titleColor": MUTED, "gridColor": GRID}
    layers = [
        tagged(
            BAND_95,
            {"type": "area"},
            y=field(
                "yhat_lower_95:Q", title=f"{fmt.target_label(target, currency)} per {grain.noun}", axis=y_axis
            ),
            y2={"field": "yhat_upper_95"},
        ),
        tagged(BAND_80, {"type": "area"}, y=field("yhat_lower_80:Q"), y2={"field": "yhat_upper_80"}),
        tagged(ACTUAL, {"type": "line", "strokeWidth": 1.8}, y=field("actual:Q")),
        tagged(FORECAST, {"type": "line", "strokeWidth": 2.4}, y=field("yhat:Q")),
    ]
    if overridden:  # the planner's final forecast is the orange line; the model's is kept beside it, dashed
        layers.append(
            tagged(
                STATISTICAL,
                {"type": "line", "strokeWidth": 1.8, "strokeDash": [6, 4]},
                y=field("yhat_statistical:Q"),
            )
        )
    as_of_layer = {"data": {"name": "as_of"}, "encoding": {"x": field("date:T")}}
    hover = {"param": "hover", "empty": False}
    layers += [
        as_of_layer | {"mark": {"type": "rule", "color": MUTED, "strokeDash": [4, 4]}},
        as_of_layer
        | {
            "mark": {
                "type": "text",
                "align": "right",
                "baseline": "top",
                "dx": -6,
                "dy": 6,
                "color": MUTED,
                "fontSize": 12,
            },
            "encoding": as_of_layer["encoding"] | {"y": {"value": 0}, "text": field("text:N")},
        },
        {
            "params": [
                {
                    "name": "hover",
                    "select": {
                        "type": "point",
                        "fields": ["date"],
                        "nearest": True,
                        "on": "pointerover",
                        "clear": "pointerout",
                    },
                }
            ],
            "mark": {"type": "rule", "color": MUTED, "strokeWidth": 1},
            "encoding": {
                "x": x,
                "opacity": {"condition": hover | {"value": 0.5}, "value": 0},
                "tooltip": [
                    field("date:T", title=grain.noun.capitalize(), format=grain.label_format),
                    field("actual_text:N", title=ACTUAL),
                    field("yhat_text:N", title=FORECAST),
                    field("band_80:N", title=BAND_80),
                    field("band_95:N", title=BAND_95),
                ],
            },
        },
        {
            "transform": [{"filter": hover}],
            "layer": [
                {
                    "mark": {"type": "circle", "size": 45, "color": COLORS[line]},
                    "encoding": {"x": x, "y": field(column)},
                }
                for line, column in ((ACTUAL, "actual:Q"), (FORECAST, "yhat:Q"))
            ],
        },
    ]
    return {
        "datasets": {"series": frame, "as_of": as_of},
        "data": {"name": "series"},
        "height": 420,
        "layer": layers,
    }


def moved_by_overrides(rows: pd.DataFrame) -> bool:
    """Whether planners' overrides moved a forecast version (`data.series.forecast` rows): its own (`override_id`),
    or its parts' (a total re-summed from its overridden locations keeps the model's value in `yhat_statistical`)."""
    if "yhat_statistical" not in rows or rows.empty:
        return False
    model = rows["yhat_statistical"].fillna(rows["yhat"])
    return bool(
        rows["override_id"].notna().any() or not np.allclose(rows["yhat"], model, rtol=1e-9, atol=1e-6)
    )


def number_text(values: pd.Series) -> pd.Series:
    """Tooltip text: 52,123, or an em dash where there is no value."""
    return values.map("{:,.0f}".format).where(values.notna(), "—")
