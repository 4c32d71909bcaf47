"""What a dataset forecasts and how: `calendar:`, `series:` and `forecasting:` (candidates, backtests, selection,
promotion, retraining)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from pydantic import Field, field_validator

from daybreak.core.vocabulary import (
    DEFAULT_FREQUENCY,
    Frequency,
    NormalNight,
    SelectionMetric,
)
from daybreak.datasets.fields import (
    Schedule,
    SeriesKey,
    Target,
    Weekday,
    is_retrain_day,
    section,
)
from daybreak.models.forecasting import registry
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.spec import CandidateSpec

DEFAULT = ForecastOptions.default
"""The forecasting defaults, which the engine's options own: the section does not repeat them."""


@section
class Calendar:
    """The days the shop is closed: an empty or missing export is expected on them, not an error."""

    closed_weekdays: tuple[Weekday, ...] = Field((), description="Weekdays closed every week (Monday = 0).")
    closed_annual: tuple[Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")], ...] = (
        Field((), description="Days closed every year, as MM-DD (`12-25`).")
    )
    closed_dates: tuple[dt.date, ...] = Field((), description="One-off closed days, as YYYY-MM-DD.")


@section
class SeriesSpec:
    """Which forecast series a dataset has and what is forecast for them."""

    keys: tuple[SeriesKey, ...] = Field(
        (),
        description="Canonical columns a series is per: [location], [product_id] or both. Every dataset also has "
        "the series `total` over everything (with one location, the total equals it); [] forecasts the total "
        "only.",
    )
    target: Target = Field("revenue", description="What is forecast.")
    frequency: Frequency = Field(
        DEFAULT_FREQUENCY,
        description="The series' grain: hourly (from the hourly features mart) and daily are forecast every night, "
        "weekly and monthly (the daily mart summed into periods) on the night that closes a period.",
    )
    horizon: int = Field(28, ge=1, description="Periods forecast ahead each night.")
    week_ends_on: Weekday = Field(
        6,
        description="Weekly series: the weekday a week ends on (Monday = 0, Sunday = 6). A week is labelled by its "
        "last day and forecast on the night of its closing business day (its last day not closed).",
    )
    include: dict[SeriesKey, tuple[str, ...]] = Field(
        default_factory=dict, description="Key -> the only values forecast (e.g. the five largest countries)."
    )
    holidays_country: str | None = Field(
        None, description="ISO country code whose public holidays the models and the calendar mart use."
    )

    @field_validator("include", mode="before")
    @classmethod
    def _as_text(cls, value):
        return {k: [str(v) for v in vs] for k, vs in (value or {}).items()}


def parse_candidates(raw) -> tuple[CandidateSpec, ...]:
    """Candidate entries (a model name, or a mapping with `model:` and its parameters) as checked specs.

    A spec (or its `{"name", "params"}` mapping) passes through, checked again, so a section changed with
    `dataclasses.replace` validates again. One entry may stand for several candidates (`Family.expand`: prophet's
    `seasonality_mode: search` is additive and multiplicative).

    Raises:
        ValueError: an unknown model or parameter (the message names it).
    """
    specs: list[CandidateSpec] = []
    for entry in raw:
        if isinstance(entry, CandidateSpec):
            candidates = [registry.check(entry)]
        elif isinstance(entry, dict) and set(entry) == {"name", "params"}:
            candidates = [registry.check(CandidateSpec.from_dict(entry))]
        else:
            if isinstance(entry, str):
                entry = {"model": entry}
            if not isinstance(entry, dict) or "model" not in entry:
                raise ValueError(f"a candidate is a model name or a mapping with `model:`, got {entry!r}")
            candidates = registry.expand(entry["model"], {k: v for k, v in entry.items() if k != "model"})
        specs.extend(c for c in candidates if c not in specs)
    if not specs:
        raise ValueError("forecasting.candidates is empty")
    return tuple(specs)


@section
class Backtest:
    """How candidates are backtested: rolling origins, each forecasting `horizon` periods."""

    folds: int = Field(DEFAULT("folds"), ge=1, description="Rolling origins.")
    horizon: int | None = Field(
        DEFAULT("backtest_horizon"),
        ge=1,
        description="Periods each fold forecasts; default the series horizon.",
    )
    step: int | None = Field(
        DEFAULT("step"), ge=1, description="Periods between origins; default the backtest horizon."
    )


@section
class ForecastingConfig:
    """How series are trained, selected, promoted and retrained (docs/architecture.md, "Forecasting").

    Retraining (backtests of every candidate, then the gated promotion) happens on the schedule's days, for a
    series without a champion, and on demand; on other nights each series' champion scores (`normal_night`).
    """

    candidates: tuple[str | dict, ...] = Field(  # YAML's shape; held as checked specs (`_checked`)
        registry.DEFAULT_CANDIDATES,
        validate_default=True,
        description="Models that compete: a model name, or a mapping with `model:` and its parameters "
        "(docs/model-families.md); prophet's `seasonality_mode: search` stands for additive and "
        "multiplicative; `global_lgbm` is one LightGBM model fitted across all the dataset's series "
        "(n_estimators, learning_rate, num_leaves, conformal_windows, transform), scored per series like the "
        "others. Default: seasonal_naive and prophet.",
    )
    backtest: Backtest = Field(default_factory=Backtest, description="How candidates are backtested.")
    selection_metric: SelectionMetric = Field(
        DEFAULT("metric"), description="The backtest metric candidates are ranked by."
    )
    ensemble_top: int = Field(
        DEFAULT("ensemble_top"),
        ge=0,
        description="When 2 or more: the mean of that many best candidates competes.",
    )
    promotion_margin: float = Field(
        DEFAULT("promotion_margin"),
        ge=0,
        description="A challenger must beat the champion's backtest by this share to be promoted.",
    )
    retrain: Schedule = Field(
        "weekly",
        description="Retrain nights: every night, weekly on retrain_weekday, or on the 1st. A weekly or monthly "
        "dataset retrains on the night closing the period that holds a retrain night.",
    )
    retrain_weekday: Weekday = Field(6, description="Weekly retrains' weekday (Monday = 0, Sunday = 6).")
    time_limit_seconds: float | None = Field(
        DEFAULT("time_limit_seconds"),
        description="A series' fit gives up after this long and falls back; null or 0: no limit.",
    )
    backtest_uncertainty_samples: int = Field(
        DEFAULT("backtest_uncertainty_samples"),
        ge=0,
        description="Prophet's uncertainty samples during backtests. The selection metric needs only the point "
        "forecast, so none by default (Prophet's backtest coverage is then empty); the forecast's intervals come "
        "from the final fit either way.",
    )
    halving_margin: float | None = Field(
        DEFAULT("halving_margin"),
        ge=0,
        description="Successive halving: after every candidate is backtested on the newest fold, one scoring more "
        "than this share above the best there is dropped before the older folds; null: every fold for all.",
    )
    normal_night: NormalNight = Field(
        DEFAULT("normal_night"),
        description="What a night that does not retrain does with each champion. `score`: a Prophet champion (or "
        "an ensemble's Prophet members) forecasts from the fit stored at its training, without fitting, so it "
        "uses the data up to its last retrain and the night costs a fraction of a Prophet fit; `refit`: the "
        "champion is refit on the night's history first (warm-started). Other models, and champions trained "
        "before fits were stored, are refit either way.",
    )

    @field_validator("candidates", mode="wrap")
    @classmethod
    def _checked(cls, value, handler):
        """The entries as checked specs, whatever the YAML type says (it describes the file, not the specs)."""
        return parse_candidates(value)

    @field_validator("time_limit_seconds")
    @classmethod
    def _no_zero(cls, value: float | None) -> float | None:
        return value or None

    @property
    def folds(self) -> int:
        return self.backtest.folds

    @property
    def backtest_horizon(self) -> int | None:
        return self.backtest.horizon

    @property
    def step(self) -> int | None:
        return self.backtest.step

    @property
    def metric(self) -> str:
        return self.selection_metric

    def is_retrain_day(self, day: dt.date) -> bool:
        """Whether `day` is a scheduled retrain night (daily: every night; weekly: its weekday; monthly: the 1st)."""
        return is_retrain_day(self.retrain, self.retrain_weekday, day)

    def options(self, horizon: int) -> ForecastOptions:
        """The `ForecastOptions` the forecasting engine takes, for a forecast `horizon` periods ahead: each of its
        fields from the section's key of that name (the properties above name those the YAML nests or words
        differently)."""
        names = [f.name for f in dataclasses.fields(ForecastOptions) if f.name != "horizon"]
        return ForecastOptions(horizon=horizon, **{name: getattr(self, name) for name in names})
