"""Customers and model health: `segmentation:`, `drift:`, `monitoring:` and `retraining:`."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from daybreak.datasets.fields import (
    Algorithm,
    Schedule,
    Weekday,
    is_retrain_day,
    section,
)

SEGMENT_FEATURES = ("recency_days", "frequency", "monetary", "avg_basket_value")
LOG_FEATURES = ("frequency", "monetary", "avg_basket_value")


@section
class SegmentationConfig:
    """How customers are segmented (docs/analyst-guide.md, "Segments and what they mean").

    The features are columns of `marts.features_customer_asof`, named here rather than in code so a mart that
    grows a column changes no code, and a dataset can leave out a column its source cannot fill. Nulls in a
    feature are imputed with the training median inside the model.
    """

    enabled: bool = Field(
        False, description="False for datasets without customers: the segment job skips, visibly."
    )
    features: tuple[str, ...] = Field(
        SEGMENT_FEATURES, description="marts.features_customer_asof columns clustered on."
    )
    log_features: tuple[str, ...] | None = Field(
        None,
        description="The right-skewed features among them, log1p-transformed after clipping at 0. Default: "
        "frequency, monetary and avg_basket_value where they are features.",
    )
    algorithm: Algorithm = Field(
        "kmeans",
        description="`kmeans`, or `gmm` (a Gaussian mixture, which gives each customer a probability).",
    )
    min_segments: int = Field(
        3, ge=2, description="Fewest segments; the number is chosen by silhouette or BIC."
    )
    max_segments: int = Field(8, ge=2, description="Most segments.")
    selection_sample: int = Field(
        5000, description="Customers the number of segments is chosen on (at least 10 x max_segments)."
    )
    minibatch_above: int = Field(
        200_000, ge=1, description="Train with MiniBatchKMeans above this many customers."
    )
    score_batch_size: int = Field(
        100_000, ge=1, description="Customers scored at a time (bounds the memory)."
    )
    retrain: Schedule = Field("weekly", description="Retrain nights; on other nights the champion scores.")
    retrain_weekday: Weekday = Field(6, description="Weekly retrains' weekday (Monday = 0, Sunday = 6).")
    match_max_distance: float = Field(
        1.5,
        description="A retrained cluster keeps a previous segment's id only when their centres are at most this "
        "far apart (in standard deviations of the features).",
    )
    min_silhouette: float = Field(0.2, ge=-1, le=1, description="A challenger below it is not promoted.")
    min_stability: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Nor one that moves more than 1 - this share of customers to another segment.",
    )
    promotion_margin: float = Field(
        0.0, ge=0, description="Relative silhouette gain over the champion required."
    )

    @model_validator(mode="after")
    def _consistent(self):
        features = self.features
        if len(set(features)) != len(features) or {"customer_id", "as_of_date"} & set(features):
            raise ValueError(f"features must be distinct feature columns, got {list(features)}")
        if self.log_features is None:
            object.__setattr__(self, "log_features", tuple(f for f in LOG_FEATURES if f in features))
        elif unknown := sorted(set(self.log_features) - set(features)):
            raise ValueError(f"log_features {unknown} are not among features")
        if self.min_segments > self.max_segments:
            raise ValueError("min_segments must not exceed max_segments")
        if self.selection_sample < self.max_segments * 10:
            raise ValueError("selection_sample must be at least 10 x max_segments")
        return self

    def is_retrain_day(self, day: dt.date) -> bool:
        """Whether `day` is a scheduled retrain night (daily: every night; weekly: its weekday; monthly: the 1st)."""
        return is_retrain_day(self.retrain, self.retrain_weekday, day)


@section
class Drift:
    """The windows the drift job compares: the current days ending on the business date against the reference
    days just before them."""

    reference_days: int = Field(28, ge=1, description="Days in the reference window, before the current one.")
    current_days: int = Field(7, ge=1, description="Days in the current window, ending on the business date.")


@section
class Monitoring:
    """What the nightly monitoring compares (docs/architecture.md, "Monitoring"): each champion's stored reference
    sample against the current days, with Evidently's distance tests and these thresholds."""

    reference_rows: int = Field(
        5000, ge=100, description="Rows of a champion's training data kept as its reference (per model kind)."
    )
    reference_days: int = Field(
        56, ge=7, description="A forecast reference holds a series' last this many training days."
    )
    current_days: int = Field(
        14, ge=1, description="Days of series values compared with the forecast references, ending on D."
    )
    numeric_threshold: float = Field(
        0.5,
        gt=0,
        description="Wasserstein distance (in reference standard deviations) from which a number drifted.",
    )
    series_threshold: float = Field(
        1.0,
        gt=0,
        description="The same for a series' daily values, which are few and noisy (14 against 56).",
    )
    categorical_threshold: float = Field(
        0.2, gt=0, le=1, description="Jensen-Shannon distance from which a category column drifted."
    )
    surprise_threshold: float = Field(
        4.0,
        gt=0,
        description="Distance of a series' actual from the champion's forecast for that day, in the forecast's "
        "standard deviations (95% upper half-width / 1.96), from which the series shifted on its first night.",
    )
    max_missing_share: float = Field(
        0.5, ge=0, le=1, description="Data quality: a column with more missing values on the day fails."
    )
    max_out_of_range_share: float = Field(
        0.05, ge=0, le=1, description="Data quality: share of values outside the reference range that fails."
    )


@section
class Retraining:
    """When monitoring retrains a model beside the schedule (forecasting.retrain, segmentation.retrain); the
    promotion gate still decides what serves."""

    drift_share: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Retrain a model kind when more than this share of its input features drifted.",
    )
    error_margin: float = Field(
        0.5,
        ge=0,
        description="Retrain forecasts when the rolling error of landed actuals exceeds the champions' backtest "
        "error by more than this share.",
    )
    min_scored: int = Field(7, ge=1, description="Landed actuals needed before the rolling error is trusted.")
