"""Daybreak's words, each spelled once: what a dataset config says and what the ingest and the models read.

Config and code both import these, so a frequency, a selection metric or an export format means the same
everywhere, and the config layer can name them without importing the code that acts on them. Model family names
are not here: they are the keys of the family registry (`daybreak.models.forecasting.registry`), where a family is
added.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

ExportFormat = Literal["csv", "parquet", "jsonl"]
FORMATS = get_args(ExportFormat)
"""The export formats a landing reads (`landing.format`)."""
WHITESPACE_DELIMITER = "whitespace"
"""`landing.delimiter`'s value for fields separated by runs of spaces and tabs."""
FLOAT_SUFFIX = re.compile(r"\.0+$")
"""Customer ids exported from float columns arrive as "17850.0"; the id is "17850"."""

Frequency = Literal["hourly", "daily", "weekly", "monthly"]
"""A dataset's forecast period (`series.frequency`); daily when a config says nothing."""
FREQUENCIES = get_args(Frequency)
DEFAULT_FREQUENCY: Frequency = "daily"
PANDAS_FREQUENCIES = {"hourly": "h", "daily": "D", "weekly": "W", "monthly": "MS"}
"""A frequency -> its pandas alias: hours, days, weeks (anchored on a weekday by `models.periods`), months by
their first day."""

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
"""Weekdays as pandas' anchors spell them, Monday = 0 as in the dataset config and Python's `date.weekday()`."""
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SUNDAY = 6

SelectionMetric = Literal["mase", "smape", "rmse"]
"""What ranks forecast candidates (`forecasting.selection_metric`); lower is better."""
SELECTION_METRICS = get_args(SelectionMetric)
METRICS = ("mase", "smape", "rmse", "bias", "coverage_80", "coverage_95")
"""Every backtest metric a forecast candidate is scored on, per fold."""

NormalNight = Literal["score", "refit"]
"""What a night that does not retrain does with a champion (`forecasting.normal_night`)."""
NORMAL_NIGHTS = get_args(NormalNight)
