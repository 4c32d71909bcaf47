"""`daybreak forecast --input FILE --freq D --horizon 28 --output FILE`: forecast any long-format file of series.

For an analyst's ad-hoc question, with the same engine as the nightly job (`run_series`: backtested selection
among the candidates, 80% and 95% intervals, flagged fallbacks), without the warehouse or the registry. The
file's rules live in `daybreak.ingest.series_file`; a CSV output is written for people (`daybreak.core.spreadsheet`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from daybreak.core import spreadsheet
from daybreak.datasets import parse_candidates
from daybreak.ingest.series_file import InputFileError, check_horizon, check_horizon_dates, read_series_file
from daybreak.models import DEFAULT_SEED
from daybreak.models.forecasting.adhoc import forecast_frame
from daybreak.models.forecasting.context import SeriesContext
from daybreak.models.forecasting.options import ForecastOptions

__all__ = ["InputFileError", "forecast_file"]

ADHOC_CANDIDATES = (
    "seasonal_naive",
    {"model": "prophet", "seasonality_mode": "search"},
    "auto_ets",
    "theta",
    "mstl",
)
"""What competes for an ad-hoc series: the baseline, Prophet both ways, and three fast statistical models, MSTL
for more than one seasonal period (its periods are the frequency's, `context.SEASON_LENGTHS`: 24 and 168 for
hourly data, 7 and 365 for daily data with two years of it)."""


def run_command(args: argparse.Namespace) -> dict:
    """`daybreak forecast --input FILE --output FILE`; returns what to print."""
    if not (args.input and args.output):
        raise SystemExit("daybreak forecast: --input and --output go together")
    candidates = [c.strip() for c in args.candidates.split(",")] if args.candidates else None
    columns = {"id": args.id_column, "timestamp": args.timestamp_column, "value": args.value_column}
    return forecast_file(
        args.input, args.output, freq=args.freq, horizon=args.horizon, candidates=candidates, columns=columns
    )


def forecast_file(
    input_path: Path,
    output_path: Path,
    *,
    freq: str,
    horizon: int,
    candidates: list[str] | None = None,
    columns: dict[str, str] | None = None,
    folds: int = 2,
    seed: int | None = None,
    max_workers: int | None = None,
) -> dict:
    """Forecast every series of `input_path` and write `output_path` (CSV, or Parquet by extension).

    A file whose values are all 0 or more (units, revenue) is forecast like the nightly job's non-negative
    targets: no point or bound below zero (`SeriesContext.non_negative`, the one rule); a file with a negative
    value (a margin, a change) is not clipped.

    Output columns: `id, timestamp, horizon_step, yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95,
    yhat_upper_95, model, fallback_reason` (empty unless the series fell back to the baseline, and why).

    Returns:
        a summary: series, rows written, which model won how often, series that fell back and why.

    Raises:
        InputFileError: the file or the horizon breaks a rule (nothing is fitted or written).
    """
    check_horizon(horizon)
    frame, pandas_freq = read_series_file(input_path, freq, columns)
    check_horizon_dates(frame, pandas_freq, horizon)
    options = ForecastOptions(
        candidates=parse_candidates(candidates or list(ADHOC_CANDIDATES)),
        horizon=horizon,
        folds=folds,
        ensemble_top=0,
    )
    context = SeriesContext(
        freq=pandas_freq,
        seed=DEFAULT_SEED if seed is None else seed,
        non_negative=bool((frame["y"].dropna() >= 0).all()),
    )
    forecasts, selections = forecast_frame(
        frame, freq=pandas_freq, options=options, context=context, max_workers=max_workers
    )
    reasons = selections.set_index("series_id")["fallback_reason"]
    out = forecasts.rename(columns={"series_id": "id", "ds": "timestamp"})
    out["fallback_reason"] = out["id"].map(reasons)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    if output_path.suffix.lower() in (".parquet", ".pq"):
        out.to_parquet(output_path, index=False)
    else:
        spreadsheet.to_csv(out, output_path)
    fallbacks = reasons.dropna()
    return {
        "input": str(input_path),
        "output": str(output_path),
        "series": int(len(selections)),
        "rows_written": int(len(out)),
        "frequency": pandas_freq,
        "horizon": horizon,
        "non_negative": context.non_negative,
        "models": {k: int(v) for k, v in selections["scoring_model"].value_counts().sort_index().items()},
        "fallbacks": fallbacks.to_dict(),
    }
