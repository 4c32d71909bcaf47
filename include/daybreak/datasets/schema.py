"""The dataset config's schema: every section and key of a dataset YAML, typed, with its default and meaning.

This package's section modules (`fields`, `landing`, `forecasting`, `monitoring`) and this root are the one
place a key is defined: the loader (`daybreak.datasets.load_dataset_config`) validates a
YAML against it, and docs/config-reference.md is generated from it (`python -m daybreak.datasets.reference`), so
each `Field(description=...)` here is the key's documentation. Every section refuses keys it does not define.

Sections are pydantic dataclasses, so the rest of the code reads them as attributes (`config.calendar.closed_weekdays`,
`config.forecasting.options(...)`) and tests change them with `dataclasses.replace`, which validates again.
`source:` and `simulation:` are typed mappings (TypedDicts): the simulator and the replay read them as dicts.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from daybreak.core.environment import read_named
from daybreak.core.settings import PROJECT_ROOT, SAFE_NAME, DatasetConfigError
from daybreak.datasets.fields import (
    CANONICAL_COLUMNS,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    CanonicalColumn,
    section,
)
from daybreak.datasets.forecasting import (
    Calendar,
    ForecastingConfig,
    SeriesSpec,
)
from daybreak.datasets.landing import (
    Derived,
    Landing,
    LineClassification,
    Simulation,
    Source,
    Validation,
    _delimiter,
)
from daybreak.datasets.monitoring import (
    Drift,
    Monitoring,
    Retraining,
    SegmentationConfig,
)


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
    currency: str | None = Field(
        None,
        pattern=r"^[A-Z]{3}$",
        description="The ISO 4217 code of the currency the prices are in (`EUR`, `GBP`, `USD`): the dashboards "
        "show it with every money figure. Unset: money is shown as plain numbers.",
    )
    source: Source = Field(
        default_factory=lambda: {"kind": "simulator"},
        description="Where the transactions come from for `daybreak simulate`.",
    )
    landing: Landing = Field(default_factory=Landing, description="How the nightly export files arrive.")
    columns: dict[CanonicalColumn, str | tuple[str, ...]] = Field(
        default_factory=dict,
        description="Canonical column -> the export's column holding it, or a list of the names it has had "
        "(`location: [country, Country]`, for a column renamed in the middle of the history): each file is read "
        "with the first of them it has (a file with none lacks the column). Canonical columns: order_id, "
        "ordered_at, customer_id, product_id, product_name, location, quantity, unit_price; ordered_at, "
        "product_id, location, quantity and unit_price are required (here, in constants or in derived). "
        "Export columns not mapped are kept in the lake's extra_values, with one warning per column and load "
        "(unless listed in ignore_columns).",
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
    ignore_columns: tuple[str, ...] = Field(
        (),
        description="Export columns neither mapped nor kept: dropped at ingest, without the warning an unmapped "
        "column gets (an export's internal ids, free-text notes).",
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

    @field_validator("columns")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for canonical, names in value.items():
            if isinstance(names, tuple) and (not names or len(set(names)) != len(names)):
                raise ValueError(
                    f"columns.{canonical}: a list of distinct names, at least one, got {list(names)}"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self):
        _mapping_is_canonical(self.columns, self.constants, self.derived)
        if read := [c for c in self.ignore_columns if c in self.export_columns]:
            raise ValueError(f"ignore_columns lists {read}, which the mapping reads")
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
        location = override or (read_named(env) if env else None) or self.source.get("default_path")
        if not location:
            raise DatasetConfigError(
                f"dataset {self.name!r}: set {env} or give --source (the file to replay)"
            )
        if "://" in location:
            return location
        path = Path(location).expanduser()
        return str(path if path.is_absolute() else (PROJECT_ROOT / path).resolve())

    @property
    def mapped_columns(self) -> dict[str, str]:
        """Canonical column -> the export column it is read from: the first of its names (`columns`); a file that
        has another of them has it renamed to the first when it is read (`other_names`)."""
        return {c: names if isinstance(names, str) else names[0] for c, names in self.columns.items()}

    @property
    def other_names(self) -> dict[str, tuple[str, ...]]:
        """A mapped export column's first name -> its other names, in order, for the columns given several."""
        return {
            names[0]: names[1:] for names in self.columns.values() if not isinstance(names, str) and names[1:]
        }

    @property
    def export_columns(self) -> tuple[str, ...]:
        """Every export column the mapping reads (mapped, by its first name, and read by derived columns), in
        order."""
        read = [*self.mapped_columns.values()]
        for rule in self.derived.values():
            read.extend(rule.columns)
        return tuple(dict.fromkeys(read))
