"""Already-aggregated exports (`grain: aggregated`), from the file to the marts: the example configs and files in
tests/data/aggregated/ (docs/bring-your-own-data.md, "Already-aggregated exports") replayed into daily exports,
ingested and built by dbt, with every row accounted for.

Given a weekly store-department file (Walmart's shape: Store, Dept, Date, Weekly_Sales, IsHoliday; one week's
total negative, loaded as a refund) and a daily revenue file with units (one day negative, quarantined by its
config; one revenue no number), when they are ingested and transformed, then the marts hold their revenue to the
cent, units only where the export has them, and a total series beside the keyed ones.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import PROJECT_ROOT, Settings
from daybreak.datasets import load_dataset_config
from daybreak.ingest.simulation.replay import replay_dataset
from jobs import ingest, transform
from jobs.pipeline import landed_days

pytestmark = pytest.mark.integration

DATA = PROJECT_ROOT / "tests" / "data" / "aggregated"


def load(tmp_path, name: str) -> Settings:
    """Replay the example file into daily exports, ingest every day, and full-refresh the marts."""
    settings = Settings(home=tmp_path, dataset=str(DATA / f"{name}.yml"))
    replay_dataset(load_dataset_config(settings.dataset), settings.landing_dir)
    days = landed_days(settings)
    ingest.run_days(days, "test", settings)
    transform.run(days[-1], "test", settings, full_refresh=True)  # dbt build: its data tests included
    return settings


def frame(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).df()


def test_weekly_store_department_sales_reach_the_marts_as_revenue_without_units(tmp_path):
    source = pd.read_csv(DATA / "weekly_sales.csv")
    settings = load(tmp_path, "weekly_sales")

    runs = frame(
        settings, "select sum(rows_in), sum(rows_loaded), sum(rows_quarantined) from monitoring.ingest_runs"
    )
    assert runs.iloc[0].tolist() == [len(source), len(source), 0]
    lines = frame(
        settings,
        "select location, product_id, business_date, quantity, unit_price, revenue, line_kind "
        "from marts.fct_sales_lines order by business_date, location, product_id",
    )
    assert lines["quantity"].isna().all() and lines["unit_price"].isna().all(), "no units, no price: null"
    assert lines["revenue"].round(2).tolist() == source["Weekly_Sales"].tolist()
    refund = lines[lines["revenue"] < 0]
    assert refund[["location", "product_id", "line_kind"]].values.tolist() == [["2", "2", "return"]]
    assert set(lines.loc[lines["revenue"] >= 0, "line_kind"]) == {"sale"}

    daily = frame(settings, "select series_id, sales_date, units, revenue from marts.fct_daily_sales")
    assert sorted(daily["series_id"].unique()) == ["location=1", "location=2", "total"]
    assert daily["units"].isna().all(), "units are null on every day, the closed days' zeros included"
    fridays = daily[pd.to_datetime(daily["sales_date"]).dt.dayofweek == 4]
    by_store = source.groupby(["Store", "Date"])["Weekly_Sales"].sum().round(2)
    keyed = fridays[fridays["series_id"] != "total"]
    assert {
        (int(series.removeprefix("location=")), str(day.date())): round(revenue, 2)
        for series, day, revenue in keyed[["series_id", "sales_date", "revenue"]].itertuples(index=False)
    } == by_store.to_dict()
    totals = fridays[fridays["series_id"] == "total"].set_index("sales_date")["revenue"].sort_index()
    assert totals.round(2).tolist() == source.groupby("Date")["Weekly_Sales"].sum().round(2).tolist()
    assert (daily.loc[pd.to_datetime(daily["sales_date"]).dt.dayofweek != 4, "revenue"] == 0).all()

    features = frame(
        settings, "select units, units_lag_7, units_mean_7, revenue_mean_7 from marts.features_series_daily"
    )
    assert features[["units", "units_lag_7", "units_mean_7"]].isna().all().all()
    assert features["revenue_mean_7"].notna().any()


def test_daily_revenue_with_units_quarantines_its_negative_day_and_accounts_for_every_row(tmp_path):
    source = pd.read_csv(DATA / "daily_revenue.csv", dtype=str, keep_default_na=False)
    settings = load(tmp_path, "daily_revenue")

    runs = frame(
        settings,
        "select sum(rows_in) as rows_in, sum(rows_loaded) as loaded, sum(rows_quarantined) as quarantined, "
        "sum(revenue_loaded) as revenue_loaded from monitoring.ingest_runs",
    ).iloc[0]
    assert (runs["rows_in"], runs["loaded"] + runs["quarantined"], runs["quarantined"]) == (
        len(source),
        56,
        2,
    )
    quarantine = frame(
        settings, "select business_date, rule, detail from monitoring.quarantine order by business_date"
    )
    assert quarantine.drop(columns="business_date").values.tolist() == [
        ["negative_total", "revenue '-40.00' is negative (validation.negative_totals: quarantine)"],
        ["revenue_not_numeric", "revenue 'n/a' is no number"],
    ]
    assert [str(day.date()) for day in quarantine["business_date"]] == ["2024-01-10", "2024-01-17"]

    good = source[~source["revenue"].isin(["-40.00", "n/a"])].astype({"revenue": float, "units": int})
    daily = frame(settings, "select series_id, sales_date, units, revenue from marts.fct_daily_sales")
    assert sorted(daily["series_id"].unique()) == ["location=shop", "location=web", "total"]
    assert (daily.groupby("series_id")["sales_date"].count() == 28).all()
    for series_id, rows in (("location=web", good[good["channel"] == "web"]), ("total", good)):
        series = daily[daily["series_id"] == series_id]
        assert round(series["revenue"].sum(), 2) == round(rows["revenue"].sum(), 2)
        assert series["units"].sum() == rows["units"].sum()
    web = daily[daily["series_id"] == "location=web"].set_index("sales_date")
    assert web.loc[pd.Timestamp("2024-01-10"), ["units", "revenue"]].tolist() == [0, 0], (
        "its only row quarantined"
    )
    assert round(daily.loc[daily["series_id"] == "total", "revenue"].sum(), 2) == round(
        runs["revenue_loaded"], 2
    )
    products = frame(settings, "select product_id, units from marts.dim_products")
    assert products.values.tolist() == [["all", good["units"].sum()]]
    assert frame(settings, "select max(sales_date) as d from marts.fct_daily_sales")["d"][
        0
    ].date() == dt.date(2024, 1, 28)
