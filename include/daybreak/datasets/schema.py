"""The dataset config's schema: every section and key of a dataset YAML, typed, with its default and meaning.

This module is the one place a key is defined: the loader (`daybreak.datasets.load_dataset_config`) validates a
YAML against it, and docs/config-reference.md is generated from it (`python -m daybreak.datasets.reference`), so
each `Field(description=...)` here is the key's documentation. Every section refuses keys it does not define.

Sections are pydantic dataclasses, so the rest of the code reads them as attributes (`config.calendar.closed_weekdays`,
`config.forecasting.options(...)`) and tests change them with `dataclasses.replace`, which validates again.
`source:` and `simulation:` are typed mappings (TypedDicts): the simulator and the replay read them as dicts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Literal, NamedTuple, NotRequired, get_args

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.dataclasses import dataclass
from typing_extensions import TypedDict

from daybreak.core.settings import PROJECT_ROOT, SAFE_NAME, DatasetConfigError
from daybreak.core.vocabulary import (
    WHITESPACE_DELIMITER,
    ExportFormat,
    Frequency,
    NormalNight,
    SelectionMetric,
)
from daybreak.datasets.expressions import parse_expression, template_columns

CanonicalColumn = Literal[
    "order_id",
    "ordered_at",
    "customer_id",
    "product_id",
    "product_name",
    "location",
    "quantity",
    "unit_price",
]
NumericColumn = Literal["quantity", "unit_price"]
TextColumn = Literal["order_id", "customer_id", "product_id", "product_name", "location"]
SeriesKey = Literal["location", "product_id"]
Target = Literal["units", "revenue"]
Schedule = Literal["daily", "weekly", "monthly"]
Algorithm = Literal["kmeans", "gmm"]
CANONICAL_COLUMNS = get_args(CanonicalColumn)
REQUIRED_COLUMNS = ("ordered_at", "product_id", "location", "quantity", "unit_price")
NUMERIC_COLUMNS = get_args(NumericColumn)
TEXT_RULE_COLUMNS = get_args(TextColumn)
TARGETS = get_args(Target)
SEGMENTATION_ALGORITHMS = get_args(Algorithm)
RETRAIN_SCHEDULES = get_args(Schedule)
DEFAULT_CANDIDATES = ("seasonal_naive", "prophet")
Weekday = Annotated[int, Field(ge=0, le=6)]
STRICT = ConfigDict(extra="forbid")


def section(cls):
    """A config section: frozen, every unknown key refused."""
    return dataclass(frozen=True, config=STRICT)(cls)


def is_retrain_day(schedule: str, weekday: int, day: dt.date) -> bool:
    """Whether `day` is a retrain night of `schedule`: daily every night, weekly on `weekday` (Monday = 0),
    monthly on the 1st. Forecasting and segmentation share the rule."""
    if schedule == "daily":
        return True
    if schedule == "weekly":
        return day.weekday() == weekday
    return day.day == 1


class Source(TypedDict):
    """Where the dataset's transactions come from when they are simulated or replayed (`daybreak simulate`)."""

    __pydantic_config__ = STRICT  # type: ignore[misc]

    kind: Annotated[
        Literal["simulator", "file"],
        Field(
            description="`simulator`: Daybreak's synthetic shop writes the daily exports; `file`: one file holding "
            "the whole history is replayed into daily exports (a row belongs to the day of its `ordered_at`)."
        ),
    ]
    path_env: Annotated[
        NotRequired[str],
        Field(description="kind file: an environment variable that, when set, holds the file's path or URL."),
    ]
    default_path: Annotated[
        NotRequired[str],
        Field(
            description="kind file: the file's path or fsspec URL, when the variable is unset; a relative path "
            "is read from the YAML file's folder (for a shipped dataset, from the project root), `~` expanded. "
            "`daybreak simulate --source` overrides both."
        ),
    ]
    format: Annotated[
        NotRequired[ExportFormat],
        Field(
            description="kind file: how the file is read; default from its suffix (.csv, .txt, .tsv and their "
            ".gz/.bz2/.xz/.zst forms and .zip: csv; .parquet, .pq: parquet; .jsonl, .ndjson: jsonl)."
        ),
    ]
    delimiter: Annotated[
        NotRequired[str],
        Field(
            description="kind file, csv: `whitespace` (runs of spaces and tabs), `tab`, or one character; "
            "default: `landing.delimiter`, else tab for .tsv, else sniffed among `, ; TAB |`."
        ),
    ]
    member: Annotated[
        NotRequired[str],
        Field(description="kind file, a .zip: the member to read; default the only .csv in the archive."),
    ]


class Simulation(TypedDict):
    """The synthetic shop's defaults for `daybreak simulate` (its options override them)."""

    __pydantic_config__ = STRICT  # type: ignore[misc]

    start: Annotated[NotRequired[dt.date], Field(description="First business day simulated.")]
    end: Annotated[NotRequired[dt.date], Field(description="Last business day simulated (inclusive).")]
    customers: Annotated[NotRequired[int], Field(ge=1, description="Customers in the population (2000).")]
    products: Annotated[NotRequired[int], Field(ge=1, description="Products (SKUs) on sale (300).")]
    locations: Annotated[NotRequired[int], Field(ge=1, description="Countries the shop sells to (8).")]


def _delimiter(value: str | None) -> str | None:
    if value is None or value == WHITESPACE_DELIMITER:
        return value
    if value == "tab":
        return "\t"
    if len(value) != 1 or value in '"\r\n':
        raise ValueError(f"delimiter is `whitespace`, `tab` or one character (not a quote), got {value!r}")
    return value


@section
class Landing:
    """How the nightly export files arrive in `landing/<dataset>/<YYYY-MM-DD>/`."""

    format: ExportFormat = Field(
        "csv",
        description="The export files' format: csv (any delimiter), parquet or jsonl (JSON lines, or one JSON "
        "array of objects).",
    )
    glob: str = Field("*.csv", description="Which files in a day's folder are exports.")
    delimiter: str | None = Field(
        None,
        description="csv: `whitespace` (fields separated by runs of spaces or tabs; a field with spaces is "
        '"quoted"), `tab`, or one character such as `;`. Default: sniffed per file among `, ; TAB |`.',
    )
    timestamp_format: str | None = Field(
        None,
        description="strftime format of the `ordered_at` column, e.g. `%Y%m%d` or `%d/%m/%Y %H:%M`; a value "
        "that does not match is quarantined as `ordered_at_unparseable`. Default: any date or time (one "
        "format inferred for the whole column when it fits every value, else each value read on its own). "
        "Also used when a source file is replayed.",
    )
    timezone: str | None = Field(
        None,
        description="The shop's IANA time zone, e.g. `Europe/London`: a time in the export that carries a "
        "UTC offset (`+01:00`, `Z`) is converted to it before its business day is read; a time without one is "
        "taken as the shop's local time. Default: an offset is dropped and the time kept as written.",
    )
    decimal_separator: Literal[".", ","] = Field(
        ".",
        description="csv: the decimal separator of the export's numbers, `,` for `3,5` (many European exports, "
        "usually `;`-separated). With `,` a quantity or price holding a `.` is no number and is quarantined: "
        "there the dot groups thousands (`1.234,5`), and reading it as a decimal point would change the value.",
    )
    late_files_lookback_days: int = Field(
        14,
        ge=0,
        description="Each night also picks up files that arrived late for this many earlier days (see "
        "docs/architecture.md, 'Late files, duplicates and rebuilds').",
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        description="How many days the raw landed files (the landing folder's exports and the lake's landed "
        "copies) are kept: the night for business date D removes those of days before D - retention_days, "
        "keeping their checksums and accounting (monitoring.ingest_runs) and writing an audit row per file "
        "(monitoring.privacy_audit; docs/privacy.md). The validated Parquet lake is kept. Default: kept forever.",
    )

    @field_validator("delimiter")
    @classmethod
    def _known_delimiter(cls, value: str | None) -> str | None:
        return _delimiter(value)

    @field_validator("timestamp_format")
    @classmethod
    def _has_directive(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(f"a strftime format such as %Y%m%d, got {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            import zoneinfo

            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"an IANA time zone such as Europe/London, got {value!r}") from None
        return value

    @model_validator(mode="after")
    def _decimal_comma_in_text_only(self):
        if self.decimal_separator != "." and self.format != "csv":
            raise ValueError(
                f"decimal_separator {self.decimal_separator!r} applies to csv exports; {self.format} carries its "
                "numbers typed or with a decimal point"
            )
        return self


@section
class Derived:
    """How one canonical column is computed from the export's columns: exactly one of the two keys."""

    expression: str | None = Field(
        None,
        description="quantity, unit_price: arithmetic over numeric export columns and numbers with "
        "`+ - * / // % **` and parentheses, e.g. `amount / units`; a column name that is not an identifier in "
        "backticks. A row where an input is no number or the result is not finite is quarantined as "
        "`<column>_not_derivable`.",
    )
    template: str | None = Field(
        None,
        description="Text columns (and ordered_at): export columns in braces joined by fixed text, e.g. "
        "`{customer}-{date}` for an order id, `{day} {time}` for a timestamp.",
    )

    @model_validator(mode="after")
    def _one_of(self):
        if (self.expression is None) == (self.template is None):
            raise ValueError("give exactly one of expression or template")
        if self.expression is not None:
            parse_expression(self.expression)
        else:
            template_columns(self.template)
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """The export columns it reads."""
        if self.expression is not None:
            return parse_expression(self.expression).columns
        return template_columns(self.template)


@section
class Range:
    """Bounds of a numeric canonical column; a value outside is quarantined."""

    min: float | None = Field(None, description="Below it: `<column>_below_min`.")
    max: float | None = Field(None, description="Above it: `<column>_above_max`.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.min is None and self.max is None:
            raise ValueError("give min and/or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


@section
class Validation:
    """Row rules checked by ingest after the built-in ones (tests/data/bad_exports/README.md shows each); a row
    that breaks one is quarantined under the rule's name, with a detail saying what is wrong."""

    ranges: dict[NumericColumn, Range] = Field(
        default_factory=dict, description="quantity, unit_price -> {min, max}."
    )
    allowed_values: dict[TextColumn, tuple[str, ...]] = Field(
        default_factory=dict, description="A text column -> the values it may take (`<column>_not_allowed`)."
    )
    patterns: dict[TextColumn, str] = Field(
        default_factory=dict,
        description="A text column -> a regular expression the whole value must match "
        "(`<column>_pattern_mismatch`).",
    )
    duplicate_lines: Literal["keep", "quarantine"] = Field(
        "keep",
        description="`quarantine`: a line identical in every field to an earlier line of the same file is "
        "quarantined as `duplicate_line` (the detail names the row it repeats).",
    )

    @field_validator("allowed_values", mode="before")
    @classmethod
    def _as_text(cls, value):
        return {k: [str(v) for v in vs] for k, vs in (value or {}).items()}

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: dict[str, str]) -> dict[str, str]:
        for column, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{column}: {pattern!r} is not a regular expression: {error}") from None
        return value

    @property
    def quarantine_duplicate_lines(self) -> bool:
        return self.duplicate_lines == "quarantine"


class NonProductPattern(NamedTuple):
    """A product_id pattern and the category of the non-product lines it matches."""

    pattern: Annotated[str, Field(description="A regular expression the whole product_id matches.")]
    category: Annotated[
        str, Field(description="The lines' non_product_category (gift_voucher, postage, ...).")
    ]


@section
class LineClassification:
    """How the warehouse tells product sales from returns and from lines that are not products at all."""

    return_order_prefix: str | None = Field(
        None,
        description="Orders whose id starts with this are cancellations/returns (Online Retail's `C`); a "
        "negative quantity outside such an order is a stock adjustment. Unset: every negative line is a return.",
    )
    non_product_codes: dict[str, str] = Field(
        default_factory=dict,
        description="product_id -> category (postage, fee, ...) of codes that are not goods.",
    )
    non_product_patterns: tuple[NonProductPattern, ...] = Field(
        (),
        description="A list of {pattern, category}: a regular expression on the whole product_id, checked after "
        "the codes.",
    )

    @field_validator("non_product_codes", mode="before")
    @classmethod
    def _codes_as_text(cls, value):
        return {str(k): str(v) for k, v in (value or {}).items()}


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
        (), description="Canonical columns a series is per: [location], [product_id] or both."
    )
    target: Target = Field("revenue", description="What is forecast.")
    frequency: Frequency = Field(
        "daily",
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
    include_total: bool = Field(False, description="Also forecast the total over everything.")
    holidays_country: str | None = Field(
        None, description="ISO country code whose public holidays the models and the calendar mart use."
    )

    @field_validator("include", mode="before")
    @classmethod
    def _as_text(cls, value):
        return {k: [str(v) for v in vs] for k, vs in (value or {}).items()}

    @model_validator(mode="after")
    def _something(self):
        if not self.keys and not self.include_total:
            raise ValueError("needs keys, include_total, or both")
        return self


def parse_candidates(raw) -> tuple[dict, ...]:
    """Candidate entries (a model name, or a mapping with `model:` and its parameters) as checked specs.

    A checked spec (`{"name", "params"}`) passes through, so a section changed with `dataclasses.replace`
    validates again. A prophet entry with `seasonality_mode: search` stands for two candidates.

    Raises:
        ValueError: an unknown model or parameter (the message names it).
    """
    from daybreak.models.candidates import check_spec

    specs: list[dict] = []
    for entry in raw:
        if isinstance(entry, dict) and set(entry) == {"name", "params"}:
            candidates = [check_spec(entry)]
        else:
            if isinstance(entry, str):
                entry = {"model": entry}
            if not isinstance(entry, dict) or "model" not in entry:
                raise ValueError(f"a candidate is a model name or a mapping with `model:`, got {entry!r}")
            params = {k: v for k, v in entry.items() if k != "model"}
            modes = [params.pop("seasonality_mode", None)]
            if entry["model"] == "prophet" and modes == ["search"]:
                modes = ["additive", "multiplicative"]
            candidates = [
                check_spec(
                    {"name": entry["model"], "params": {**params, **({"seasonality_mode": m} if m else {})}}
                )
                for m in modes
            ]
        specs.extend(c for c in candidates if c not in specs)
    if not specs:
        raise ValueError("forecasting.candidates is empty")
    return tuple(specs)


@section
class Backtest:
    """How candidates are backtested: rolling origins, each forecasting `horizon` periods."""

    folds: int = Field(3, ge=1, description="Rolling origins.")
    horizon: int | None = Field(
        None, ge=1, description="Periods each fold forecasts; default the series horizon."
    )
    step: int | None = Field(None, ge=1, description="Periods between origins; default the backtest horizon.")


@section
class ForecastingConfig:
    """How series are trained, selected, promoted and retrained (docs/architecture.md, "Forecasting").

    Retraining (backtests of every candidate, then the gated promotion) happens on the schedule's days, for a
    series without a champion, and on demand; on other nights each series' champion scores (`normal_night`).
    """

    candidates: tuple[str | dict, ...] = Field(
        tuple({"name": name, "params": {}} for name in DEFAULT_CANDIDATES),
        description="Models that compete: a model name, or a mapping with `model:` and its parameters "
        "(daybreak.models.candidates); prophet's `seasonality_mode: search` stands for additive and "
        "multiplicative; `global_lgbm` is one LightGBM model fitted across all the dataset's series "
        "(n_estimators, learning_rate, num_leaves, conformal_windows, transform), scored per series like the "
        "others. Default: seasonal_naive and prophet.",
    )
    backtest: Backtest = Field(default_factory=Backtest, description="How candidates are backtested.")
    selection_metric: SelectionMetric = Field(
        "mase", description="The backtest metric candidates are ranked by."
    )
    ensemble_top: int = Field(
        0, ge=0, description="When 2 or more: the mean of that many best candidates competes."
    )
    promotion_margin: float = Field(
        0.02, ge=0, description="A challenger must beat the champion's backtest by this share to be promoted."
    )
    retrain: Schedule = Field(
        "weekly",
        description="Retrain nights: every night, weekly on retrain_weekday, or on the 1st. A weekly or monthly "
        "dataset retrains on the night closing the period that holds a retrain night.",
    )
    retrain_weekday: Weekday = Field(6, description="Weekly retrains' weekday (Monday = 0, Sunday = 6).")
    time_limit_seconds: float | None = Field(
        120.0, description="A series' fit gives up after this long and falls back; null or 0: no limit."
    )
    backtest_uncertainty_samples: int = Field(
        0,
        ge=0,
        description="Prophet's uncertainty samples during backtests. The selection metric needs only the point "
        "forecast, so none by default (Prophet's backtest coverage is then empty); the forecast's intervals come "
        "from the final fit either way.",
    )
    halving_margin: float | None = Field(
        0.1,
        ge=0,
        description="Successive halving: after every candidate is backtested on the newest fold, one scoring more "
        "than this share above the best there is dropped before the older folds; null: every fold for all.",
    )
    normal_night: NormalNight = Field(
        "score",
        description="What a night that does not retrain does with each champion. `score`: a Prophet champion (or "
        "an ensemble's Prophet members) forecasts from the fit stored at its training, without fitting, so it "
        "uses the data up to its last retrain and the night costs a fraction of a Prophet fit; `refit`: the "
        "champion is refit on the night's history first (warm-started). Other models, and champions trained "
        "before fits were stored, are refit either way.",
    )

    @field_validator("candidates", mode="before")
    @classmethod
    def _checked(cls, value):
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
            halving_margin=self.halving_margin,
            normal_night=self.normal_night,
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


def _mapping_is_canonical(columns: dict, constants: dict, derived: dict) -> None:
    sources = {"columns": columns, "constants": constants, "derived": derived}
    for canonical in CANONICAL_COLUMNS:
        in_ = [name for name, section in sources.items() if canonical in section]
        if len(in_) > 1:
            raise ValueError(f"{canonical} is given in both {in_[0]} and {in_[1]}")
    for column in NUMERIC_COLUMNS:
        if column in constants and (
            isinstance(constants[column], bool) or not isinstance(constants[column], int | float)
        ):
            raise ValueError(f"constants.{column} must be a number, got {constants[column]!r}")
        if column in derived and derived[column].expression is None:
            raise ValueError(f"derived.{column} is numeric: give an expression, not a template")
    for column, rule in derived.items():
        if column not in NUMERIC_COLUMNS and rule.template is None:
            raise ValueError(f"derived.{column} is text: give a template, not an expression")
    if "ordered_at" in constants:
        raise ValueError("ordered_at cannot be a constant: it dates every row")
    if missing := [c for c in REQUIRED_COLUMNS if not any(c in s for s in sources.values())]:
        raise ValueError(f"required canonical columns not mapped (columns, constants or derived): {missing}")


@section
class DatasetConfig:
    """A dataset YAML: how a source's export maps onto Daybreak's canonical sales line, and what to model."""

    name: str = Field(
        pattern=f"^{SAFE_NAME.pattern}$",
        description="The dataset's name: lowercase letters, digits and `_`, starting with a letter, and the same "
        "as the file's name without `.yml`. Landing, lake, warehouse and model folders under DAYBREAK_HOME are "
        "named by it.",
    )
    description: str = Field("", description="One line saying what the data is.")
    source: Source = Field(
        default_factory=lambda: {"kind": "simulator"},
        description="Where the transactions come from for `daybreak simulate`.",
    )
    landing: Landing = Field(default_factory=Landing, description="How the nightly export files arrive.")
    columns: dict[CanonicalColumn, str] = Field(
        default_factory=dict,
        description="Canonical column -> the export's column holding it. Canonical columns: order_id, "
        "ordered_at, customer_id, product_id, product_name, location, quantity, unit_price; ordered_at, "
        "product_id, location, quantity and unit_price are required (here, in constants or in derived). "
        "Export columns not mapped are kept in the lake's extra_values.",
    )
    constants: dict[CanonicalColumn, str | float] = Field(
        default_factory=dict,
        description="Canonical column -> a fixed value for every line, for what the export lacks (a single "
        "shop's location, a price of 1.0 when only units are known). Numbers for quantity and unit_price.",
    )
    derived: dict[CanonicalColumn, Derived] = Field(
        default_factory=dict,
        description="Canonical column -> how it is computed from the export's columns (an expression or a "
        "template).",
    )
    validation: Validation = Field(default_factory=Validation, description="The dataset's own row rules.")
    classification: LineClassification = Field(
        default_factory=LineClassification, description="Returns and non-product lines."
    )
    calendar: Calendar = Field(default_factory=Calendar, description="The shop's closed days.")
    series: SeriesSpec = Field(description="The forecast series.")
    segmentation: SegmentationConfig = Field(
        default_factory=SegmentationConfig, description="Customer segmentation (off unless enabled)."
    )
    drift: Drift = Field(default_factory=Drift, description="Drift windows.")
    monitoring: Monitoring = Field(
        default_factory=Monitoring, description="Model references, drift tests and data quality."
    )
    retraining: Retraining = Field(
        default_factory=Retraining, description="The retraining policy monitoring applies each night."
    )
    simulation: Simulation = Field(default_factory=dict, description="The synthetic shop's defaults.")
    forecasting: ForecastingConfig = Field(
        default_factory=ForecastingConfig, description="Model competition, backtests and retraining."
    )

    @field_validator("constants", mode="before")
    @classmethod
    def _constants(cls, value):
        """Text columns' constants as text (`location: 1` is the location "1"); numbers stay numbers."""
        for column in NUMERIC_COLUMNS:
            if isinstance((value or {}).get(column), bool):
                raise ValueError(f"constants.{column} must be a number, got {value[column]!r}")
        return {k: v if k in NUMERIC_COLUMNS else str(v) for k, v in (value or {}).items()}

    @model_validator(mode="after")
    def _consistent(self):
        _mapping_is_canonical(self.columns, self.constants, self.derived)
        if self.source["kind"] == "file" and not (
            self.source.get("path_env") or self.source.get("default_path")
        ):
            raise ValueError("source of kind file needs default_path or path_env")
        if self.source.get("delimiter") is not None:  # `tab` read as the tab character, like landing's
            self.source["delimiter"] = _delimiter(self.source["delimiter"])
        return self

    @property
    def landing_format(self) -> str:
        return self.landing.format

    @property
    def landing_glob(self) -> str:
        return self.landing.glob

    @property
    def late_files_lookback_days(self) -> int:
        return self.landing.late_files_lookback_days

    @property
    def retention_days(self) -> int | None:
        return self.landing.retention_days

    @property
    def drift_reference_days(self) -> int:
        return self.drift.reference_days

    @property
    def drift_current_days(self) -> int:
        return self.drift.current_days

    @property
    def segmentation_enabled(self) -> bool:
        return self.segmentation.enabled

    def source_location(self, override: str | None = None) -> str:
        """Where the original file of a replayed dataset is: the override, the env variable, or the default.

        A relative default is read from the project root, so `../shared/data/...` works from any working
        directory. URLs (`s3://`, `https://`, ...) are returned as they are, for fsspec.
        """
        if self.source["kind"] != "file":
            raise DatasetConfigError(
                f"dataset {self.name!r} has no source file (kind={self.source['kind']!r})"
            )
        env = self.source.get("path_env")
        location = override or (os.environ.get(env) if env else None) or self.source.get("default_path")
        if not location:
            raise DatasetConfigError(
                f"dataset {self.name!r}: set {env} or give --source (the file to replay)"
            )
        if "://" in location:
            return location
        path = Path(location).expanduser()
        return str(path if path.is_absolute() else (PROJECT_ROOT / path).resolve())

    @property
    def export_columns(self) -> tuple[str, ...]:
        """Every export column the mapping reads (mapped and read by derived columns), in order."""
        read = [*self.columns.values()]
        for rule in self.derived.values():
            read.extend(rule.columns)
        return tuple(dict.fromkeys(read))
