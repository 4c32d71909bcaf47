"""`daybreak forecast --input FILE --freq D --horizon 28 --output FILE`: forecast any long-format file of series.

For an analyst's ad-hoc question, with the same engine as the nightly job (`run_series`: backtested selection
among the candidates, 80% and 95% intervals, flagged fallbacks), without the warehouse or the registry.

The input has one row per series and period: columns `id`, `timestamp`, `value` (CSV, or Parquet by extension;
other columns are ignored). Series may have different lengths and start dates; each is forecast `horizon` periods
past its own last timestamp. A file that breaks a rule is refused before anything is fitted, with an error that
names the file, the row (the line number in a CSV, header = line 1) and the rule.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

REQUIRED = ("id", "timestamp", "value")
ADHOC_CANDIDATES = (
    "seasonal_naive",
    {"model": "prophet", "seasonality_mode": "search"},
    "auto_ets",
    "theta",
)
"""What competes for an ad-hoc series: the baseline, Prophet both ways, and two fast statistical models."""


class InputFileError(ValueError):
    """The input file breaks a rule; the message names the file, the row and the rule."""


def read_series_file(path: Path, freq: str) -> tuple[pd.DataFrame, str]:
    """Read and check a long-format file; returns (`series_id, ds, y` frame, the pandas frequency of its grid).

    Raises:
        InputFileError: missing columns, an unparseable timestamp, a non-numeric value, a duplicate timestamp
            within a series, or timestamps off the frequency's grid.
    """
    from daybreak.models.candidates import FREQUENCIES, CandidateError, base_frequency

    try:
        base = base_frequency(FREQUENCIES.get(freq, freq))
    except CandidateError:
        raise InputFileError(
            f"--freq {freq!r}: use H (hourly), D (daily), W (weekly) or M (monthly)"
        ) from None
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        raw = pd.read_parquet(path) if parquet else pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as error:  # noqa: BLE001 - any reader error is the file's fault, say so
        raise InputFileError(
            f"{path}: cannot be read as {'Parquet' if parquet else 'CSV'}: {error}"
        ) from None
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputFileError(
            f"{path}: rule missing_column: required columns {missing} not found (columns: {list(raw.columns)})"
        )
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
    timestamps = pd.to_datetime(raw["timestamp"], errors="coerce", format="mixed")
    if (bad := timestamps.isna()).any():
        fail(
            bad,
            "timestamp_unparseable",
            lambda i: f"timestamp {raw.at[i, 'timestamp']!r} is not a date or time",
        )
    if getattr(timestamps.dt, "tz", None) is not None:
        timestamps = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
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
        return "W-" + ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[first]
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


def forecast_file(
    input_path: Path,
    output_path: Path,
    *,
    freq: str,
    horizon: int,
    candidates: list[str] | None = None,
    folds: int = 2,
    seed: int | None = None,
    max_workers: int | None = None,
) -> dict:
    """Forecast every series of `input_path` and write `output_path` (CSV, or Parquet by extension).

    Output columns: `id, timestamp, horizon_step, yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95,
    yhat_upper_95, model`.

    Returns:
        a summary: series, rows written, which model won how often, series that fell back and why.
    """
    from daybreak.datasets import parse_candidates
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.candidates import SeriesContext
    from daybreak.models.forecasting import ForecastOptions, forecast_frame

    if horizon < 1:
        raise InputFileError(f"--horizon must be at least 1, got {horizon}")
    frame, pandas_freq = read_series_file(input_path, freq)
    options = ForecastOptions(
        candidates=parse_candidates(candidates or list(ADHOC_CANDIDATES)),
        horizon=horizon,
        folds=folds,
        ensemble_top=0,
    )
    context = SeriesContext(freq=pandas_freq, seed=DEFAULT_SEED if seed is None else seed)
    forecasts, selections = forecast_frame(
        frame, freq=pandas_freq, options=options, context=context, max_workers=max_workers
    )
    out = forecasts.rename(columns={"series_id": "id", "ds": "timestamp"})
    output_path.parent.mkdir(parents=True, exist_ok=True)
    if output_path.suffix.lower() in (".parquet", ".pq"):
        out.to_parquet(output_path, index=False)
    else:
        out.to_csv(output_path, index=False)
    fallbacks = selections.loc[selections["fallback_reason"].notna(), ["series_id", "fallback_reason"]]
    return {
        "input": str(input_path),
        "output": str(output_path),
        "series": int(len(selections)),
        "rows_written": int(len(out)),
        "frequency": pandas_freq,
        "horizon": horizon,
        "models": {k: int(v) for k, v in selections["scoring_model"].value_counts().sort_index().items()},
        "fallbacks": dict(zip(fallbacks["series_id"], fallbacks["fallback_reason"], strict=True)),
    }
