"""How series are trained and scored: one `ForecastOptions`, whose fields and defaults the dataset config's
`forecasting:` section takes (`daybreak.datasets.forecasting.ForecastingConfig.options`) rather than repeats."""

from __future__ import annotations

import dataclasses
from typing import Any

from daybreak.core.vocabulary import NORMAL_NIGHTS, SELECTION_METRICS
from daybreak.models.forecasting import registry
from daybreak.models.forecasting.spec import CandidateSpec


@dataclasses.dataclass(frozen=True)
class ForecastOptions:
    """How a series is trained and scored.

    Args:
        candidates: specs to backtest (checked against their families); the baseline is always added.
        horizon: periods to forecast.
        folds, backtest_horizon, step: rolling-origin backtest: `folds` cutoffs `step` periods apart, each
            scored over the next `backtest_horizon` periods (defaults: the forecast horizon).
        metric: what picks the winner: `mase`, `smape` or `rmse` (mean over folds, lower is better).
        ensemble_top: 2 or more: also try the combination of the best `ensemble_top` candidates; 0 turns it off.
        promotion_margin: the relative improvement a challenger needs over the champion.
        time_limit_seconds: per model and series (a candidate's whole backtest, or the final fit); None: none.
        backtest_uncertainty_samples: interval samples inside backtests, for models whose intervals are sampled
            (Prophet). The selection metrics need only the point, so the default draws none (the backtest's
            coverage is then NaN for them); the forecast's intervals come from the final fit's samples either way.
        halving_margin: successive halving: after every candidate is scored on the newest fold, one more than
            this share above the best there is dropped before the older folds (`halving.halved`); None: no
            halving.
        normal_night: on a night that does not retrain, `score`: a champion with a stored fit forecasts from it
            without fitting, from the data up to its training; `refit`: the champion is refit on tonight's history
            first (warm-started), as is any champion without a stored fit either way.
    """

    candidates: tuple[CandidateSpec, ...]
    horizon: int
    folds: int = 3
    backtest_horizon: int | None = None
    step: int | None = None
    metric: str = "mase"
    ensemble_top: int = 0
    promotion_margin: float = 0.02
    time_limit_seconds: float | None = 120.0
    backtest_uncertainty_samples: int = 0
    halving_margin: float | None = 0.1
    normal_night: str = "score"

    def __post_init__(self) -> None:
        if self.normal_night not in NORMAL_NIGHTS:
            raise ValueError(f"normal_night must be one of {NORMAL_NIGHTS}, got {self.normal_night!r}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {self.horizon}")
        if self.metric not in SELECTION_METRICS:
            raise ValueError(f"metric must be one of {SELECTION_METRICS}, got {self.metric!r}")
        if self.folds < 1:
            raise ValueError(f"folds must be at least 1, got {self.folds}")
        object.__setattr__(self, "candidates", tuple(registry.check(c) for c in self.candidates))

    @classmethod
    def default(cls, name: str) -> Any:
        """A field's default: the config's `forecasting:` section takes its defaults from here."""
        return cls.__dataclass_fields__[name].default

    @property
    def bt_horizon(self) -> int:
        return self.backtest_horizon or self.horizon

    @property
    def bt_step(self) -> int:
        return self.step or self.bt_horizon
