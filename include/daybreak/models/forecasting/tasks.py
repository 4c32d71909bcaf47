"""What one series' forecast takes and gives: the task, the champion it starts from, the result, the selection
that explains it, and the challenger a retrain registers. Every one pickles, so a task and its result travel to
worker processes and Spark executors and back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from daybreak.core.vocabulary import METRICS
from daybreak.models.forecasting.bands import BAND_COLUMNS
from daybreak.models.forecasting.context import SeriesContext
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.spec import CandidateSpec

FORECAST_COLUMNS = ("ds", "horizon_step", *BAND_COLUMNS, "model")
COMPONENT_COLUMNS = ("ds", "component", "value", "mode")
BACKTEST_COLUMNS = (
    "candidate",
    "model",
    "role",
    "fold",
    "cutoff",
    "n_train",
    "n_test",
    *METRICS,
    "selected",
)
FOLD_COLUMNS = ("cutoff", "ds", "y", "yhat")


@dataclasses.dataclass(frozen=True)
class Champion:
    """A series' champion as the night finds it in the registry (as of the night before).

    Args:
        version: its registry version.
        spec: the concrete spec it was trained as.
        state: its fitted parameters, a refit's warm start (None: refit cold).
        fit: the stored fit it scores from on a normal night (its latest refit's, else its training's), or None.
    """

    version: str
    spec: CandidateSpec
    state: dict | None = None
    fit: dict | None = None


@dataclasses.dataclass
class PanelForecast:
    """A global candidate's forecasts of one series, made across all series (`panel.with_panel_forecasts`).

    Args:
        folds: each backtest fold's last training period -> the bands over its test periods.
        final: the bands over the forecast's periods, or None.
        reason: why the series has none (too short, the fit failed), or None.
    """

    folds: dict = dataclasses.field(default_factory=dict)
    final: dict | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class SeriesTask:
    """Everything `series.run_series` needs for one series, and nothing that needs a connection.

    Args:
        ds, y: the history (any order, gaps allowed); rows after `origin` are ignored.
        origin: the last period of the history; step 1 is the period after it.
        retrain: backtest the candidates and pick a challenger (else: refit the champion).
        champion: the registry's champion going into the night, or None.
        decision: `decide` (apply the promotion rule), or the outcome already recorded for this night's version,
            `promote` or `reject` (a rerun repeats what the first run decided).
        decision_reason: the recorded reason, with a recorded decision.
        panel: the global candidates' forecasts for this series, by label (`panel.with_panel_forecasts`).
    """

    series_id: str
    ds: np.ndarray
    y: np.ndarray
    origin: pd.Timestamp
    context: SeriesContext
    options: ForecastOptions
    retrain: bool = True
    champion: Champion | None = None
    decision: str = "decide"
    decision_reason: str | None = None
    components: bool = True
    panel: dict[str, PanelForecast] | None = None


@dataclasses.dataclass
class Selection:
    """Why a series was forecast as it was, in words: its row of `predictions.forecast_selection`.

    Args:
        retrained: whether the night backtested the candidates.
        n_history: the known values of its history.
        metric: the selection metric.
        champion_version, champion_score: the champion going in, and its backtest score on the same folds.
        challenger, challenger_model, challenger_score: the backtest's winner (label, family, score).
        baseline_score: the baseline's backtest score.
        decision, decision_reason: `promote` or `reject` on a retrain night, and why.
        fallback_reason: why the forecast is the baseline's rather than the scoring model's, or None.
        scoring_model, scoring_role: the model that made the forecast (label) and what it is (`champion`,
            `challenger`, `fallback`).
        skipped: candidates left out of the backtest and why (JSON), or None.
    """

    retrained: bool
    n_history: int
    metric: str
    champion_version: str | None = None
    champion_score: float | None = None
    challenger: str | None = None
    challenger_model: str | None = None
    challenger_score: float | None = None
    baseline_score: float | None = None
    decision: str | None = None
    decision_reason: str | None = None
    fallback_reason: str | None = None
    scoring_model: str | None = None
    scoring_role: str | None = None
    skipped: str | None = None

    def row(self) -> dict:
        """The selection as its table's columns (without the series, the night and the run)."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Challenger:
    """What a retrain night registers for a series: the model it backtested and fitted, its data and metrics.

    Args:
        spec: the concrete spec (the one the final fit chose, when the challenger scores tonight).
        metrics: its backtest summary (`metrics.summary`).
        state, fit: its final fit's state and stored fit, when it scores tonight.
        data_start, data_end: the first known period and the origin of its training data.
        champion_fit: the champion's refit on tonight's history, `{"version", "fit"}`, when the champion stays
            and stores a fit: the next normal nights score from it.
    """

    spec: CandidateSpec
    metrics: dict
    state: dict | None = None
    fit: dict | None = None
    data_start: dt.date | None = None
    data_end: dt.date | None = None
    champion_fit: dict | None = None


@dataclasses.dataclass
class SeriesResult:
    """One series' outputs; `selection` explains them."""

    series_id: str
    forecast: pd.DataFrame
    components: pd.DataFrame
    backtest: pd.DataFrame
    selection: Selection
    challenger: Challenger | None = None
    scoring_state: dict | None = None
    seconds: float = 0.0
    folds: pd.DataFrame | None = None
    """On a retrain night, the scoring model's backtest predictions (`FOLD_COLUMNS`): reconciliation's folds."""
