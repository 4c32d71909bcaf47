"""The ad-hoc path (`daybreak forecast --input`): every series of a long frame selected and forecast afresh from
its own last period, with the nightly engine, and nothing registered."""

from __future__ import annotations

import dataclasses

import pandas as pd

from daybreak.models.forecasting.context import SeriesContext, grid_frequency
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.pool import run_all
from daybreak.models.forecasting.tasks import FORECAST_COLUMNS, SeriesTask


def forecast_frame(
    frame: pd.DataFrame,
    *,
    freq: str,
    options: ForecastOptions,
    context: SeriesContext | None = None,
    max_workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Select and forecast every series of a long frame (`series_id, ds, y`), each from its own last period.

    Returns:
        (forecasts: `series_id` + FORECAST_COLUMNS, selections: one row per series).
    """
    context = context or SeriesContext(freq=freq)
    tasks = []
    for series_id, group in frame.groupby("series_id", sort=True):
        origin = pd.Timestamp(group["ds"].max())
        ctx = dataclasses.replace(context, freq=grid_frequency(freq, origin))
        tasks.append(
            SeriesTask(
                series_id=str(series_id),
                ds=group["ds"].to_numpy(),
                y=group["y"].to_numpy(dtype=float),
                origin=origin,
                context=ctx,
                options=options,
                components=False,
            )
        )
    results = run_all(tasks, max_workers=max_workers)
    forecasts = pd.concat(
        [r.forecast.assign(series_id=r.series_id) for r in results]
        or [pd.DataFrame(columns=list(FORECAST_COLUMNS))],
        ignore_index=True,
    )
    selections = pd.DataFrame([{"series_id": r.series_id, **r.selection.row()} for r in results])
    return forecasts.loc[:, ["series_id", *FORECAST_COLUMNS]], selections
