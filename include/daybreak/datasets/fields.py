"""The types and rules several sections of a dataset config share: canonical columns, targets, schedules,
weekdays, and the strictness every section has (an unknown key is refused)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, get_args

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

CanonicalColumn = Literal[
    "order_id",
    "ordered_at",
    "customer_id",
    "product_id",
    "product_name",
    "location",
    "quantity",
    "unit_price",
    "revenue",
]
NumericColumn = Literal["quantity", "unit_price", "revenue"]
TextColumn = Literal["order_id", "customer_id", "product_id", "product_name", "location"]
SeriesKey = Literal["location", "product_id"]
Target = Literal["units", "revenue"]
Schedule = Literal["daily", "weekly", "monthly"]
Algorithm = Literal["kmeans", "gmm"]
CANONICAL_COLUMNS = get_args(CanonicalColumn)
REQUIRED_COLUMNS = ("ordered_at", "product_id", "location", "quantity", "unit_price")
Grain = Literal["lines", "aggregated"]
MEASURES = {"lines": ("quantity", "unit_price"), "aggregated": ("revenue",)}
"""The numeric columns each grain requires: a sales line's units and unit price, an aggregated row's revenue (its
units, `quantity`, optional)."""
NUMERIC_COLUMNS = get_args(NumericColumn)
TEXT_RULE_COLUMNS = get_args(TextColumn)
TARGETS = get_args(Target)
SEGMENTATION_ALGORITHMS = get_args(Algorithm)
RETRAIN_SCHEDULES = get_args(Schedule)
Weekday = Annotated[int, Field(ge=0, le=6)]
STRICT = ConfigDict(extra="forbid")


def section(cls):
    """A config section: frozen, every unknown key refused."""
    return dataclass(frozen=True, config=STRICT)(cls)


def is_retrain_day(schedule: str, weekday: int, day: dt.date) -> bool:
    """Whether `day` is a retrain night of `schedule`: daily every night, weekly on `weekday` (Monday = 0),
    monthly on the 1st. Forecasting and segmentation share the rule."""
    if schedule == "daily":
        return True
    if schedule == "weekly":
        return day.weekday() == weekday
    return day.day == 1
