"""Already-aggregated exports (`grain: aggregated`), the series every dataset has, and the `currency` key: the
dataset config's checks and the mapping of aggregated rows, with every row loaded or quarantined."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import PROJECT_ROOT
from daybreak.datasets import DatasetConfigError, load_dataset_config, parse_dataset_config
from daybreak.ingest.canonical import row_revenue, to_canonical
from daybreak.ingest.quarantine_rules import QUARANTINE_RULES, rules_for
from daybreak.nights import drift
from daybreak.nights.monitoring import findings, quality

EXAMPLES = PROJECT_ROOT / "tests" / "data" / "aggregated"
FRIDAY = dt.date(2024, 1, 5)
WEEKLY = {
    "name": "weekly",
    "grain": "aggregated",
    "columns": {"ordered_at": "Date", "location": "Store", "product_id": "Dept", "revenue": "Weekly_Sales"},
    "series": {"keys": ["location"], "frequency": "weekly", "week_ends_on": 4},
}


def weekly_rows(*sales: str) -> pd.DataFrame:
    """Walmart's weekly store-department shape, one row per sales figure, all dated FRIDAY."""
    return pd.DataFrame(
        {
            "Store": ["1"] * len(sales),
            "Dept": [str(d) for d in range(1, len(sales) + 1)],
            "Date": [FRIDAY.isoformat()] * len(sales),
            "Weekly_Sales": list(sales),
            "IsHoliday": ["FALSE"] * len(sales),
        }
    )


def test_the_example_configs_are_aggregated_with_and_without_units():
    weekly = load_dataset_config(EXAMPLES / "weekly_sales.yml")
    daily = load_dataset_config(EXAMPLES / "daily_revenue.yml")
    assert (weekly.aggregated, weekly.measures, weekly.currency) == (True, ("revenue",), "USD")
    assert (daily.measures, daily.validation.negative_totals, daily.currency) == (
        ("quantity", "revenue"),
        "quarantine",
        "EUR",
    )
    synthetic = load_dataset_config("synthetic")
    assert (synthetic.grain, synthetic.measures, synthetic.currency) == (
        "lines",
        ("quantity", "unit_price"),
        None,
    )


def test_aggregated_rows_load_their_revenue_without_units_or_price_and_negative_weeks_as_refunds():
    config = parse_dataset_config(WEEKLY)
    result = to_canonical(
        weekly_rows("1250.50", "-125.50", "0"), config, source_file="w.csv", business_date=FRIDAY
    )
    assert result.rows_in == len(result.loaded) + len(result.quarantined) == 3
    assert result.loaded["revenue"].tolist() == [1250.5, -125.5, 0.0]
    assert result.loaded[["quantity", "unit_price"]].isna().all().all()
    assert row_revenue(result.loaded).tolist() == [1250.5, -125.5, 0.0]
    assert result.revenue_in == pytest.approx(1125.0)
    assert result.unexpected_columns == ("IsHoliday",)


def test_negative_totals_quarantined_when_the_config_says_so_with_the_value_in_the_detail():
    config = parse_dataset_config({**WEEKLY, "validation": {"negative_totals": "quarantine"}})
    result = to_canonical(
        weekly_rows("1250.50", "-125.50", "n/a", "inf"), config, source_file="w.csv", business_date=FRIDAY
    )
    assert result.rows_in == len(result.loaded) + len(result.quarantined) == 4
    assert result.loaded["revenue"].tolist() == [1250.5]
    assert result.quarantined[["source_row", "rule", "detail"]].values.tolist() == [
        [2, "negative_total", "revenue '-125.50' is negative (validation.negative_totals: quarantine)"],
        [3, "revenue_not_numeric", "revenue 'n/a' is no number"],
        [4, "revenue_not_finite", "revenue 'inf' is not finite"],
    ]
    assert result.quarantined["revenue"].tolist()[0] == -125.5
    assert result.revenue_in == pytest.approx(1125.0)


def test_units_are_optional_and_checked_like_a_lines_when_mapped():
    with_units = {**WEEKLY, "columns": {**WEEKLY["columns"], "quantity": "Units"}}
    rows = weekly_rows("100", "50", "80").assign(Units=["10", "x", "-2"])
    refunds = to_canonical(rows, parse_dataset_config(with_units), source_file="w.csv", business_date=FRIDAY)
    assert refunds.loaded[["quantity", "revenue"]].values.tolist() == [[10.0, 100.0], [-2.0, 80.0]]
    assert refunds.quarantined[["rule", "detail"]].values.tolist() == [
        ["quantity_not_numeric", "quantity 'x' is no number"]
    ]
    strict = parse_dataset_config({**with_units, "validation": {"negative_totals": "quarantine"}})
    quarantined = to_canonical(rows, strict, source_file="w.csv", business_date=FRIDAY)
    assert quarantined.quarantined["detail"].tolist()[-1] == (
        "quantity '-2' is negative (validation.negative_totals: quarantine)"
    )


def test_the_rules_follow_the_grain():
    lines = load_dataset_config("synthetic")
    assert [r.name for r in rules_for(lines)][: len(QUARANTINE_RULES)] == [r.name for r in QUARANTINE_RULES]
    names = [
        rule.name
        for rule in rules_for(
            parse_dataset_config({**WEEKLY, "validation": {"negative_totals": "quarantine"}})
        )
    ]
    assert names == [
        "ordered_at_unparseable",
        "ordered_at_not_on_business_date",
        "revenue_not_numeric",
        "revenue_not_finite",
        "product_id_missing",
        "location_missing",
        "order_id_control_character",
        "customer_id_control_character",
        "product_id_control_character",
        "location_control_character",
        "negative_total",
    ]
    ranged = parse_dataset_config({**WEEKLY, "validation": {"ranges": {"revenue": {"max": 1000}}}})
    result = to_canonical(weekly_rows("1250.50", "10"), ranged, source_file="w.csv", business_date=FRIDAY)
    assert result.quarantined["rule"].tolist() == ["revenue_above_max"]


def test_a_sales_lines_revenue_is_still_quantity_times_price():
    config = load_dataset_config("synthetic")
    assert "revenue" not in config.measures
    lines = pd.DataFrame({"quantity": [2.0, -1.0], "unit_price": [3.5, 4.0], "revenue": [float("nan")] * 2})
    assert row_revenue(lines).tolist() == [7.0, -4.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"columns": {**WEEKLY["columns"], "unit_price": "Price"}},
            "grain aggregated: a row is a total and has no unit_price",
        ),
        (
            {"columns": {"ordered_at": "Date", "location": "Store", "product_id": "Dept"}},
            r"not mapped.*'revenue'",
        ),
        ({"segmentation": {"enabled": True}}, "segmentation cannot apply"),
        ({"series": {"keys": ["location"], "frequency": "hourly"}}, "rows carry no time of day"),
        (
            {"series": {"keys": ["location"], "target": "units"}},
            "series.target units: this aggregated export has no",
        ),
        ({"grain": "weekly"}, "grain: Input should be 'lines' or 'aggregated'"),
        ({"validation": {"negative_totals": "drop"}}, "Input should be 'refund' or 'quarantine'"),
        ({"currency": "eur"}, "currency: String should match pattern"),
        ({"currency": "EURO"}, "currency: String should match pattern"),
    ],
)
def test_aggregated_configs_that_cannot_work_are_refused(change, message):
    with pytest.raises(DatasetConfigError, match=message):
        parse_dataset_config({**WEEKLY, **change})


def test_a_lines_config_refuses_a_revenue_column_and_the_negative_totals_rule():
    lines = {**WEEKLY, "grain": "lines", "columns": {**WEEKLY["columns"], "quantity": "q", "unit_price": "p"}}
    with pytest.raises(DatasetConfigError, match="a sales line's revenue is quantity \\* unit_price"):
        parse_dataset_config(lines)
    del lines["columns"]["revenue"]
    assert parse_dataset_config(lines).measures == ("quantity", "unit_price")
    with pytest.raises(DatasetConfigError, match="negative_totals applies to grain: aggregated only"):
        parse_dataset_config({**lines, "validation": {"negative_totals": "quarantine"}})


def test_series_keys_may_be_empty_the_total_is_every_datasets():
    config = parse_dataset_config({**WEEKLY, "series": {"keys": []}})
    assert config.series.keys == ()
    assert dataclasses.replace(config, currency="GBP").currency == "GBP"


def test_the_docs_recipe_shows_the_example_config_as_it_is():
    doc = (PROJECT_ROOT / "docs" / "bring-your-own-data.md").read_text(encoding="utf-8")
    recipe = doc[doc.index("## Already-aggregated exports") :]
    shown = recipe[
        recipe.index("```yaml\n") + len("```yaml\n") : recipe.index("```\n", recipe.index("```yaml\n") + 8)
    ]
    assert shown == (EXAMPLES / "weekly_sales.yml").read_text(encoding="utf-8")


@pytest.fixture
def aggregated_warehouse(tmp_path):
    """A warehouse whose fct_sales_lines are an aggregated export's: no unit price, no units, no customers."""
    warehouse = tmp_path / "warehouse.duckdb"
    days = pd.date_range("2024-01-01", "2024-02-04", freq="D")
    n = 2 * len(days)
    lines = pd.DataFrame(
        {
            "line_id": [f"l{i}" for i in range(n)],
            "business_date": list(days.date) * 2,
            "quantity": [None] * n,
            "unit_price": [None] * n,
            "revenue": [100.0 + i % 9 for i in range(n)],
            "location": ["1", "2"] * len(days),
            "product_id": ["all"] * n,
            "customer_id": [None] * n,
        }
    ).astype({"quantity": "float64", "unit_price": "float64", "customer_id": "object"})
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema marts")
        connection.register("lines", lines)
        connection.execute("create table marts.fct_sales_lines as select * from lines")
    return warehouse


def test_drift_compares_the_columns_an_aggregated_dataset_has(aggregated_warehouse):
    """Its lines have no unit price nor units: Evidently refuses an empty column, so drift leaves them out."""
    result, snapshot = drift.compare(
        aggregated_warehouse, dt.date(2024, 2, 4), reference_days=28, current_days=7
    )
    assert snapshot is not None and result["current_rows"] == 14


def test_data_quality_finds_nothing_missing_from_columns_the_dataset_never_has(aggregated_warehouse):
    night = findings.Night()
    with duckdb.connect(str(aggregated_warehouse), read_only=True) as connection:
        quality.day_quality(
            connection,
            load_dataset_config(EXAMPLES / "weekly_sales.yml"),
            dt.date(2024, 2, 4),
            dt.datetime(2024, 2, 5),
            night,
        )
    missing = night.quality[night.quality["check_name"] == "missing_share"]
    assert sorted(missing["column_name"]) == ["location", "product_id", "revenue"]
    assert night.quality["passed"].all()
