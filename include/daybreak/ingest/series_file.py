"""The rules an ad-hoc file of series must pass before `daybreak forecast --input` fits anything.

The input has one row per series and period: columns `id`, `timestamp`, `value` (CSV, or Parquet by extension;
other columns are ignored), or the file's own names for them (`columns`: `--id-column` and so on). Series may have different lengths and start dates; each is forecast `horizon` periods
past its own last timestamp. A file that breaks a rule is refused before anything is fitted, with an error that
names the file, the row (the line number in a CSV, header = line 1) and the rule.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from daybreak.core.vocabulary import PANDAS_FREQUENCIES, WEEKDAYS
from daybreak.ingest.timestamps import parse_timestamps
from daybreak.models.forecasting.context import base_frequency
from daybreak.models.forecasting.spec import CandidateError

log = logging.getLogger(__name__)

REQUIRED = ("id", "timestamp", "value")
MAX_HORIZON = 10_000
"""Periods ahead an ad-hoc forecast may reach: past it no model says anything, and the fit's memory grows with it."""


class InputFileError(ValueError):
    """The input file (or an option) breaks a rule; the message names the file, the row and the rule."""


def check_horizon(horizon: int) -> None:
    """Refuse a horizon no forecast can serve, before the file is read.

    Raises:
        InputFileError: below 1 or above `MAX_HORIZON`.
    """
    if not 1 <= horizon <= MAX_HORIZON:
        raise InputFileError(f"--horizon {horizon}: must be between 1 and {MAX_HORIZON} periods")


def check_horizon_dates(frame: pd.DataFrame, pandas_freq: str, horizon: int) -> None:
    """Refuse a horizon whose last date pandas cannot hold (year 2262), before anything is fitted.

    Only the latest series can overflow, since every series is forecast from its own last timestamp.

    Raises:
        InputFileError: naming the option, the series and the largest horizon that fits.
    """
    last = frame["ds"].max()

    def reachable(periods: int) -> bool:
        try:
            pd.date_range(last, periods=periods + 1, freq=pandas_freq)
        except (pd.errors.OutOfBoundsDatetime, OverflowError):
            return False
        return True

    if not reachable(horizon):
        fits, beyond = 0, horizon  # bisect: `fits` periods are reachable, `beyond` are not
        while beyond - fits > 1:
            middle = (fits + beyond) // 2
            fits, beyond = (middle, beyond) if reachable(middle) else (fits, middle)
        series = frame.loc[frame["ds"] == last, "series_id"].iloc[0]
        raise InputFileError(
            f"--horizon {horizon}: series {series!r} would be forecast past {pd.Timestamp.max.date()}, the last "
            f"date pandas can hold; at most {fits} periods from its last timestamp {last}"
        ) from None


def read_series_file(
    path: Path, freq: str, columns: dict[str, str] | None = None
) -> tuple[pd.DataFrame, str]:
    """Read and check a long-format file; returns (`series_id, ds, y` frame, the pandas frequency of its grid).

    Args:
        columns: the file's column for each of `id`, `timestamp` and `value` that is named otherwise.

    Raises:
        InputFileError: missing columns, an unparseable timestamp, a non-numeric value, a duplicate timestamp
            within a series, or timestamps off the frequency's grid.
    """
    try:
        base = base_frequency(PANDAS_FREQUENCIES.get(freq, freq))
    except CandidateError:
        raise InputFileError(
            f"--freq {freq!r}: use H (hourly), D (daily), W (weekly) or M (monthly)"
        ) from None
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        raw = pd.read_parquet(path) if parquet else pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:  # 0 bytes, or only blank lines: not even a header
        raise InputFileError(f"{path}: rule empty_file: the file is empty (no header, no rows)") from None
    except Exception as error:  # noqa: BLE001 - any reader error is the file's fault, say so
        raise InputFileError(
            f"{path}: cannot be read as {'Parquet' if parquet else 'CSV'}: {error}"
        ) from None
    names = {role: (columns or {}).get(role) or role for role in REQUIRED}
    missing = [names[role] for role in REQUIRED if names[role] not in raw.columns]
    if missing:
        raise InputFileError(
            f"{path}: rule missing_column: required columns {missing} not found (columns: {list(raw.columns)}); "
            "name the file's own with --id-column, --timestamp-column and --value-column"
        )
    raw = raw.loc[:, [names[role] for role in REQUIRED]].set_axis(list(REQUIRED), axis=1)
    if raw.empty:
        raise InputFileError(f"{path}: rule empty_file: no data rows")
    # CSV: data row i is line i + 2 (the header is line 1); Parquet: 1-based row number
    rows = pd.Series(raw.index + (2 if not parquet else 1), index=raw.index)
    where = "line" if not parquet else "row"

    def fail(mask: pd.Series, rule: str, detail: str) -> None:
        first = mask[mask].index[0]
        count = int(mask.sum())
        more = f" ({count - 1} more rows like it)" if count > 1 else ""
        raise InputFileError(f"{path}: {where} {rows[first]}: rule {rule}: {detail(first)}{more}")

    ids = raw["id"].astype(str).str.strip()
    if (blank := ids.eq("") | raw["id"].isna()).any():
        fail(blank, "missing_id", lambda i: "the id is empty")
    timestamps = parse_timestamps(raw["timestamp"], timezone="UTC")
    if (bad := timestamps.isna()).any():
        fail(
            bad,
            "timestamp_unparseable",
            lambda i: f"timestamp {raw.at[i, 'timestamp']!r} is not a date or time",
        )
    text = raw["value"].astype(str).str.strip()
    values = pd.to_numeric(raw["value"], errors="coerce")
    empty = raw["value"].isna() | text.isin(["", "nan", "NaN", "None"])
    if (bad := values.isna() & ~empty).any():
        fail(bad, "value_not_numeric", lambda i: f"value {raw.at[i, 'value']!r} is not a number")
    if (bad := values.notna() & ~pd.Series(values).abs().lt(float("inf"))).any():
        fail(bad, "value_not_finite", lambda i: f"value {raw.at[i, 'value']!r} is not finite")
    frame = pd.DataFrame({"series_id": ids, "ds": timestamps, "y": values.astype(float)})
    if (bad := frame.duplicated(["series_id", "ds"], keep="first")).any():
        fail(bad, "duplicate_timestamp", lambda i: f"series {ids[i]!r} has timestamp {timestamps[i]} twice")
    pandas_freq = _grid(frame, base, fail)
    return frame.sort_values(["series_id", "ds"], ignore_index=True), pandas_freq


def _grid(frame: pd.DataFrame, base: str, fail) -> str:
    """The pandas frequency the timestamps sit on, or a failure naming the first one that is off it."""
    ds = frame["ds"]
    if base == "h":
        off = ds != ds.dt.floor("h")
        if off.any():
            fail(off, "timestamp_off_grid", lambda i: f"{ds[i]} is not on the hour")
        return "h"
    off = ds != ds.dt.normalize()
    if off.any():
        fail(off, "timestamp_off_grid", lambda i: f"{ds[i]} has a time of day; --freq {base} needs dates")
    if base == "D":
        return "D"
    if base == "W":
        weekday = ds.dt.weekday
        first = int(weekday.iloc[0])
        off = weekday != first
        if off.any():
            fail(
                off,
                "timestamp_off_grid",
                lambda i: f"{ds[i].date()} is not a {ds.iloc[0].day_name()} like row 1",
            )
        return "W-" + WEEKDAYS[first]
    if ds.dt.is_month_start.all():
        return "MS"
    if ds.dt.is_month_end.all():
        return "ME"
    off = ~ds.dt.is_month_start
    fail(
        off,
        "timestamp_off_grid",
        lambda i: f"{ds[i].date()} is not a month's first day (nor are all last days)",
    )
    raise AssertionError("unreachable")
