"""The row rules: what makes a canonical sales line valid, each rule with a name and a detail for the quarantine.

Kept apart from the mapping (`daybreak.ingest.canonical`) so that what a valid line is can be read in one place:
the built-in `QUARANTINE_RULES`, and the dataset config's `validation:` rules added by `rules_for`. A line is
quarantined under the first rule it breaks, so the order here is part of the definition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from daybreak.datasets import DatasetConfig
from daybreak.ingest.number_parsing import per_distinct

REQUIRED_VALUES = ("product_id", "location")
# the columns that identify (an order, a customer, a product, a series), where a control character (a NUL, an
# escape) is an export fault and would make two spellings of one id: such a line is quarantined, not loaded
ID_COLUMNS = ("order_id", "customer_id", "product_id", "location")
CONTROL_CHARACTER = r"[\x00-\x1f\x7f]"


@dataclass(frozen=True)
class Rule:
    """One row rule: `broken(lines, business_date)` flags the canonical lines (see `to_canonical`) that break it,
    and `describe(lines)` says, per line, what is wrong, for the quarantine's `detail` column. `business_date` is
    the file's day, or a Series giving each line its file's day when several files are checked together."""

    name: str
    broken: Callable[[pd.DataFrame, dt.date], pd.Series]
    describe: Callable[[pd.DataFrame], pd.Series]


def _value_is(column: str, what: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda lines: column + " " + lines[f"_{column}_text"].map(repr) + f" {what}"


# The built-in rules, in the order they are checked: a line is quarantined under the first rule it breaks.
# `malformed_row` (daybreak.ingest.exports.rows) comes before all of them: a row that cannot be split into
# fields never reaches these checks. The dataset config's `validation:` rules (ranges, allowed values, patterns, duplicate lines) come
# after them (`rules_for`). Zero prices and negative quantities are real (free samples, returns, adjustments) and
# pass the built-in rules; the warehouse classifies them (`classification.negative_quantities`).
QUARANTINE_RULES: tuple[Rule, ...] = (
    Rule(
        "ordered_at_unparseable",
        lambda lines, day: lines["ordered_at"].isna(),
        _value_is("ordered_at", "is not a timestamp"),
    ),
    Rule(
        "ordered_at_not_on_business_date",
        lambda lines, day: lines["ordered_at"].dt.date != day,
        lambda lines: "ordered_at " + lines["_ordered_at_text"].map(repr) + " is not on the business date",
    ),
    Rule(
        "quantity_not_numeric",
        lambda lines, day: ~lines["_quantity_is_number"],
        _value_is("quantity", "is no number"),
    ),
    Rule(
        "quantity_not_finite",
        lambda lines, day: ~np.isfinite(lines["quantity"]),
        _value_is("quantity", "is not finite"),
    ),
    Rule(
        "unit_price_not_numeric",
        lambda lines, day: ~lines["_unit_price_is_number"],
        _value_is("unit_price", "is no number"),
    ),
    Rule(
        "unit_price_not_finite",
        lambda lines, day: ~np.isfinite(lines["unit_price"]),
        _value_is("unit_price", "is not finite"),
    ),
    *(
        Rule(
            f"{column}_missing",
            lambda lines, day, c=column: lines[c].isna(),
            lambda lines, c=column: f"no {c}",
        )
        for column in REQUIRED_VALUES
    ),
    *(
        Rule(
            f"{column}_control_character",
            lambda lines, day, c=column: (
                lines[c].notna()
                & per_distinct(lines[c].fillna(""), lambda text: text.str.contains(CONTROL_CHARACTER)).astype(
                    bool
                )
            ),
            # the character, not the value: a customer id stays out of the detail (the raw values keep it)
            lambda lines, c=column: (
                f"{c} holds the control character "
                + lines[c].str.extract(f"({CONTROL_CHARACTER})", expand=False).map(repr)
            ),
        )
        for column in ID_COLUMNS
    ),
)


def rules_for(config: DatasetConfig) -> tuple[Rule, ...]:
    """The dataset's rules in the order they are checked: a derived column that cannot be computed
    (`<column>_not_derivable`) first, then the built-in rules, then the config's `validation:` rules (ranges,
    allowed values, patterns, duplicate lines)."""
    validation = config.validation
    rules = [
        Rule(
            f"{column}_not_derivable",
            lambda lines, day, c=column: lines[f"_{c}_derive_error"].notna(),
            lambda lines, c=column: lines[f"_{c}_derive_error"].astype(str),
        )
        for column, rule in config.derived.items()
        if rule.expression is not None
    ]
    rules.extend(QUARANTINE_RULES)
    for column, bounds in validation.ranges.items():
        low, high = bounds.min, bounds.max
        if low is not None:
            rules.append(
                Rule(
                    f"{column}_below_min",
                    lambda lines, day, c=column, v=low: lines[c] < v,
                    _value_is(column, f"is below the minimum {low:g}"),
                )
            )
        if high is not None:
            rules.append(
                Rule(
                    f"{column}_above_max",
                    lambda lines, day, c=column, v=high: lines[c] > v,
                    _value_is(column, f"is above the maximum {high:g}"),
                )
            )
    for column, values in validation.allowed_values.items():
        shown = ", ".join(values[:10]) + (", ..." if len(values) > 10 else "")
        rules.append(
            Rule(
                f"{column}_not_allowed",
                lambda lines, day, c=column, vs=frozenset(values): lines[c].notna() & ~lines[c].isin(vs),
                _value_is(column, f"is not one of {shown}"),
            )
        )
    for column, pattern in validation.patterns.items():
        rules.append(
            Rule(
                f"{column}_pattern_mismatch",
                lambda lines, day, c=column, p=pattern: (
                    lines[c].notna()
                    & ~per_distinct(lines[c].fillna(""), lambda text: text.str.fullmatch(p).astype(bool))
                ),
                _value_is(column, f"does not match the pattern {pattern}"),
            )
        )
    if validation.quarantine_duplicate_lines:
        rules.append(
            Rule(
                "duplicate_line",
                lambda lines, day: lines["_duplicate_of_row"].notna(),
                lambda lines: "repeats row " + lines["_duplicate_of_row"].astype("Int64").astype(str),
            )
        )
    return tuple(rules)
