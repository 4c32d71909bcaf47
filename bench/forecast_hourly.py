"""Online Retail as an hourly dataset through the night's jobs: the selected forecasts against the seasonal naive.

Writes a copy of the shipped `online_retail` config with `series.frequency: hourly` (48 hours ahead, candidates
the seasonal naive, Prophet, and MSTL on 24 and 168 hours), replays the UCI file day by day through ingest, builds the marts
(`features_series_hourly` among them) for the night, and runs the forecast job that night: a retrain night, so
every series backtests every candidate on the same rolling origins (3 folds of 48 hours). Reports, per series
(the five countries and the total), the selected model's backtest MASE and the seasonal naive's, measured in the
same run, and their ratio; the issue asks for a ratio of at most 0.85.

    .venv/bin/python -m bench forecast_hourly --source /work/shared/data/online_retail/online_retail.parquet \\
        --home /tmp/hourly

Ingest needs the privacy keys (`DAYBREAK_PSEUDONYM_KEY`, `DAYBREAK_LINK_STORE_KEY`, docs/privacy.md); throwaway ones
do for a throwaway home.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time
import warnings
from pathlib import Path


def write_hourly_config(folder: Path, source: Path, **forecasting) -> Path:
    """Write `online_retail_hourly.yml` into `folder`: the shipped `online_retail` config forecast hourly, 48 hours
    ahead, by the seasonal naive, Prophet and MSTL (no ensemble); `forecasting` overrides more of that section."""
    import yaml

    from daybreak.core.settings import dataset_path

    raw = yaml.safe_load(dataset_path("online_retail").read_text(encoding="utf-8"))
    raw["name"] = "online_retail_hourly"
    raw["source"]["default_path"] = str(source.resolve())
    raw["series"] |= {"frequency": "hourly", "horizon": 48}
    raw["forecasting"] = {
        **raw.get("forecasting", {}),
        "candidates": ["seasonal_naive", "prophet", "mstl"],
        "ensemble_top": 0,
        **forecasting,
    }
    path = folder / "online_retail_hourly.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench forecast_hourly", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--source", required=True, help="online_retail.parquet")
    parser.add_argument("--home", required=True, type=Path, help="an empty folder for DAYBREAK_HOME")
    parser.add_argument("--first", default="2010-12-01", help="the first day replayed")
    parser.add_argument("--night", default="2011-03-31", help="the night forecast (a business date)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)

    import duckdb

    from daybreak.core.settings import Settings
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.replay import replay_dataset
    from jobs import forecast, ingest, transform

    first, night = dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.night)
    args.home.mkdir(parents=True, exist_ok=True)
    config_path = write_hourly_config(args.home, Path(args.source))
    settings = Settings(home=args.home, dataset=str(config_path))
    config = load_dataset_config(config_path)

    started = time.perf_counter()
    replay_dataset(config, settings.landing_dir, source=args.source, start=first, end=night, overwrite=True)
    days = [first + dt.timedelta(days=i) for i in range((night - first).days + 1)]
    list(ingest.run_days(days, "bench", settings))
    transform.run(night, "bench", settings, full_refresh=True)
    loaded = time.perf_counter() - started
    summary = forecast.run(night, "bench", settings, retrain=True, max_workers=1)
    forecast_seconds = time.perf_counter() - started - loaded

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        selection = connection.execute(
            "select series_id, scoring_model, challenger_score, baseline_score, n_history, skipped "
            "from predictions.forecast_selection where as_of_date = ? order by series_id",
            [night],
        ).df()
        hours = connection.execute(
            "select count(*) from marts.features_series_hourly where sales_date <= ?", [night]
        ).fetchone()[0]
    selection["ratio"] = selection["challenger_score"] / selection["baseline_score"]
    result = {
        "night": night.isoformat(),
        "history": [first.isoformat(), night.isoformat()],
        "hourly_mart_rows": int(hours),
        "load_seconds": round(loaded, 1),
        "forecast_seconds": round(forecast_seconds, 1),
        "rows_written": summary["rows_written"],
        "mean_ratio": round(float(selection["ratio"].mean()), 3),
        "series": {
            row.series_id: {
                "model": row.scoring_model,
                "mase": round(float(row.challenger_score), 3),
                "naive_mase": round(float(row.baseline_score), 3),
                "ratio": round(float(row.ratio), 3),
                "hours": int(row.n_history),
                "skipped": row.skipped,
            }
            for row in selection.itertuples()
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
