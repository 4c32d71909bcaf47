"""Forecast every series of the dataset from the daily sales mart, as of one business date.

Reads `marts.fct_daily_sales` up to and including the business date, forecasts the dataset config's target
(`units` or `revenue`) `horizon` periods past it with Prophet (80% and 95% intervals; a naive forecast for series
too short or empty for Prophet), and replaces the business date's version in `predictions.forecasts`. Earlier
versions stay, so forecasts can be compared with what actually happened. The parameters of the run are kept beside
the other model artifacts as `models/<dataset>/forecast/<date>/params.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from typing import TYPE_CHECKING

from daybreak.datasets import load_dataset_config
from daybreak.settings import Settings, get_settings
from daybreak.warehouse import connect, read_frame, replace_partition

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

TABLE = "predictions.forecasts"
HISTORY_SQL = """
select series_id, sales_date, units, revenue
from marts.fct_daily_sales
where sales_date <= ?
order by series_id, sales_date
"""


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Forecast all series as of `business_date` and replace that version of `predictions.forecasts`.

    Returns:
        a summary: rows written, series, how many got Prophet and how many the naive fallback, the model version.
    """
    from daybreak import __version__
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.forecasting import UNCERTAINTY_SAMPLES, forecast_all, to_periods

    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    spec = config.series
    model_version = f"prophet-{business_date.isoformat()}"

    daily = read_frame(settings.warehouse_path, HISTORY_SQL, [business_date])
    history = daily.rename(columns={"sales_date": "ds", spec.target: "y"}).loc[:, ["series_id", "ds", "y"]]
    periods, origin = to_periods(history, frequency=spec.frequency, as_of=business_date)
    forecasts = forecast_all(
        periods,
        horizon=spec.horizon,
        frequency=spec.frequency,
        holidays_country=spec.holidays_country,
        seed=DEFAULT_SEED,
        origin=origin,
    )
    frame = forecast_table(
        forecasts, business_date, target=spec.target, model_version=model_version, run_id=run_id
    )
    with connect(settings.warehouse_path) as connection:
        written = replace_partition(
            connection, TABLE, frame, key_column="as_of_date", key_value=business_date
        )

    models_by_series = forecasts.groupby("series_id", sort=True)["model"].first().to_dict()
    params = {
        "as_of_date": business_date.isoformat(),
        "model_version": model_version,
        "code_version": __version__,
        "dataset": config.name,
        "target": spec.target,
        "frequency": spec.frequency,
        "horizon": spec.horizon,
        "holidays_country": spec.holidays_country,
        "seed": DEFAULT_SEED,
        "uncertainty_samples": UNCERTAINTY_SAMPLES,
        "history_start": periods["ds"].min().date().isoformat() if len(periods) else None,
        "history_end": origin.date().isoformat(),
        "models": models_by_series,
    }
    params_path = settings.models_dir / "forecast" / business_date.isoformat() / "params.json"
    params_path.parent.mkdir(parents=True, exist_ok=True)
    staging = params_path.with_name(f".{params_path.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    os.replace(staging, params_path)

    counts = forecasts.groupby("model")["series_id"].nunique().to_dict()
    log.info("forecast %s: %d series, %d rows (%s)", business_date, len(models_by_series), written, counts)
    return {
        "as_of_date": business_date.isoformat(),
        "rows_written": written,
        "series": len(models_by_series),
        "series_prophet": int(counts.get("prophet", 0)),
        "series_naive": int(counts.get("naive", 0)),
        "target": spec.target,
        "horizon": spec.horizon,
        "model_version": model_version,
        "params_path": str(params_path),
    }


def forecast_table(
    forecasts: pd.DataFrame, business_date: dt.date, *, target: str, model_version: str, run_id: str
) -> pd.DataFrame:
    """Shape `forecast_all`'s output as `predictions.forecasts` rows, with the column types of the contract.

    Types are set explicitly (Arrow date and string columns) so the table gets DATE and VARCHAR columns even when
    the first version written is empty.
    """
    import pandas as pd
    import pyarrow as pa

    date, text = pd.ArrowDtype(pa.date32()), pd.ArrowDtype(pa.string())
    forecasts = forecasts.reset_index(drop=True)
    n = len(forecasts)
    return pd.DataFrame(
        {
            "as_of_date": pd.Series([business_date] * n, dtype=date),
            "series_id": forecasts["series_id"].astype(text),
            "target": pd.Series([target] * n, dtype=text),
            "target_date": pd.to_datetime(forecasts["ds"]).astype(date),
            "horizon_step": forecasts["horizon_step"].astype("int32"),
            **{
                column: forecasts[column].astype("float64")
                for column in ("yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")
            },
            "model": forecasts["model"].astype(text),
            "model_version": pd.Series([model_version] * n, dtype=text),
            "run_id": pd.Series([run_id] * n, dtype=text),
        }
    )
