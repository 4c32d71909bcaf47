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
from daybreak.datasets.customer_value import CustomerValueConfig
from daybreak.datasets.fields import (
    CANONICAL_COLUMNS,
    MEASURES,
    NUMERIC_COLUMNS,
    CanonicalColumn,
    Grain,
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


def _mapping_is_canonical(columns: dict, constants: dict, derived: dict, grain: str) -> None:
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
    required = ("ordered_at", "product_id", "location", *MEASURES[grain])
    if missing := [c for c in required if not any(c in s for s in sources.values())]:
        raise ValueError(f"required canonical columns not mapped (columns, constants or derived): {missing}")
    if grain == "lines" and any("revenue" in s for s in sources.values()):
        raise ValueError(
            "revenue is mapped, but a sales line's revenue is quantity * unit_price: map unit_price (derived: "
            "{expression: amount / units}), or set grain: aggregated when each row is already a total"
        )
    if grain == "aggregated" and any("unit_price" in s for s in sources.values()):
        raise ValueError("grain aggregated: a row is a total and has no unit_price; map its revenue instead")


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
    grain: Grain = Field(
        "lines",
        description="What one export row is. `lines`: a sales line, whose revenue is quantity * unit_price. "
        "`aggregated`: a total already summed by the source (a store-department's week, a day's revenue): it maps "
        "`revenue` and, when the export has them, its units as `quantity` (without them the marts' units are "
        "null and the dashboards show none); it has no unit_price, no customers to segment, and its negative "
        "totals follow `validation.negative_totals`. A row belongs to the day of its `ordered_at`.",
    )
    columns: dict[CanonicalColumn, str | tuple[str, ...]] = Field(
        default_factory=dict,
        description="Canonical column -> the export's column holding it, or a list of the names it has had "
        "(`location: [country, Country]`, for a column renamed in the middle of the history): each file is read "
        "with the first of them it has (a file with none lacks the column). Canonical columns: order_id, "
        "ordered_at, customer_id, product_id, product_name, location, quantity, unit_price, revenue; ordered_at, "
        "product_id, location, quantity and unit_price are required (here, in constants or in derived), or "
        "with `grain: aggregated` ordered_at, product_id, location and revenue. Export columns not mapped are "
        "kept in the lake's extra_values, with one warning per column and load (unless listed in ignore_columns).",
    )
    constants: dict[CanonicalColumn, str | float] = Field(
        default_factory=dict,
        description="Canonical column -> a fixed value for every line, for what the export lacks (a single "
        "shop's location, a price of 1.0 when only units are known). Numbers for quantity, unit_price and "
        "revenue.",
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
    customer_value: CustomerValueConfig = Field(
        default_factory=CustomerValueConfig,
        description="Each customer's expected purchases and revenue (off unless enabled; works on aggregated "
        "rows of a customer's spend too).",
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
        _mapping_is_canonical(self.columns, self.constants, self.derived, self.grain)
        if read := [c for c in self.ignore_columns if c in self.export_columns]:
            raise ValueError(f"ignore_columns lists {read}, which the mapping reads")
        self._grain_fits()
        if self.source["kind"] == "file" and not (
            self.source.get("path_env") or self.source.get("default_path")
        ):
            raise ValueError("source of kind file needs default_path or path_env")
        if self.source.get("delimiter") is not None:  # `tab` read as the tab character, like landing's
            self.source["delimiter"] = _delimiter(self.source["delimiter"])
        return self

    def _grain_fits(self) -> None:
        """What an aggregated export cannot give: customers, hours, or units it does not have."""
        if self.grain == "lines":
            if self.validation.negative_totals != "refund":
                raise ValueError("validation.negative_totals applies to grain: aggregated only")
            return
        if self.segmentation.enabled:
            raise ValueError(
                "grain aggregated: rows are totals, not customers' purchases; segmentation cannot apply"
            )
        if self.series.frequency == "hourly":
            raise ValueError(
                "grain aggregated: rows carry no time of day; forecast daily, weekly or monthly series"
            )
        if self.series.target == "units" and "quantity" not in self.measures:
            raise ValueError("series.target units: this aggregated export has no units (map quantity)")

    @property
    def aggregated(self) -> bool:
        """Whether each row is a total (`grain: aggregated`) rather than a sales line."""
        return self.grain == "aggregated"

    @property
    def measures(self) -> tuple[str, ...]:
        """The numeric canonical columns the export gives (mapped, constant or derived), in canonical order: a
        line's quantity and unit_price; an aggregated row's revenue and, when it has them, its units."""
        given = {*self.columns, *self.constants, *self.derived}
        return tuple(
            c for c in NUMERIC_COLUMNS if c in MEASURES[self.grain] or (self.aggregated and c in given)
        )

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
