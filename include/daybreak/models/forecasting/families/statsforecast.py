"""statsforecast's models, one family each: `auto_ets`, `auto_arima`, `mstl` and `theta`.

Each fits on the history with its gaps filled (`bands.filled`: statsforecast takes no NaN) at the series' main
seasonal period, forecasts with statsforecast's own 80% and 95% intervals, and names the concrete model it chose
(ETS's error, trend and season, ARIMA's orders, ...) so a later refit does not search again. They share the
statistical models' eligibility rule (`family.statistical_ineligible`).
"""

from __future__ import annotations

import abc

import numpy as np
import pandas as pd

from daybreak.models.forecasting.bands import filled
from daybreak.models.forecasting.context import SEASON_LENGTHS
from daybreak.models.forecasting.family import Family, Fitted, statistical_ineligible
from daybreak.models.forecasting.spec import CandidateSpec

SEASON_NAMES = {24: "daily", 168: "weekly", 7: "weekly", 365: "yearly", 52: "yearly", 12: "yearly"}


class Statsforecast(Family):
    """One statsforecast model: a subclass builds it (`model`) and reads what it chose (`concrete`)."""

    preload = ("statsforecast.models",)

    def ineligible(self, spec, y, ctx):
        return statistical_ineligible(y, ctx)

    @abc.abstractmethod
    def model(self, params: dict, values: np.ndarray, ctx):
        """The unfitted statsforecast model for these parameters."""

    @abc.abstractmethod
    def concrete(self, model, params: dict, values: np.ndarray, ctx) -> dict:
        """The parameters of the model the fit chose (what the registry keeps)."""

    def components(self, model, params: dict, horizon: int) -> dict[str, np.ndarray] | None:
        """The forecast's seasonal parts, for models that decompose it (trend is filled in from the point)."""
        return None

    def fit(self, spec, ds, y, future, ctx, *, state=None, components=False) -> Fitted:
        horizon = len(future)
        values = filled(y)
        model = self.model(spec.params, values, ctx)
        model.fit(values)
        concrete = self.concrete(model, spec.params, values, ctx)
        parts = self.components(model, concrete, horizon) if components else None
        forecast = model.predict(h=horizon, level=[80, 95])
        bands = {
            "yhat": np.asarray(forecast["mean"], dtype=float),
            "yhat_lower_80": np.asarray(forecast["lo-80"], dtype=float),
            "yhat_upper_80": np.asarray(forecast["hi-80"], dtype=float),
            "yhat_lower_95": np.asarray(forecast["lo-95"], dtype=float),
            "yhat_upper_95": np.asarray(forecast["hi-95"], dtype=float),
        }
        frame = None
        if parts is not None:
            parts["trend"] = bands["yhat"] - sum(v for c, v in parts.items() if c != "trend")
            frame = pd.concat(
                [
                    pd.DataFrame({"step": np.arange(horizon), "component": c, "value": v})
                    for c, v in parts.items()
                ],
                ignore_index=True,
            ).assign(mode="additive")
        return Fitted(bands, CandidateSpec(self.name, dict(sorted(concrete.items()))), None, frame)


class AutoETS(Statsforecast):
    """Exponential smoothing; `model` (e.g. `ANA`, or `ZZZ` to search) and `damped`."""

    name = "auto_ets"
    params = ("model", "damped")

    def model(self, params, values, ctx):
        from statsforecast.models import AutoETS as ETS  # heavy: imported where a fit needs it

        return ETS(
            season_length=ctx.season_length, model=params.get("model", "ZZZ"), damped=params.get("damped")
        )

    def concrete(self, model, params, values, ctx):
        method = model.model_["method"]  # e.g. "ETS(A,Ad,N)"
        error, trend, season = method[4:-1].split(",")
        return {"model": error + trend[0] + season, "damped": trend.endswith("d")}


class AutoARIMA(Statsforecast):
    """ARIMA; with `order` and `seasonal_order` (and `include_mean`, `include_drift`) that model, else a search."""

    name = "auto_arima"
    params = ("order", "seasonal_order", "include_mean", "include_drift")

    def model(self, params, values, ctx):
        from statsforecast.models import ARIMA, AutoARIMA  # heavy: imported where a fit needs it

        if "order" not in params:
            return AutoARIMA(season_length=ctx.season_length)
        return ARIMA(
            order=tuple(params["order"]),
            seasonal_order=tuple(params["seasonal_order"]),
            season_length=ctx.season_length,
            include_mean=params.get("include_mean", True),
            include_drift=params.get("include_drift", False),
        )

    def concrete(self, model, params, values, ctx):
        p, q, sp, sq, _, d, sd = model.model_["arma"]
        coef = model.model_["coef"]
        return {
            "order": [int(p), int(d), int(q)],
            "seasonal_order": [int(sp), int(sd), int(sq)],
            "include_mean": "intercept" in coef,
            "include_drift": "drift" in coef,
        }


class MSTL(Statsforecast):
    """Several seasonal periods (`season_lengths`; default the frequency's that two seasons of history cover),
    an ETS trend; its components are the seasonal parts and the trend."""

    name = "mstl"
    params = ("season_lengths",)

    def model(self, params, values, ctx):
        from statsforecast.models import MSTL as Decomposition  # heavy: imported where a fit needs it
        from statsforecast.models import AutoETS as TrendETS

        return Decomposition(
            season_length=self._lengths(params, values, ctx), trend_forecaster=TrendETS(model="ZZN")
        )

    def concrete(self, model, params, values, ctx):
        return {"season_lengths": self._lengths(params, values, ctx)}

    def components(self, model, params, horizon):
        """MSTL's future seasonal parts: each repeats its last cycle, as MSTL forecasts them."""
        lengths = params["season_lengths"]
        decomposition = model.model_
        parts: dict[str, np.ndarray] = {"trend": np.zeros(horizon)}
        seasonal_columns = [c for c in decomposition.columns if c.startswith("seasonal")]
        for length, column in zip(lengths, seasonal_columns, strict=False):
            last = decomposition[column].to_numpy()[-length:]
            parts[SEASON_NAMES.get(length, f"season_{length}")] = np.array(
                [last[i % length] for i in range(horizon)]
            )
        return parts

    @staticmethod
    def _lengths(params, values, ctx) -> list[int]:
        lengths = params.get("season_lengths") or [
            s for s in SEASON_LENGTHS[ctx.base] if len(values) >= 2 * s + 2
        ]
        return [int(s) for s in lengths if len(values) >= 2 * int(s) + 2] or [ctx.season_length]


class Theta(Statsforecast):
    """The Theta method; `model` (one of statsforecast's, or a search)."""

    name = "theta"
    params = ("model",)

    def model(self, params, values, ctx):
        from statsforecast.models import AutoTheta  # heavy: imported where a fit needs it

        return AutoTheta(season_length=ctx.season_length, model=params.get("model"))

    def concrete(self, model, params, values, ctx):
        return {"model": model.model_["modeltype"]}
