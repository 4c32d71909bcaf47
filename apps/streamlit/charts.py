"""Charts more than one page draws, in the dashboards' one visual language (colours, axes, tooltips)."""

from __future__ import annotations

import datetime as dt

import altair as alt
import formatting as fmt
import pandas as pd

ACTUAL = "Actual"
FORECAST = "Forecast"
BAND_80 = "80% interval"
BAND_95 = "95% interval"
STATISTICAL = "Model's forecast (before override)"
COLORS = {ACTUAL: "#1f3b57", FORECAST: "#e8710a", BAND_80: "#f7bd85", BAND_95: "#fde3cb"}
STATISTICAL_COLOR = "#6a4c93"
MUTED = "#7b8794"


def forecast_chart(
    history: pd.Series, rows: pd.DataFrame, as_of_date: dt.date, target: str
) -> alt.LayerChart:
    """Actuals as a line, the forecast as a line over its 80% and 95% bands, and a rule at the as-of date."""
    overridden = "override_id" in rows and rows["override_id"].notna().any()
    colors = COLORS | ({STATISTICAL: STATISTICAL_COLOR} if overridden else {})
    actual = history.rename("actual").rename_axis("date").reset_index()
    forecast = rows.rename(columns={"target_date": "date"})[
        ["date", "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
        + (["yhat_statistical"] if overridden else [])
    ]
    frame = actual.merge(forecast, on="date", how="outer").sort_values("date")
    frame["date"] = pd.to_datetime(frame["date"])  # datetime64 is read as local time, ISO dates as UTC
    frame["actual_text"] = number_text(frame["actual"])
    frame["yhat_text"] = number_text(frame["yhat"])
    frame["band_80"] = number_text(frame["yhat_lower_80"]) + " – " + number_text(frame["yhat_upper_80"])
    frame["band_95"] = number_text(frame["yhat_lower_95"]) + " – " + number_text(frame["yhat_upper_95"])
    frame.loc[frame["yhat"].isna(), ["band_80", "band_95"]] = "—"

    label = fmt.target_label(target)
    color = alt.Color(
        "layer:N",
        scale=alt.Scale(domain=list(colors), range=list(colors.values())),
        legend=alt.Legend(title=None, orient="top", direction="horizontal", symbolType="square"),
    )
    base = alt.Chart(frame).encode(
        x=alt.X(
            "date:T", title=None, axis=alt.Axis(format="%-d %b", grid=False, labelColor=MUTED, tickCount=8)
        )
    )

    def tagged(chart: alt.Chart, layer: str) -> alt.Chart:
        return chart.transform_calculate(layer=f"'{layer}'").encode(color=color)

    y_axis = alt.Axis(format="~s", labelColor=MUTED, titleColor=MUTED, gridColor="#e4e7eb")
    band_95 = tagged(
        base.mark_area().encode(
            y=alt.Y("yhat_lower_95:Q", title=f"{label} per day", axis=y_axis), y2="yhat_upper_95:Q"
        ),
        BAND_95,
    )
    band_80 = tagged(base.mark_area().encode(y="yhat_lower_80:Q", y2="yhat_upper_80:Q"), BAND_80)
    actual_line = tagged(base.mark_line(strokeWidth=1.8).encode(y="actual:Q"), ACTUAL)
    forecast_line = tagged(base.mark_line(strokeWidth=2.4).encode(y="yhat:Q"), FORECAST)

    hover = alt.selection_point(
        fields=["date"], nearest=True, on="pointerover", clear="pointerout", empty=False
    )
    hover_rule = (
        base.mark_rule(color=MUTED, strokeWidth=1)
        .encode(
            opacity=alt.condition(hover, alt.value(0.5), alt.value(0)),
            tooltip=[
                alt.Tooltip("date:T", title="Date", format="%a %d %b %Y"),
                alt.Tooltip("actual_text:N", title=ACTUAL),
                alt.Tooltip("yhat_text:N", title=FORECAST),
                alt.Tooltip("band_80:N", title=BAND_80),
                alt.Tooltip("band_95:N", title=BAND_95),
            ],
        )
        .add_params(hover)
    )
    hover_points = alt.layer(
        base.mark_circle(size=45, color=COLORS[ACTUAL]).encode(y="actual:Q"),
        base.mark_circle(size=45, color=COLORS[FORECAST]).encode(y="yhat:Q"),
    ).transform_filter(hover)

    as_of = pd.DataFrame(
        {"date": [pd.Timestamp(as_of_date)], "text": [f"Forecast made {fmt.short_day(as_of_date)}"]}
    )
    as_of_rule = alt.Chart(as_of).mark_rule(color=MUTED, strokeDash=[4, 4]).encode(x="date:T")
    as_of_text = (
        alt.Chart(as_of)
        .mark_text(align="right", baseline="top", dx=-6, dy=6, color=MUTED, fontSize=12)
        .encode(x="date:T", y=alt.value(0), text="text:N")
    )
    layers = [band_95, band_80, actual_line, forecast_line]
    if overridden:  # the planner's final forecast is the orange line; the model's is kept beside it, dashed
        layers.append(
            tagged(
                base.mark_line(strokeWidth=1.8, strokeDash=[6, 4]).encode(y="yhat_statistical:Q"), STATISTICAL
            )
        )
    return alt.layer(*layers, as_of_rule, as_of_text, hover_rule, hover_points).properties(height=420)


def number_text(values: pd.Series) -> pd.Series:
    """Tooltip text: 52,123, or an em dash where there is no value."""
    return values.map("{:,.0f}".format).where(values.notna(), "—")
