"""The Forecast explorer's key figures above its chart, in cards: the recent actuals against a year earlier, the
forecast's total against the periods before it, its error so far and the model. `card` is the bordered card the
Overview's figures sit in too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import formatting as fmt
import pandas as pd
import streamlit as st

if TYPE_CHECKING:
    from grain import Grain
    from streamlit.delta_generator import DeltaGenerator


def card(column: DeltaGenerator) -> DeltaGenerator:
    """A bordered card filling its column's height, so a row of cards lines up whatever each one holds."""
    return column.container(border=True, height="stretch")


def kpis(
    sales: pd.Series, rows: pd.DataFrame, selected: pd.Series, grain: Grain, target: str, currency: str | None
) -> None:
    """The last few periods before the forecast against a year earlier, the forecast's total against the same
    number of periods before it, its error so far, and the model; windows count the forecast's periods."""
    horizon = len(rows)
    origin = grain.shift(rows["period"].min(), -1)  # the last period the forecast knew
    recent_first = grain.shift(origin, 1 - grain.recent)
    recent = _window_sum(sales, recent_first, origin, grain)
    year_ago = _window_sum(sales, recent_first - grain.year, origin - grain.year, grain)
    before = _window_sum(sales, grain.shift(origin, 1 - horizon), origin, grain)
    forecast_total = float(rows["yhat"].sum())
    matched = rows.join(sales.rename("actual"), on="period", how="inner")

    label = fmt.target_label(target, currency)
    recent_column, forecast_column, error_column, model_column = st.columns(4)
    compared = recent is not None and year_ago is not None
    card(recent_column).metric(
        f"{label}, last {grain.count(grain.recent)}",
        fmt.compact(recent),
        delta=fmt.percent_change(recent, year_ago) if compared else "no year-ago data",
        delta_color="normal" if compared else "off",
        delta_arrow="auto" if compared else "off",
        delta_description="vs last year" if compared else None,
        help=f"Actual {label.lower()} from {grain.label(recent_first)} to {grain.label(origin)}, compared with "
        f"the same {grain.noun}s a year earlier when that history exists.",
    )
    card(forecast_column).metric(
        f"{fmt.in_currency('Forecast', target, currency)}, next {grain.count(horizon)}",
        fmt.compact(forecast_total),
        delta=fmt.percent_change(forecast_total, before) if before is not None else "no prior actuals",
        delta_color="normal" if before is not None else "off",
        delta_arrow="auto" if before is not None else "off",
        delta_description=f"vs last {grain.count(horizon)}" if before is not None else None,
        help=f"Sum of the {grain.frequency} forecasts from {grain.label(rows['period'].min())} to "
        f"{grain.label(rows['period'].max())}, compared with the actuals of the {grain.count(horizon)} before.",
    )
    if matched.empty:
        card(error_column).metric(
            "Forecast error so far",
            "—",
            delta="awaiting actuals",
            delta_color="off",
            delta_arrow="off",
            help=f"Weighted absolute percentage error (WAPE) of the {grain.noun}s that have actuals. None yet.",
        )
    else:
        volume = matched["actual"].abs().sum()
        wape = (matched["actual"] - matched["yhat"]).abs().sum() / volume if volume else None
        inside = matched["actual"].between(matched["yhat_lower_80"], matched["yhat_upper_80"]).mean()
        card(error_column).metric(
            f"Forecast error, first {grain.count(len(matched))}",
            f"{wape:.1%}" if wape is not None else "—",
            delta=f"{inside:.0%} within 80% band",
            delta_color="off",
            delta_arrow="off",
            help="Weighted absolute percentage error (WAPE): total absolute miss over total actual, for the "
            f"{len(matched)} of {horizon} forecast {grain.noun}s that already have actuals; and the share of "
            "them whose actual fell inside the 80% interval.",
        )
    # the family as the card's figure, its settings and version in words below that wrap (a model's full name,
    # `prophet(seasonality_mode=additive,transform=none)`, is cut off as a figure)
    family, _, settings = str(selected["model"]).partition("(")
    with card(model_column):
        st.metric(
            "Model",
            family,
            help=f"{selected['model']}, version {selected['model_version']}, written by run {selected['run_id']}.",
        )
        st.caption(
            " · ".join(
                filter(None, (settings.removesuffix(")").replace(",", ", "), selected["model_version"]))
            )
        )


def _window_sum(values: pd.Series, first: pd.Timestamp, last: pd.Timestamp, grain: Grain) -> float | None:
    """The sum over the periods `first`..`last`, or None unless every period of the window has an actual."""
    window = values[(values.index >= first) & (values.index <= last)]
    return float(window.sum()) if len(window) == len(grain.span(first, last)) else None
