"""Where a dataset's exports come from and how they map onto canonical sales lines: `source:`, `simulation:`,
`landing:`, `derived:`, `validation:` and `line_classification:`."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Annotated, Literal, NamedTuple, NotRequired

from pydantic import Field, field_validator, model_validator
from typing_extensions import TypedDict

from daybreak.core.vocabulary import (
    WHITESPACE_DELIMITER,
    ExportFormat,
)
from daybreak.datasets.expressions import parse_expression, template_columns
from daybreak.datasets.fields import (
    STRICT,
    NumericColumn,
    TextColumn,
    section,
)


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
        "format inferred for the whole column when it fits every value, else each value read on its own); "
        "numeric dates (`03/04/2024`) day-first or month-first as a value that reads one way only settles it, "
        "else as puts the rows on the export's business date, else the file is refused. Also used when a "
        "source file is replayed.",
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
    corrections: Literal["add", "replace"] = Field(
        "add",
        description="What a new file for a business day that already has files does (docs/operations.md, "
        "'Corrections'). `add`: it holds more of the day's lines, and adds them (a source that splits a day "
        "into several files). `replace`: every file is the whole day, so a new one replaces the files of its "
        "day that landed before it (on an earlier night, or, seen the same night, sorting before it by name): "
        "their lines leave the lake, their accounting rows become `replaced`, and the day is rebuilt. A file "
        "whose bytes repeat a landed one is a duplicate either way.",
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
    negative_quantities: Literal["by_order", "by_price", "all_returns"] = Field(
        "by_order",
        description="What a negative quantity outside a return order is (a line in a return order is a return; "
        "with no return_order_prefix every order is one). `by_order`: a stock adjustment (damaged, lost, found "
        "stock), which leaves product revenue. `by_price`: a stock adjustment at price 0, a return (keeping its "
        "revenue) at any other price. `all_returns`: a return. fct_sales_lines.line_kind_rule names the rule "
        "that classified each line.",
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
