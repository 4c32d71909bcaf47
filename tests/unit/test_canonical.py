"""The canonical mapping beyond plain column renames: constants, derived columns, timestamp formats, and the rows
they cannot map, quarantined under a rule like every other bad row."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import sys
from pathlib import Path

import pandas as pd
import pytest

from daybreak.core.vocabulary import FLOAT_SUFFIX
from daybreak.datasets import DatasetConfigError, load_dataset_config, parse_dataset_config
from daybreak.ingest.canonical import (
    WHITESPACE,
    IngestError,
    RawFile,
    to_canonical,
    to_canonical_many,
)
from daybreak.ingest.exports.reader import read_export
from daybreak.ingest.number_parsing import parse_numbers, per_distinct
from daybreak.ingest.quarantine_rules import rules_for

BAD_EXPORTS = Path(__file__).resolve().parents[1] / "data" / "bad_exports"
DAY = dt.date(2024, 3, 5)


def test_decimal_comma_corpus_file_reads_commas_and_refuses_grouping_dots():
    """tests/data/bad_exports/README.md, decimal_comma.csv."""
    config = load_dataset_config(BAD_EXPORTS / "decimal_comma.yml")
    export = read_export(
        str(BAD_EXPORTS / "decimal_comma.csv"), config.landing_format, config.landing.delimiter
    )
    result = to_canonical(export.rows, config, source_file="decimal_comma.csv", business_date=DAY)
    assert result.loaded["unit_price"].tolist() == [3.5, 12.0, 2.25]
    assert result.loaded["quantity"].tolist() == [2.0, 1.0, 1.5]
    assert result.loaded["product_name"].tolist() == ["Mug", "Plate, large", "Ribbon (m)"]
    assert result.quarantined[["source_row", "rule", "detail"]].values.tolist() == [
        [3, "unit_price_not_numeric", "unit_price '1.234,50' is no number"]
    ]
    assert result.revenue_in == pytest.approx(2 * 3.5 + 12 + 1.5 * 2.25)


def test_time_zones_corpus_file_keeps_wall_clock_times_or_converts_to_the_shops_zone():
    """tests/data/bad_exports/README.md, time_zones.csv."""
    config = load_dataset_config("synthetic")
    export = read_export(str(BAD_EXPORTS / "time_zones.csv"), "csv")
    as_written = to_canonical(export.rows, config, source_file="time_zones.csv", business_date=DAY)
    in_london = dataclasses.replace(
        config, landing=dataclasses.replace(config.landing, timezone="Europe/London")
    )
    converted = to_canonical(export.rows, in_london, source_file="time_zones.csv", business_date=DAY)

    def loaded_times(result) -> list[str]:
        assert {t.date() for t in result.loaded["ordered_at"]} == {DAY}
        return [f"{t:%H:%M}" for t in result.loaded["ordered_at"]]

    assert loaded_times(as_written) == ["09:15", "10:15", "12:00", "23:30", "11:00"]
    assert loaded_times(converted) == ["08:15", "08:15", "12:00", "11:00"]
    assert converted.quarantined[["source_row", "rule"]].values.tolist() == [
        [4, "ordered_at_not_on_business_date"]  # 04:30 on the 6th in London
    ]


def test_decimal_comma_for_typed_formats_and_an_unknown_time_zone_are_refused():
    raw = {
        "name": "shop",
        "columns": {"ordered_at": "t", "product_id": "p", "location": "l", "quantity": "q"},
    }
    raw |= {"constants": {"unit_price": 1}, "series": {"keys": ["location"]}}
    with pytest.raises(DatasetConfigError, match="decimal_separator ',' applies to csv exports"):
        parse_dataset_config(raw | {"landing": {"format": "parquet", "decimal_separator": ","}}, "shop.yml")
    with pytest.raises(
        DatasetConfigError, match="landing.timezone: .*an IANA time zone such as Europe/London"
    ):
        parse_dataset_config(raw | {"landing": {"timezone": "Europe/Londn"}}, "shop.yml")


def test_own_format_corpus_file_loads_and_quarantines_with_rules():
    """tests/data/bad_exports/README.md, own_format.txt."""
    config = load_dataset_config(BAD_EXPORTS / "own_format.yml")
    export = read_export(str(BAD_EXPORTS / "own_format.txt"), config.landing_format, config.landing.delimiter)
    result = to_canonical(
        export.rows,
        config,
        source_file="own_format.txt",
        business_date=DAY,
        source_rows=export.rows.index,
        malformed=export.malformed,
    )
    assert result.quarantined[["source_row", "rule", "detail"]].values.tolist() == [
        [2, "unit_price_not_derivable", "unit_price = amount / units gives inf"],
        [3, "unit_price_not_derivable", "unit_price = amount / units: units 'two' is no number"],
        [4, "ordered_at_unparseable", "ordered_at '20240230' is not a timestamp"],
        [5, "ordered_at_not_on_business_date", "ordered_at '20240306' is not on the business date"],
        [6, "malformed_row", "line 7 cannot be split into the header's fields"],
    ]
    loaded = result.loaded
    assert loaded[["order_id", "customer_id", "product_id", "location"]].values.tolist() == [
        ["00001-20240305", "00001", "any", "online"],
        ["Ann Lee-20240305", "Ann Lee", "any", "online"],
    ]
    assert loaded["unit_price"].tolist() == [9.99, 14.5]
    assert loaded["quantity"].tolist() == [2.0, 4.0]
    assert loaded["ordered_at"].tolist() == [pd.Timestamp("2024-03-05")] * 2
    assert result.rows_in == len(loaded) + len(result.quarantined) == 7
    assert result.unexpected_columns == ()  # amount is read by the expression, so it is no extra column


def test_derivation_comes_first_and_only_for_expressions():
    config = load_dataset_config(BAD_EXPORTS / "own_format.yml")
    assert [rule.name for rule in rules_for(config)][:2] == [
        "unit_price_not_derivable",
        "ordered_at_unparseable",
    ]


def test_a_column_an_expression_reads_must_be_in_the_export():
    config = load_dataset_config(BAD_EXPORTS / "own_format.yml")
    raw = pd.DataFrame({"customer": ["1"], "date": ["20240305"], "units": ["1"]})
    with pytest.raises(IngestError, match=r"x\.txt: missing required column\(s\) \['amount'\]"):
        to_canonical(raw, config, source_file="x.txt", business_date=DAY)


def test_derived_and_constant_columns_are_checked_when_the_config_loads():
    base = {
        "name": "shop",
        "series": {"keys": ["location"]},
        "constants": {"location": "one", "product_id": "p"},
    }
    mapped = {"ordered_at": "ts", "quantity": "qty"}

    def refused(**sections) -> str:
        with pytest.raises(DatasetConfigError) as error:
            parse_dataset_config({**base, "columns": mapped, **sections}, origin="shop.yml")
        return str(error.value)

    assert refused(derived={"unit_price": {"expression": "open('x')"}}).startswith(
        "shop.yml: derived.unit_price: \"open('x')\": only + - * / // % ** over column names and numbers"
    )
    assert refused(derived={"unit_price": {"template": "{p}"}}) == (
        "shop.yml: derived.unit_price is numeric: give an expression, not a template"
    )
    assert refused(derived={"order_id": {"expression": "a + b"}}) == (
        "shop.yml: derived.order_id is text: give a template, not an expression"
    )
    assert refused(derived={"order_id": {"template": "{a.__class__}"}}) == (
        "shop.yml: derived.order_id: '{a.__class__}': a placeholder is a bare {column}, got {a.__class__}"
    )
    assert refused(derived={"unit_price": {"expression": "a", "template": "{a}"}}) == (
        "shop.yml: derived.unit_price: give exactly one of expression or template"
    )
    assert refused(constants={**base["constants"], "unit_price": "cheap"}) == (
        "shop.yml: constants.unit_price must be a number, got 'cheap'"
    )
    assert refused(
        constants={**base["constants"], "quantity": 1}, derived={"unit_price": {"expression": "a"}}
    ) == ("shop.yml: quantity is given in both columns and constants")
    assert refused() == (
        "shop.yml: required canonical columns not mapped (columns, constants or derived): ['unit_price']"
    )


def test_many_files_mapped_together_give_each_file_its_own_result():
    """The bulk load maps many files in one pass (`to_canonical_many`); each result must be `to_canonical`'s."""
    synthetic = load_dataset_config("synthetic")
    validation = dataclasses.replace(synthetic.validation, duplicate_lines="quarantine")
    config = dataclasses.replace(synthetic, validation=validation)
    names = ["good.csv", "wrong_types.csv", "malformed_rows.csv", "config_rules.csv", "extra_column.csv"]
    files = []
    for offset, name in enumerate(names * 2):  # the same rows twice: duplicates are found within a file only
        export = read_export(str(BAD_EXPORTS / name), "csv")
        day = DAY + dt.timedelta(days=offset % 2)
        files.append(
            RawFile(export.rows, f"{offset}-{name}", day, export.rows.index, export.malformed, export.table)
        )

    together = to_canonical_many(files, config)

    for file, result in zip(files, together, strict=True):
        alone = to_canonical(
            file.raw,
            config,
            source_file=file.source_file,
            business_date=file.business_date,
            source_rows=file.source_rows,
            malformed=file.malformed,
        )
        assert result.rows_in == alone.rows_in
        assert result.revenue_in == alone.revenue_in
        assert result.unexpected_columns == alone.unexpected_columns
        pd.testing.assert_frame_equal(result.loaded, alone.loaded)
        if len(alone.quarantined):
            pd.testing.assert_frame_equal(result.quarantined, alone.quarantined)
        else:  # an empty frame's column types are pandas' guess, and nothing reads them
            assert (
                list(result.quarantined.columns) == list(alone.quarantined.columns)
                and result.quarantined.empty
            )
    assert {rule for result in together for rule in result.quarantined["rule"]} >= {
        "malformed_row",
        "duplicate_line",
        "ordered_at_not_on_business_date",
    }


def test_whitespace_is_what_python_strips():
    assert set(WHITESPACE) == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}


def test_text_trimmed_in_arrow_maps_like_python_strip(tmp_path):
    """A file read by Arrow is trimmed in Arrow (its table kept); the lines must be those of Python's strip."""
    synthetic = load_dataset_config("synthetic")
    header, *rows = csv.reader(io.StringIO((BAD_EXPORTS / "good.csv").read_text(encoding="utf-8")))
    path = tmp_path / "padded.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow([f"\u3000{v}\x85" if i % 2 else f" {v}\t" for v in row])
    for name in (path, BAD_EXPORTS / "good.csv"):  # with and without whitespace to strip
        export = read_export(str(name), "csv")
        assert export.table is not None
        fast = RawFile(export.rows, "f.csv", DAY, export.rows.index, export.malformed, export.table)
        slow = dataclasses.replace(fast, table=None)
        (arrow,), (python,) = to_canonical_many([fast], synthetic), to_canonical_many([slow], synthetic)
        assert len(arrow.loaded) == len(rows)
        pd.testing.assert_frame_equal(arrow.loaded, python.loaded)


def test_numbers_and_patterns_checked_once_per_distinct_value_are_the_same():
    """The checks run once per distinct text when values repeat; the outcome must be the per-value one."""
    texts = [
        "2",
        "2",
        "-1.5",
        "nan",
        "inf",
        "1e400",
        "two",
        "",
        " 3",
        "2",
        "two",
        "-1.5",
        "Infinity",
        "2",
    ] * 3
    text = pd.Series(texts, index=range(10, 10 + len(texts)), dtype=object)
    values, is_number = parse_numbers(text)
    each = [parse_numbers(pd.Series([t], dtype=object)) for t in texts]
    assert is_number.tolist() == [bool(n.iloc[0]) for _, n in each]
    pd.testing.assert_series_equal(
        values, pd.concat([v for v, _ in each]).set_axis(text.index), check_names=False
    )
    assert list(is_number.index) == list(text.index)
    ids = pd.Series(["17850.0", "C1", "17850.0", "x.00", "C1", "C1"], dtype=object)
    assert per_distinct(ids, lambda t: t.str.replace(FLOAT_SUFFIX, "", regex=True)).tolist() == [
        "17850",
        "C1",
        "17850",
        "x",
        "C1",
        "C1",
    ]
    with_missing = pd.Series(["1", None, "1", float("nan"), "1"], dtype=object)
    pd.testing.assert_series_equal(
        per_distinct(with_missing, lambda t: t.str.replace("1", "one")), with_missing.str.replace("1", "one")
    )
