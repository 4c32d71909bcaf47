"""Dataset configs: how a source's export maps onto Daybreak's canonical sales line, and what to model.

One YAML file per dataset sits beside this module. A config names the export's columns for each canonical column,
the business calendar (which days the shop is closed, so an empty export is expected), the forecast series (keys,
target, frequency, horizon) and whether customer segmentation applies.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from daybreak.settings import PROJECT_ROOT

CONFIG_DIR = Path(__file__).resolve().parent

CANONICAL_COLUMNS = (
    "order_id",
    "ordered_at",
    "customer_id",
    "product_id",
    "product_name",
    "location",
    "quantity",
    "unit_price",
)
REQUIRED_COLUMNS = ("ordered_at", "product_id", "location", "quantity", "unit_price")
TARGETS = ("units", "revenue")
DEFAULT_CANDIDATES = ("seasonal_naive", "prophet")
FREQUENCIES = ("hourly", "daily", "weekly", "monthly")
SEGMENTATION_ALGORITHMS = ("kmeans", "gmm")
RETRAIN_SCHEDULES = ("daily", "weekly", "monthly")


def is_retrain_day(schedule: str, weekday: int, day: dt.date) -> bool:
    """Whether `day` is a retrain night of `schedule`: daily every night, weekly on `weekday` (Monday = 0),
    monthly on the 1st. Forecasting and segmentation share the rule."""
    if schedule == "daily":
        return True
    if schedule == "weekly":
        return day.weekday() == weekday
    return day.day == 1


class DatasetConfigError(ValueError):
    """A dataset config is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Calendar:
    """The days a shop is closed: on those an empty or missing export is expected, not an error."""

    closed_weekdays: tuple[int, ...] = ()
    closed_annual: tuple[str, ...] = ()
    closed_dates: tuple[dt.date, ...] = ()

    def is_open(self, day: dt.date) -> bool:
        return not (
            day.weekday() in self.closed_weekdays
            or day.strftime("%m-%d") in self.closed_annual
            or day in self.closed_dates
        )


@dataclass(frozen=True)
class Validation:
    """Row rules from the dataset config, checked by ingest after the built-in ones (see jobs.ingest).

    Attributes:
        ranges: canonical numeric column -> (min, max), either bound None; a value outside is quarantined as
            `<column>_below_min` / `<column>_above_max`.
        allowed_values: canonical text column -> the values it may take (`<column>_not_allowed`).
        patterns: canonical text column -> a regular expression the whole value must match
            (`<column>_pattern_mismatch`).
        quarantine_duplicate_lines: a line identical in every exported field to an earlier line of the same file
            is quarantined as `duplicate_line` (the detail names the first one).
    """

    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    allowed_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    patterns: dict[str, str] = field(default_factory=dict)
    quarantine_duplicate_lines: bool = False


@dataclass(frozen=True)
class LineClassification:
    """How the warehouse tells product sales from returns and from lines that are not products at all.

    Attributes:
        return_order_prefix: orders whose id starts with this are cancellations/returns (Online Retail's `C`);
            a negative quantity outside such an order is a stock adjustment. None: every negative line is a return.
        non_product_codes: product_id -> category (postage, fee, ...) for codes that are not goods.
        non_product_patterns: (regular expression on the whole product_id, category), checked after the codes.
    """

    return_order_prefix: str | None = None
    non_product_codes: dict[str, str] = field(default_factory=dict)
    non_product_patterns: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SeriesSpec:
    """Which forecast series a dataset has and what is forecast for them."""

    keys: tuple[str, ...]
    target: str
    frequency: str
    horizon: int
    include: dict[str, tuple[str, ...]] = field(default_factory=dict)
    include_total: bool = False
    holidays_country: str | None = None


@dataclass(frozen=True)
class ForecastingConfig:
    """How series are trained, selected, promoted and retrained: the YAML's `forecasting:` section.

    `candidates` are model specs (`daybreak.models.candidates`); a prophet entry with `seasonality_mode: search`
    stands for two candidates, additive and multiplicative, and the backtest picks. Retraining (backtests of every
    candidate, then the gated promotion) happens on the schedule's days, for a series without a champion, and on
    demand; on other nights each series' champion is refit and scores.
    """

    candidates: tuple[dict, ...] = tuple({"name": name, "params": {}} for name in DEFAULT_CANDIDATES)
    folds: int = 3
    backtest_horizon: int | None = None
    step: int | None = None
    metric: str = "mase"
    ensemble_top: int = 0
    promotion_margin: float = 0.02
    retrain: str = "weekly"
    retrain_weekday: int = 6
    time_limit_seconds: float | None = 120.0
    backtest_uncertainty_samples: int = 200

    def is_retrain_day(self, day: dt.date) -> bool:
        """Whether `day` is a scheduled retrain night (daily: every night; weekly: its weekday; monthly: the 1st)."""
        return is_retrain_day(self.retrain, self.retrain_weekday, day)

    def options(self, horizon: int):
        """The `ForecastOptions` the forecasting engine takes, for a forecast `horizon` periods ahead."""
        from daybreak.models.forecasting import ForecastOptions

        return ForecastOptions(
            candidates=self.candidates,
            horizon=horizon,
            folds=self.folds,
            backtest_horizon=self.backtest_horizon,
            step=self.step,
            metric=self.metric,
            ensemble_top=self.ensemble_top,
            promotion_margin=self.promotion_margin,
            time_limit_seconds=self.time_limit_seconds,
            backtest_uncertainty_samples=self.backtest_uncertainty_samples,
        )


def parse_candidates(raw: list) -> tuple[dict, ...]:
    """Candidate entries (a model name, or a mapping with `model:` and its parameters) as checked specs.

    Raises:
        ValueError: an unknown model or parameter (the message names it).
    """
    from daybreak.models.candidates import check_spec

    specs: list[dict] = []
    for entry in raw:
        if isinstance(entry, str):
            entry = {"model": entry}
        if not isinstance(entry, dict) or "model" not in entry:
            raise ValueError(f"a candidate is a model name or a mapping with `model:`, got {entry!r}")
        params = {k: v for k, v in entry.items() if k != "model"}
        modes = [params.pop("seasonality_mode", None)]
        if entry["model"] == "prophet" and modes == ["search"]:
            modes = ["additive", "multiplicative"]
        for mode in modes:
            candidate = check_spec(
                {"name": entry["model"], "params": {**params, **({"seasonality_mode": mode} if mode else {})}}
            )
            if candidate not in specs:
                specs.append(candidate)
    if not specs:
        raise ValueError("forecasting.candidates is empty")
    return tuple(specs)


@dataclass(frozen=True)
class SegmentationConfig:
    """How customers are segmented: the YAML's `segmentation:` section.

    The features are columns of `marts.features_customer_asof`, named here rather than in code so a mart that
    grows a column (return rate, product variety, ...) changes no code, and a dataset can leave out a column
    its source cannot fill. Nulls in a feature (a one-order customer has no gap between orders) are imputed with
    the training median inside the model.

    Attributes:
        enabled: False for datasets without customers (store_item): the segment job skips, visibly.
        features: mart columns the model clusters on.
        log_features: the right-skewed ones among them (money, counts, days): log1p after clipping at 0.
        algorithm: `kmeans` (default) or `gmm` (a Gaussian mixture, which gives each customer a probability).
        min_segments, max_segments: the range the number of segments is chosen in, by silhouette (k-means)
            or BIC (mixture) on a sample.
        selection_sample: customers in that sample; also the sample silhouettes are measured on.
        minibatch_above: train with MiniBatchKMeans when there are more customers than this.
        score_batch_size: customers scored at a time, which bounds the scoring memory.
        retrain: `daily`, `weekly` (on `retrain_weekday`, Monday = 0) or `monthly` (on the 1st); other
            nights the champion scores.
        match_max_distance: a retrained cluster keeps a previous segment's id only when their centres are at
            most this far apart (in standard deviations of the features); otherwise it is a new segment.
        min_silhouette: a challenger below it is not promoted.
        min_stability: nor one that moves more than 1 - this share of customers to another segment id.
        promotion_margin: the relative silhouette gain over the champion (on the same customers) required.
    """

    enabled: bool = False
    features: tuple[str, ...] = ("recency_days", "frequency", "monetary", "avg_basket_value")
    log_features: tuple[str, ...] = ("frequency", "monetary", "avg_basket_value")
    algorithm: str = "kmeans"
    min_segments: int = 3
    max_segments: int = 8
    selection_sample: int = 5000
    minibatch_above: int = 200_000
    score_batch_size: int = 100_000
    retrain: str = "weekly"
    retrain_weekday: int = 6
    match_max_distance: float = 1.5
    min_silhouette: float = 0.2
    min_stability: float = 0.8
    promotion_margin: float = 0.0

    def is_retrain_day(self, day: dt.date) -> bool:
        """Whether `day` is a scheduled retrain night (daily: every night; weekly: its weekday; monthly: the 1st)."""
        return is_retrain_day(self.retrain, self.retrain_weekday, day)


def parse_segmentation(raw: dict[str, Any], fail) -> SegmentationConfig:
    """The `segmentation:` section, checked: known algorithm and schedule, a sane range, log features listed."""
    defaults = SegmentationConfig()
    features = tuple(str(f) for f in raw.get("features") or defaults.features)
    # left out: the default skewed columns among the features; listed: exactly those, each a feature
    log_features = (
        tuple(str(f) for f in raw["log_features"] or ())
        if "log_features" in raw
        else tuple(f for f in defaults.log_features if f in features)
    )
    spec = SegmentationConfig(
        enabled=bool(raw.get("enabled", False)),
        features=features,
        log_features=tuple(f for f in log_features if f in features),
        algorithm=str(raw.get("algorithm", defaults.algorithm)),
        min_segments=int(raw.get("min_segments", defaults.min_segments)),
        max_segments=int(raw.get("max_segments", defaults.max_segments)),
        selection_sample=int(raw.get("selection_sample", defaults.selection_sample)),
        minibatch_above=int(raw.get("minibatch_above", defaults.minibatch_above)),
        score_batch_size=int(raw.get("score_batch_size", defaults.score_batch_size)),
        retrain=str(raw.get("retrain", defaults.retrain)),
        retrain_weekday=int(raw.get("retrain_weekday", defaults.retrain_weekday)),
        match_max_distance=float(raw.get("match_max_distance", defaults.match_max_distance)),
        min_silhouette=float(raw.get("min_silhouette", defaults.min_silhouette)),
        min_stability=float(raw.get("min_stability", defaults.min_stability)),
        promotion_margin=float(raw.get("promotion_margin", defaults.promotion_margin)),
    )
    if unknown := sorted(set(log_features) - set(features)):
        raise fail(f"segmentation.log_features {unknown} are not among segmentation.features")
    if len(set(features)) != len(features) or "customer_id" in features or "as_of_date" in features:
        raise fail(f"segmentation.features must be distinct feature columns, got {list(features)}")
    if spec.algorithm not in SEGMENTATION_ALGORITHMS:
        raise fail(f"segmentation.algorithm must be one of {SEGMENTATION_ALGORITHMS}, got {spec.algorithm!r}")
    if not 2 <= spec.min_segments <= spec.max_segments:
        raise fail("segmentation needs 2 <= min_segments <= max_segments")
    if spec.retrain not in RETRAIN_SCHEDULES:
        raise fail(f"segmentation.retrain must be one of {RETRAIN_SCHEDULES}, got {spec.retrain!r}")
    if not 0 <= spec.retrain_weekday <= 6:
        raise fail("segmentation.retrain_weekday must be 0 (Monday) .. 6 (Sunday)")
    if (
        spec.selection_sample < spec.max_segments * 10
        or spec.score_batch_size < 1
        or spec.minibatch_above < 1
    ):
        raise fail("segmentation.selection_sample must be at least 10 x max_segments; batch sizes at least 1")
    if not (0 <= spec.min_stability <= 1 and -1 <= spec.min_silhouette <= 1 and spec.promotion_margin >= 0):
        raise fail("segmentation: min_stability in [0, 1], min_silhouette in [-1, 1], promotion_margin >= 0")
    return spec


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    description: str
    source: dict[str, Any]
    landing_format: str
    landing_glob: str
    columns: dict[str, str]
    constants: dict[str, Any]
    calendar: Calendar
    series: SeriesSpec
    validation: Validation
    classification: LineClassification
    late_files_lookback_days: int
    segmentation: SegmentationConfig
    drift_reference_days: int
    drift_current_days: int
    simulation: dict[str, Any] = field(default_factory=dict)
    forecasting: ForecastingConfig = field(default_factory=ForecastingConfig)

    @property
    def segmentation_enabled(self) -> bool:
        return self.segmentation.enabled

    def source_location(self, override: str | None = None) -> str:
        """Where the original file of a replayed dataset is: the override, the env variable, or the default.

        A relative default is read from the project root, so `../shared/data/...` works from any working
        directory. URLs (`s3://`, `https://`, ...) are returned as they are, for fsspec.
        """
        if self.source.get("kind") != "file":
            raise DatasetConfigError(
                f"dataset {self.name!r} has no source file (kind={self.source.get('kind')!r})"
            )
        location = override or os.environ.get(self.source["path_env"]) or self.source["default_path"]
        if "://" in location:
            return location
        path = Path(location).expanduser()
        return str(path if path.is_absolute() else (PROJECT_ROOT / path).resolve())


def available_datasets() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yml"))


def load_dataset_config(name: str) -> DatasetConfig:
    """Read and check `datasets/<name>.yml`.

    Raises:
        DatasetConfigError: unknown dataset, or a config that breaks a rule (named in the message).
    """
    path = CONFIG_DIR / f"{name}.yml"
    if not path.is_file():
        raise DatasetConfigError(f"no dataset config {name!r}; available: {', '.join(available_datasets())}")
    raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loaders only
    return parse_dataset_config(raw, origin=str(path))


def parse_dataset_config(raw: dict[str, Any], origin: str = "<config>") -> DatasetConfig:
    def fail(message: str) -> DatasetConfigError:
        return DatasetConfigError(f"{origin}: {message}")

    columns = dict(raw.get("columns") or {})
    constants = dict(raw.get("constants") or {})
    unknown = sorted((set(columns) | set(constants)) - set(CANONICAL_COLUMNS))
    if unknown:
        raise fail(f"unknown canonical columns {unknown}; allowed: {list(CANONICAL_COLUMNS)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns and c not in constants]
    if missing:
        raise fail(f"required canonical columns not mapped: {missing}")

    series_raw = raw.get("series") or {}
    series = SeriesSpec(
        keys=tuple(series_raw.get("keys") or ()),
        target=series_raw.get("target", "revenue"),
        frequency=series_raw.get("frequency", "daily"),
        horizon=int(series_raw.get("horizon", 28)),
        include={k: tuple(str(v) for v in vs) for k, vs in (series_raw.get("include") or {}).items()},
        include_total=bool(series_raw.get("include_total", False)),
        holidays_country=series_raw.get("holidays_country"),
    )
    if not series.keys and not series.include_total:
        raise fail("series needs keys, include_total, or both")
    if bad := [k for k in series.keys if k not in ("location", "product_id")]:
        raise fail(f"series keys must be canonical location or product_id, got {bad}")
    if series.target not in TARGETS:
        raise fail(f"series.target must be one of {TARGETS}, got {series.target!r}")
    if series.frequency not in FREQUENCIES:
        raise fail(f"series.frequency must be one of {FREQUENCIES}, got {series.frequency!r}")
    if series.horizon < 1:
        raise fail("series.horizon must be at least 1")

    forecasting = _parse_forecasting(raw.get("forecasting") or {}, fail)

    calendar_raw = raw.get("calendar") or {}
    calendar = Calendar(
        closed_weekdays=tuple(int(d) for d in calendar_raw.get("closed_weekdays") or ()),
        closed_annual=tuple(str(d) for d in calendar_raw.get("closed_annual") or ()),
        closed_dates=tuple(dt.date.fromisoformat(str(d)) for d in calendar_raw.get("closed_dates") or ()),
    )
    validation = parse_validation(raw.get("validation") or {}, fail)
    classification_raw = raw.get("classification") or {}
    classification = LineClassification(
        return_order_prefix=classification_raw.get("return_order_prefix"),
        non_product_codes={
            str(k): str(v) for k, v in (classification_raw.get("non_product_codes") or {}).items()
        },
        non_product_patterns=tuple(
            (str(item["pattern"]), str(item["category"]))
            for item in classification_raw.get("non_product_patterns") or ()
        ),
    )
    segmentation = parse_segmentation(raw.get("segmentation") or {}, fail)
    drift = raw.get("drift") or {}
    landing = raw.get("landing") or {}
    lookback = int(landing.get("late_files_lookback_days", 14))
    if lookback < 0:
        raise fail("landing.late_files_lookback_days must be 0 or more")
    return DatasetConfig(
        name=raw["name"],
        description=raw.get("description", ""),
        source=dict(raw.get("source") or {}),
        landing_format=landing.get("format", "csv"),
        landing_glob=landing.get("glob", "*.csv"),
        columns=columns,
        constants=constants,
        calendar=calendar,
        series=series,
        validation=validation,
        classification=classification,
        late_files_lookback_days=lookback,
        segmentation=segmentation,
        drift_reference_days=int(drift.get("reference_days", 28)),
        drift_current_days=int(drift.get("current_days", 7)),
        simulation=dict(raw.get("simulation") or {}),
        forecasting=forecasting,
    )


NUMERIC_COLUMNS = ("quantity", "unit_price")
TEXT_RULE_COLUMNS = ("order_id", "customer_id", "product_id", "product_name", "location")


def parse_validation(raw: dict[str, Any], fail) -> Validation:
    """The `validation:` section; every rule must name a canonical column of the right kind."""
    import re

    ranges = {}
    for column, bounds in (raw.get("ranges") or {}).items():
        if column not in NUMERIC_COLUMNS:
            raise fail(f"validation.ranges: {column!r} is not a numeric column {NUMERIC_COLUMNS}")
        unknown = set(bounds or {}) - {"min", "max"}
        if unknown or not bounds:
            raise fail(f"validation.ranges.{column} takes min and/or max, got {bounds!r}")
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and high is not None and float(low) > float(high):
            raise fail(f"validation.ranges.{column}: min {low} is above max {high}")
        ranges[column] = (None if low is None else float(low), None if high is None else float(high))
    allowed = {}
    for column, values in (raw.get("allowed_values") or {}).items():
        if column not in TEXT_RULE_COLUMNS:
            raise fail(f"validation.allowed_values: {column!r} is not a text column {TEXT_RULE_COLUMNS}")
        allowed[column] = tuple(str(v) for v in values)
    patterns = {}
    for column, pattern in (raw.get("patterns") or {}).items():
        if column not in TEXT_RULE_COLUMNS:
            raise fail(f"validation.patterns: {column!r} is not a text column {TEXT_RULE_COLUMNS}")
        try:
            re.compile(pattern)
        except re.error as error:
            raise fail(
                f"validation.patterns.{column}: {pattern!r} is not a regular expression: {error}"
            ) from None
        patterns[column] = str(pattern)
    duplicates = raw.get("duplicate_lines", "keep")
    if duplicates not in ("keep", "quarantine"):
        raise fail(f"validation.duplicate_lines must be keep or quarantine, got {duplicates!r}")
    return Validation(ranges, allowed, patterns, duplicates == "quarantine")


def _parse_forecasting(raw: dict[str, Any], fail) -> ForecastingConfig:
    known = {
        "candidates",
        "backtest",
        "selection_metric",
        "ensemble_top",
        "promotion_margin",
        "retrain",
        "retrain_weekday",
        "time_limit_seconds",
        "backtest_uncertainty_samples",
    }
    if unknown := sorted(set(raw) - known):
        raise fail(f"forecasting: unknown keys {unknown}; allowed: {sorted(known)}")
    backtest = raw.get("backtest") or {}
    if unknown := sorted(set(backtest) - {"folds", "horizon", "step"}):
        raise fail(f"forecasting.backtest: unknown keys {unknown}; allowed: folds, horizon, step")
    defaults = ForecastingConfig()
    try:
        candidates = parse_candidates(raw["candidates"]) if "candidates" in raw else defaults.candidates
    except ValueError as error:
        raise fail(f"forecasting.candidates: {error}") from None
    limit = raw.get("time_limit_seconds", defaults.time_limit_seconds)
    config = ForecastingConfig(
        candidates=candidates,
        folds=int(backtest.get("folds", defaults.folds)),
        backtest_horizon=int(backtest["horizon"]) if backtest.get("horizon") else None,
        step=int(backtest["step"]) if backtest.get("step") else None,
        metric=str(raw.get("selection_metric", defaults.metric)),
        ensemble_top=int(raw.get("ensemble_top", defaults.ensemble_top)),
        promotion_margin=float(raw.get("promotion_margin", defaults.promotion_margin)),
        retrain=str(raw.get("retrain", defaults.retrain)),
        retrain_weekday=int(raw.get("retrain_weekday", defaults.retrain_weekday)),
        time_limit_seconds=float(limit) if limit else None,
        backtest_uncertainty_samples=int(
            raw.get("backtest_uncertainty_samples", defaults.backtest_uncertainty_samples)
        ),
    )
    if config.retrain not in RETRAIN_SCHEDULES:
        raise fail(f"forecasting.retrain must be one of {RETRAIN_SCHEDULES}, got {config.retrain!r}")
    if not 0 <= config.retrain_weekday <= 6:
        raise fail("forecasting.retrain_weekday must be 0 (Monday) .. 6 (Sunday)")
    if config.metric not in ("mase", "smape", "rmse"):
        raise fail(f"forecasting.selection_metric must be mase, smape or rmse, got {config.metric!r}")
    if config.folds < 1:
        raise fail("forecasting.backtest.folds must be at least 1")
    if config.promotion_margin < 0:
        raise fail("forecasting.promotion_margin must be at least 0")
    return config
