"""`global_lgbm`, the global candidate: one LightGBM model across every series of a dataset (mlforecast), conformal intervals.

A per-series model learns each series' shape from that series alone; a global model learns the shapes that
series share (a weekday profile, a month's step, how demand follows last week's) from all of them at once, and
one fit costs what a handful of per-series fits cost. Its features are the target's lags and rolling means at
the series' seasonal period from the horizon back (`features`), the calendar (day of week, month, day of year;
hour for hourly data) and the dataset calendar's
closed and holiday flags (`context.CalendarDays`, the same facts the other candidates see). Its 80% and 95% intervals are
split-conformal: each series' absolute errors over `conformal_windows` backtest windows of the horizon
(mlforecast's `cross_validation`), pooled over the steps (`conformal_widths`).

It cannot be fitted one series at a time (a `PanelFamily`): the engine fits it once per backtest fold and once on
the full histories, across all series (`panel.with_panel_forecasts`), and hands each series its share
(`fit_panel` here), which the series then scores like any other candidate's.

Pure: histories in, bands out; LightGBM is seeded, deterministic and runs on a fixed number of threads, so the
same panel gives the same forecasts on every machine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from daybreak.models.forecasting.bands import calendar_bands, filled
from daybreak.models.forecasting.context import SeriesContext
from daybreak.models.forecasting.family import PanelFamily
from daybreak.models.forecasting.spec import CandidateError, CandidateSpec

DEFAULTS = {  # what a spec may set, and its default
    "n_estimators": 500,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "conformal_windows": 3,
    "transform": "none",
}
THREADS = 1
"""LightGBM's threads, fixed: with `deterministic=True` the same data gives the same trees on every machine.
One, because on a shared machine its OpenMP threads wait on each other (300 trees on 32,000 rows: 1.0 s on one
thread, 3.6 s on two at a load of 6), and the per-series workers use the other cores meanwhile."""
LEVELS = (80, 95)
DATE_FEATURES = {
    "h": ("hour", "dayofweek"),
    "D": ("dayofweek", "month", "dayofyear"),
    "W": ("month",),
    "M": ("month",),
}


class GlobalLGBM(PanelFamily):
    """Parameters (`DEFAULTS`): LightGBM's `n_estimators`, `learning_rate` and `num_leaves`, the conformal
    intervals' `conformal_windows` (at least 2), and `transform` (none, log1p)."""

    name = "global_lgbm"
    params = tuple(DEFAULTS)

    def validate(self, params):
        if params.get("transform", "none") not in ("none", "log1p"):
            raise CandidateError("global_lgbm transform must be none or log1p")
        if int(params.get("conformal_windows", 2)) < 2:
            raise CandidateError(
                "global_lgbm conformal_windows must be at least 2 (conformal intervals need two)"
            )
        if (
            int(params.get("n_estimators", 1)) < 1
            or int(params.get("num_leaves", 2)) < 2
            or not 0 < float(params.get("learning_rate", 0.1)) <= 1
        ):
            raise CandidateError(
                "global_lgbm needs n_estimators >= 1, num_leaves >= 2 and 0 < learning_rate <= 1"
            )

    def panel_ineligible(
        self,
        candidate: CandidateSpec,
        y: np.ndarray,
        ctx: SeriesContext,
        horizon: int,
        reach: int | None = None,
    ) -> str | None:
        """Why this series cannot take part in a global fit that forecasts `horizon` periods, or None.

        It needs the features' warm-up (`min_history` for lags chosen for `reach`, default the horizon) plus the
        conformal windows' worth of horizons.
        """
        known = filled(y)
        windows = int(params(candidate)["conformal_windows"])
        warm_up = min_history(ctx, max(reach or horizon, horizon))
        needed = warm_up + windows * horizon
        if len(known) < needed:
            return (
                f"{len(known)} values, the global model needs {needed} ({warm_up} for its lags and rolling "
                f"means, {windows} conformal windows of {horizon})"
            )
        if params(candidate)["transform"] == "log1p" and (known < 0).any():
            return "log1p needs non-negative values"
        return None

    def fit_panel(
        self,
        candidate: CandidateSpec,
        histories: dict[str, tuple[pd.DatetimeIndex, np.ndarray]],
        horizon: int,
        ctx: SeriesContext,
        reach: int | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """Fit one model on every history and forecast `horizon` periods after each series' last period.

        Args:
            candidate: a `global_lgbm` spec.
            histories: series id -> (dates on the grid of `ctx.freq`, values; NaN for missing). Every series must be
                eligible (`panel_ineligible`); gaps are interpolated and leading missing values dropped.
            ctx: the grid, the calendar (closed/holiday features, and the calendar's zeros), the seed.
            reach: the horizon the lags are chosen for (`features`; default `horizon`): a backtest passes the
                forecast's, so that the model it scores is the model that forecasts.

        Returns:
            series id -> the bands (`yhat`, 80% and 95% bounds), with the calendar applied (`calendar_bands`).
        """
        # heavy, and only this family needs them
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.target_transforms import GlobalSklearnTransformer
        from sklearn.preprocessing import FunctionTransformer

        p = params(candidate)
        frames = []
        for series_id in sorted(histories):
            ds, y = histories[series_id]
            values = filled(y)
            frames.append(
                pd.DataFrame({"unique_id": series_id, "ds": ds[len(ds) - len(values) :], "y": values})
            )
        frame = _with_calendar(pd.concat(frames, ignore_index=True), ctx)
        lags, lag_transforms = features(ctx, max(reach or horizon, horizon))
        model = lgb.LGBMRegressor(
            n_estimators=int(p["n_estimators"]),
            learning_rate=float(p["learning_rate"]),
            num_leaves=int(p["num_leaves"]),
            seed=ctx.seed,
            deterministic=True,
            force_row_wise=True,
            num_threads=THREADS,
            verbosity=-1,
        )
        transforms = []
        if p["transform"] == "log1p":
            transforms.append(
                GlobalSklearnTransformer(FunctionTransformer(func=np.log1p, inverse_func=np.expm1))
            )
        forecaster = MLForecast(
            models={"lgbm": model},
            freq=ctx.freq,
            lags=lags,
            lag_transforms=lag_transforms,
            date_features=list(DATE_FEATURES[ctx.base]),
            target_transforms=transforms or None,
            num_threads=1,
        )
        windows = int(p["conformal_windows"])
        # the conformity scores: each series' absolute errors over the last `windows` horizons, one fit before them
        scored = forecaster.cross_validation(
            frame, n_windows=windows, h=horizon, refit=False, static_features=[]
        )
        scored = scored.assign(error=(scored["y"] - scored["lgbm"]).abs())
        widths = {
            str(series_id): conformal_widths(group["error"].to_numpy(float))
            for series_id, group in scored.groupby("unique_id", sort=False)
        }
        forecaster.fit(frame, static_features=[])
        future = _with_calendar(forecaster.make_future_dataframe(horizon), ctx)
        predicted = forecaster.predict(h=horizon, X_df=future)
        bands: dict[str, dict[str, np.ndarray]] = {}
        for series_id, group in predicted.groupby("unique_id", sort=False):
            group = group.sort_values("ds")
            yhat = group["lgbm"].to_numpy(float)
            width = widths[str(series_id)]
            raw = {"yhat": yhat}
            for level in LEVELS:
                raw[f"yhat_lower_{level}"] = yhat - width[level]
                raw[f"yhat_upper_{level}"] = yhat + width[level]
            bands[str(series_id)] = calendar_bands(raw, pd.DatetimeIndex(group["ds"]), ctx)
        return bands


def params(candidate: CandidateSpec) -> dict:
    """The spec's parameters with the defaults filled in."""
    return {**DEFAULTS, **{k: v for k, v in candidate.params.items() if k in DEFAULTS}}


def first_lag(ctx: SeriesContext, horizon: int) -> int:
    """The shortest lag: the first multiple of the seasonal period m at or beyond the horizon.

    Every feature then comes from values known at the origin, so a long horizon never feeds the model its own
    predictions (on store-item's 90 days, recursive lags 1, m and 2m gave a mean sMAPE of 14.3 on every tenth
    series, these lags 13.1, the log1p Prophet per series 12.9), and the same weekday (hour, week) is looked at.
    """
    m = ctx.season_length
    return m * max(1, -(-horizon // m))


def features(ctx: SeriesContext, horizon: int) -> tuple[list[int], dict]:
    """Lags L and L + m (L = `first_lag`); rolling means over the m and 4m periods up to lag L and over the same
    position in the 4 seasons up to it. Returns (lags, mlforecast lag_transforms)."""
    from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean  # heavy: only this family needs it

    m, lag = ctx.season_length, first_lag(ctx, horizon)
    transforms = {
        lag: [
            RollingMean(window_size=m),
            RollingMean(window_size=4 * m),
            SeasonalRollingMean(season_length=m, window_size=4),
        ]
    }
    return [lag, lag + m], transforms


def min_history(ctx: SeriesContext, horizon: int) -> int:
    """Values a series needs before its first training row has every feature, plus one season to learn from."""
    m = ctx.season_length
    return first_lag(ctx, horizon) + 4 * m + m


def conformal_widths(errors: np.ndarray) -> dict[int, float]:
    """Split-conformal half-widths for each level from one series' absolute backtest errors.

    The errors of every step of every window are pooled (mlforecast's `PredictionIntervals` takes a quantile
    per step over the windows alone: with two or three windows that is nearly the largest error, or the
    smallest: its 80% band covered 69% of the holdout of 50 store-item series, these bands 82%). The quantile is the
    ceil((n + 1) * level) / n one, so the band covers at least the level on exchangeable errors.
    """
    errors = np.sort(errors[np.isfinite(errors)])
    if len(errors) == 0:
        return {level: 0.0 for level in LEVELS}
    widths = {}
    for level in LEVELS:
        rank = min(len(errors), int(np.ceil((len(errors) + 1) * level / 100)))
        widths[level] = float(errors[rank - 1])
    return widths


def _with_calendar(frame: pd.DataFrame, ctx: SeriesContext) -> pd.DataFrame:
    """Add the dataset calendar's `closed` and `holiday` flags (known in advance, so usable over the horizon)."""
    days = pd.DatetimeIndex(frame["ds"]).normalize()
    unique = days.unique()  # the masks walk the dates in Python: once per day, not per row
    position = unique.get_indexer(days)
    return frame.assign(
        closed=ctx.calendar.closed_mask(unique).astype(float)[position],
        holiday=ctx.calendar.holiday_mask(unique).astype(float)[position],
    )
