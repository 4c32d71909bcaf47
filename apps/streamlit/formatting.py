"""How the dashboards say things: series names, targets, amounts, dates. No data access here."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

TARGET_LABELS = {"units": "Units", "revenue": "Revenue"}
KEY_LABELS = {"location": "Location", "product_id": "Product"}
TOTAL_SERIES = "total"


def series_label(series_id: str) -> str:
    """`total` -> "All locations"; `location=1|product_id=23` -> "Location 1 · Product 23"."""
    if series_id == TOTAL_SERIES:
        return "All locations"
    parts = (part.partition("=") for part in series_id.split("|"))
    return " · ".join(f"{KEY_LABELS.get(key, key)} {value}" for key, _, value in parts)


def plural(n: int, noun: str) -> str:
    """`1 part`, `3 parts`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def target_label(target: str, currency: str | None = None) -> str:
    """`Units`, `Revenue`, or `Revenue (EUR)` when the dataset names its currency (`dataset_settings.currency`)."""
    return in_currency(TARGET_LABELS.get(target, target.capitalize()), target, currency)


def in_currency(text: str, target: str, currency: str | None) -> str:
    """`text (EUR)` when the measure is money and the currency is known; else `text`."""
    return f"{text} ({currency})" if target == "revenue" and currency else text


def compact(value: float | None) -> str:
    """A number an executive reads at a glance: 1,234 / 48.2K / 1.23M. None and NaN become an em dash."""
    if value is None or math.isnan(value):
        return "—"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            scaled = value / limit
            digits = 0 if abs(scaled) >= 100 else 1 if abs(scaled) >= 10 else 2
            return f"{scaled:.{digits}f}{suffix}"
    return f"{value:,.0f}"


def percent_change(current: float, previous: float | None) -> str | None:
    """ "+4.2%" for the change from `previous` to `current`, or None when there is nothing to compare with."""
    if previous is None or math.isnan(previous) or previous == 0:
        return None
    return f"{(current - previous) / abs(previous):+.1%}"


def day(value: dt.date) -> str:
    """Sun 30 Jun 2024."""
    return value.strftime("%a %d %b %Y")


def short_day(value: dt.date) -> str:
    """30 Jun."""
    return value.strftime("%d %b").lstrip("0")


def day_ranges(days: Iterable[dt.date]) -> str:
    """Days as runs of consecutive days: `30 Jun–2 Jul, 5 Jul, 8–9 Jul`."""
    runs: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][-1] == dt.timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(_day_range(run[0], run[-1]) for run in runs)


def _day_range(first: dt.date, last: dt.date) -> str:
    """`5 Jul`, `2–4 Jul`, `30 Jun–2 Jul`."""
    if first == last:
        return short_day(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{short_day(last)}"
    return f"{short_day(first)}–{short_day(last)}"


# the monitored columns in a reader's words: the segments' customer features and the drift job's sales-line columns
COLUMN_LABELS = {
    "recency_days": "Days since last purchase",
    "frequency": "Orders",
    "monetary": "Net spend",
    "tenure_days": "Days as a customer",
    "avg_basket_value": "Average basket value",
    "return_rate": "Return rate",
    "product_variety": "Products bought",
    "avg_days_between_orders": "Days between orders",
    "quantity": "Quantity per line",
    "unit_price": "Unit price",
    "location": "Location",
    "has_customer": "Known customer",
    "segment_mix": "Segment mix",
}


def column_label(name: str) -> str:
    """`avg_basket_value` -> "Average basket value"; a column not listed is spelled out from its name."""
    return COLUMN_LABELS.get(name) or TARGET_LABELS.get(name) or name.replace("_", " ").capitalize()


def drift_feature_label(feature: str) -> str:
    """A drift metric's `<model kind> <scope>: <feature>` as words: `forecast inputs: location=Germany:revenue`
    -> "Forecast inputs · Location Germany · Revenue"; `segmentation inputs: recency_days` -> "Segmentation
    inputs · Days since last purchase"."""
    kind, _, name = feature.partition(": ")
    series, _, column = name.rpartition(":")
    parts = [kind.capitalize(), *([series_label(series)] if series else []), column_label(column)]
    return " · ".join(parts)
