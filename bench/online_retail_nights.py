"""Online Retail's nightly forecasts over the last eight weeks of the replay: MASE, closed days, negative bounds.

Replays the UCI file day by day through ingest, builds the marts once for the last day (the forecast reads only
rows dated up to its night, so one build serves every night), then runs the forecast job for every night of the
last eight weeks and scores each night's forecasts against the actuals that followed. The same script runs on any
checkout (`--home` a fresh folder), so before and after are measured the same way:

    .venv/bin/python bench/online_retail_nights.py --source /path/online_retail.parquet --home /tmp/or --out r.json

MASE per series: the mean absolute error of every (night, target day <= the last day) pair, over the in-sample
mean absolute error of the weekly seasonal naive on the history before the first night; reported per series and
as the mean over series, for all steps and for step 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time
import warnings
from pathlib import Path

FIRST_DAY, LAST_DAY = dt.date(2010, 12, 1), dt.date(2011, 12, 9)
WINDOW_DAYS = 56


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="online_retail.parquet")
    parser.add_argument("--home", required=True, type=Path, help="an empty folder for DAYBREAK_HOME")
    parser.add_argument("--out", required=True, type=Path, help="where the JSON results go")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)

    import duckdb

    from daybreak.core.settings import Settings
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.replay import replay_dataset
    from jobs import forecast, ingest, transform

    settings = Settings(home=args.home, dataset="online_retail")
    config = load_dataset_config("online_retail")
    started = time.perf_counter()
    if not settings.warehouse_path.exists():
        replay_dataset(config, settings.landing_dir, source=args.source)
        day = FIRST_DAY
        while day <= LAST_DAY:
            ingest.run(day, "bench", settings)
            day += dt.timedelta(days=1)
        transform.run(LAST_DAY, "bench", settings, full_refresh=True)
    loaded = time.perf_counter() - started
    first_night = LAST_DAY - dt.timedelta(days=WINDOW_DAYS)
    nights = [first_night + dt.timedelta(days=i) for i in range(WINDOW_DAYS)]
    for night in nights:
        forecast.run(night, f"bench-{night}", settings, max_workers=1)
    forecast_seconds = time.perf_counter() - started - loaded

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        pairs = connection.execute(
            """
            select f.series_id, f.as_of_date, f.target_date, f.horizon_step, f.yhat, f.yhat_lower_95,
                f.yhat_lower_80, f.yhat_upper_95, s.revenue as actual
            from predictions.forecasts as f
            inner join marts.fct_daily_sales as s
                on f.series_id = s.series_id and f.target_date = s.sales_date
            where f.as_of_date between ? and ? and f.target_date <= ?
            """,
            [nights[0], nights[-1], LAST_DAY],
        ).df()
        history = connection.execute(
            "select series_id, sales_date, revenue from marts.fct_daily_sales where sales_date <= ? "
            "order by series_id, sales_date",
            [first_night],
        ).df()
        every = connection.execute(
            "select series_id, target_date, yhat, yhat_lower_95, yhat_lower_80 from predictions.forecasts "
            "where as_of_date between ? and ?",
            [nights[0], nights[-1]],
        ).df()
    try:
        from daybreak.datasets.calendar import BusinessCalendar

        calendar = BusinessCalendar.from_config(config)
    except ImportError:  # a checkout from before the one calendar
        calendar = config.calendar
    closed = every["target_date"].dt.date.map(lambda d: not calendar.is_open(d))
    result = {
        "nights": [nights[0].isoformat(), nights[-1].isoformat()],
        "load_seconds": round(loaded, 1),
        "forecast_seconds": round(forecast_seconds, 1),
        "forecast_rows": len(every),
        "closed_day_rows": int(closed.sum()),
        "closed_day_rows_not_zero": int((every.loc[closed, "yhat"].abs() > 1e-9).sum()),
        "closed_day_mean_yhat": float(every.loc[closed, "yhat"].mean()),
        "rows_with_negative_lower_95": int((every["yhat_lower_95"] < 0).sum()),
        "series": {},
    }
    for series_id, group in pairs.groupby("series_id"):
        y = history.loc[history["series_id"] == series_id, "revenue"].to_numpy(float)
        scale = float(abs(y[7:] - y[:-7]).mean())
        errors = (group["yhat"] - group["actual"]).abs()
        step1 = group["horizon_step"] == 1
        result["series"][series_id] = {
            "mase": float(errors.mean() / scale),
            "mase_step_1": float(errors[step1].mean() / scale),
            "pairs": len(group),
        }
    per_series = result["series"].values()
    result["mase_mean"] = sum(s["mase"] for s in per_series) / len(result["series"])
    result["mase_step_1_mean"] = sum(s["mase_step_1"] for s in per_series) / len(result["series"])
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "series"}, indent=2))
    return result


if __name__ == "__main__":
    main()
