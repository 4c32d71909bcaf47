"""The dbt project, run by real dbt on a tiny Parquet lake in a temporary DuckDB warehouse.

Given three business days of lines (03-02 a closed day without a partition; Spain and Germany selling only on
03-01, Italy first on 03-03), when dbt builds night by night, then every model and test passes; the incremental
facts, the dimensions and the series features equal a --full-refresh build of the last night; every series is
zero-filled from its first sale to the run date; the features of a day use only earlier days; rerunning a night
changes nothing; the series come from the vars and the calendar from its source; a run without run_date is refused;
and an hourly dataset gets an hourly features mart, the same night by night as a full refresh.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import PROJECT_ROOT, Settings, pseudonym_key
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.privacy.pseudonyms import pseudonym
from daybreak.warehouse.calendar_days import write_calendar_days
from jobs import ingest

pytestmark = pytest.mark.integration

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
NIGHTS = ["2024-03-01", "2024-03-02", "2024-03-03"]
LAST_NIGHT = NIGHTS[-1]
SERIES_VARS = {"series_keys": ["location"], "series_include": {}}
FACT_TABLES = ("marts.fct_sales_lines", "marts.fct_daily_sales")
DIMENSION_TABLES = ("marts.dim_customers", "marts.dim_products", "marts.dim_calendar")
SNAPSHOT_TABLES = ("marts.features_customer_asof", "marts.features_customer_value_asof")
MART_TABLES = (*FACT_TABLES, *DIMENSION_TABLES, *SNAPSHOT_TABLES, "marts.features_series_daily")
# docs/architecture.md, "dbt"
CONTRACT = {
    "marts.fct_sales_lines": [
        "line_id", "business_date", "order_id", "ordered_at", "customer_id", "product_id", "product_name",
        "location", "quantity", "unit_price", "revenue", "line_kind", "line_kind_rule", "non_product_category",
        "is_return", "is_product_sale", "returned_order_id", "returned_line_id",
    ],
    "marts.fct_daily_sales": [
        "series_id", "location", "product_id", "sales_date", "units", "revenue", "lines", "orders",
    ],
    "marts.dim_customers": [
        "customer_id", "first_order_date", "last_order_date", "orders", "lines", "units", "revenue", "main_location",
    ],
    "marts.dim_products": ["product_id", "product_name", "first_sold_date", "last_sold_date", "units", "revenue"],
    "marts.features_customer_asof": [
        "as_of_date", "customer_id", "recency_days", "frequency", "monetary", "tenure_days", "avg_basket_value",
        "return_rate", "product_variety", "avg_days_between_orders",
    ],
    "marts.fct_customer_purchase_days": ["customer_id", "purchase_date", "revenue"],
    "marts.features_customer_value_asof": [
        "as_of_date", "customer_id", "frequency", "recency", "T", "monetary_value",
    ],
    "marts.dim_calendar": [
        "date_day", "year", "quarter", "month", "day_of_month", "day_of_week", "is_weekend", "iso_week",
        "is_holiday", "holiday_name", "is_non_holiday_weekday", "is_closed",
    ],
    "marts.features_series_daily": [
        "series_id", "sales_date", "units", "revenue",
        "units_lag_1", "units_lag_7", "units_lag_14", "units_lag_28",
        "revenue_lag_1", "revenue_lag_7", "revenue_lag_14", "revenue_lag_28",
        "units_mean_7", "units_mean_28", "revenue_mean_7", "revenue_mean_28",
        "day_of_week", "is_weekend", "is_holiday",
    ],
    "marts.fct_forecast_health": [
        "as_of_date", "series_id", "scored", "model_versions", "rolling_smape", "naive_rolling_smape",
        "backtest_smape", "naive_backtest_smape", "error_ratio", "naive_ratio",
    ],
}  # fmt: skip

LINE_COLUMNS = ["order_id", "customer_id", "product_id", "product_name", "location", "quantity", "unit_price"]
# 03-02 is a closed day: no export, no lake partition
LINES = {
    "2024-03-01": [
        ("1001", "c1", "p1", "Widget", "Germany", 2, 10.0),
        ("1001", "c1", "p2", "Gadget", "Germany", 1, 5.0),
        ("1002", "c2", "p1", "Widget", "France", 3, 10.0),
        ("1003", None, "p3", None, "Spain", 4, 1.25),
        ("1004", "c1", "p2", "Gadget v2", "Germany", 1, 5.5),
        ("C1005", "c2", "p1", "Widget", "France", -1, 10.0),
    ],
    "2024-03-03": [
        ("1006", "c3", "p1", "Widget", "France", 1, 10.0),
        ("1007", "c3", "p4", "Doohickey", "Italy", 2, 2.5),
    ],
}


def lake_settings(lake: Path) -> Settings:
    """Settings whose lake is `lake` (`<home>/lake/synthetic`), so the ingest job's own writers can be used."""
    settings = Settings(home=lake.parents[1], dataset="synthetic")
    assert settings.lake_dir == lake
    return settings


def land_and_ingest(lake: Path) -> None:
    """Land LINES as synthetic exports and ingest them with the ingest job: the lake, the raw view and the
    accounting tables are exactly what a night leaves (03-02 is never ingested: no export)."""
    settings = lake_settings(lake)
    for day, lines in LINES.items():
        frame = pd.DataFrame(lines, columns=LINE_COLUMNS)
        frame.insert(1, "ordered_at", pd.Timestamp(day) + pd.to_timedelta(range(len(frame)), unit="h"))
        export = frame.rename(
            columns={
                "order_id": "invoice_no",
                "ordered_at": "invoice_ts",
                "customer_id": "customer_ref",
                "product_id": "sku",
                "product_name": "description",
                "location": "country",
                "quantity": "qty",
            }
        )
        folder = settings.landing_dir / day
        folder.mkdir(parents=True, exist_ok=True)
        export.to_csv(folder / f"sales_{day}.csv", index=False)
        summary = ingest.run(dt.date.fromisoformat(day), "test", settings)
        assert summary["rows_loaded"] == len(lines)


def new_warehouse(path: Path, lake: Path, calendar: BusinessCalendar | None = None) -> Path:
    """A fresh copy of the warehouse the ingest nights left (the raw view over the lake, the accounting and every
    declared table), with the calendar the transform step writes before dbt (no closures or holidays unless
    given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(lake_settings(lake).warehouse_path, path)
    # its folder is its data home (here and in `dbt`), where its raw view reads the lake
    (path.parent / "lake").symlink_to(lake.parent)
    with duckdb.connect(str(path), config={"file_search_path": str(path.parent)}) as connection:
        write_calendar_days(
            connection, calendar or BusinessCalendar(), dt.date.fromisoformat(LAST_NIGHT), "test"
        )
    return path


def copy_warehouse(source: Path, path: Path) -> Path:
    """A copy of a warehouse `new_warehouse` made, reading the same lake from its own folder."""
    shutil.copy(source, path)
    (path.parent / "lake").symlink_to((source.parent / "lake").resolve())
    return path


@dataclass(frozen=True)
class DbtRun:
    """One dbt invocation: whether it succeeded, its console output and each node's status from run_results.json."""

    success: bool
    output: str
    statuses: dict[str, str]
    log: str  # this invocation's part of dbt.log (debug level)


def dbt(
    warehouse: Path,
    *args: str,
    run_date: str | None,
    series: dict | None = None,
    rebuild_from: str | None = None,
) -> DbtRun:
    """Run real dbt against `warehouse` the way the transform job does, in its own process: for the night of
    `run_date`, rebuilding from `rebuild_from` (None: the run date only).

    A subprocess, not dbtRunner: dbt-duckdb keeps the last database open in the calling process, and this test
    opens the warehouse between dbt runs.
    """
    dbt_vars = dict(series or SERIES_VARS)
    work = warehouse.parent / "dbt"
    run_results = work / "target" / "run_results.json"
    run_results.unlink(missing_ok=True)
    log_file = work / "logs" / "dbt.log"
    log_start = log_file.stat().st_size if log_file.exists() else 0
    command = [
        str(DBT), *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--vars", json.dumps(dbt_vars),
    ]  # fmt: skip
    # the warehouse's folder is its data home, where the raw view finds the lake (`new_warehouse`)
    env = {
        **os.environ,
        "DAYBREAK_WAREHOUSE_PATH": str(warehouse),
        "DAYBREAK_HOME": str(warehouse.parent),
        "DBT_USE_COLORS": "false",
        "DAYBREAK_RUN_DATE": run_date or "",
        "DAYBREAK_REBUILD_FROM": rebuild_from or "",
    }
    process = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    results = json.loads(run_results.read_text())["results"] if run_results.exists() else []
    return DbtRun(
        success=process.returncode == 0,
        output=process.stdout + process.stderr,
        log=log_file.read_bytes()[log_start:].decode(errors="replace") if log_file.exists() else "",
        # the project's on-run-start hook (Spark's source views; nothing on DuckDB) is no node of the project
        statuses={
            r["unique_id"]: r["status"] for r in results if not r["unique_id"].startswith("operation.")
        },
    )


def build(warehouse: Path, run_date: str, *extra: str, series: dict | None = None) -> DbtRun:
    run = dbt(warehouse, "build", *extra, run_date=run_date, series=series)
    assert run.success, f"dbt build for {run_date} failed:\n{run.output[-5000:]}"
    return run


def source_id(customer: str | None) -> str | None:
    """The source id behind a pseudonym of LINES' customers (ingest stores only pseudonyms)."""
    sources = {pseudonym(c, pseudonym_key()): c for c in ("c1", "c2", "c3")}
    return sources.get(customer, customer)


def rows(warehouse: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(f"select * from {table} order by all").fetchall()


def daily_sales(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("select * from marts.fct_daily_sales order by series_id, sales_date").df()


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    lake = tmp_path_factory.mktemp("home") / "lake" / "synthetic"
    land_and_ingest(lake)
    return lake


@pytest.fixture(scope="module")
def nightly(lake, tmp_path_factory):
    """A warehouse built the way the DAG builds it: one `dbt build` per night, each incremental on its night."""
    warehouse = new_warehouse(tmp_path_factory.mktemp("nightly") / "warehouse.duckdb", lake)
    results = {night: build(warehouse, night) for night in NIGHTS}
    return warehouse, results


@pytest.fixture(scope="module")
def full_refresh(lake, tmp_path_factory) -> Path:
    warehouse = new_warehouse(tmp_path_factory.mktemp("full_refresh") / "warehouse.duckdb", lake)
    build(warehouse, LAST_NIGHT, "--full-refresh")
    return warehouse


def test_every_night_builds_every_model_and_passes_every_test(nightly):
    _, results = nightly
    for night, run in results.items():
        statuses = run.statuses
        # an exposure (the forecast job reading the marts) is documentation: dbt reports it as a no-op
        assert statuses.pop("exposure.daybreak.nightly_forecast") == "no-op"
        assert set(statuses.values()) <= {"success", "pass"}, (night, statuses)
        assert {node.split(".")[-1] for node in statuses if node.startswith("model.")} == {
            "stg_raw__sales_lines",
            "stg_reference__calendar_days",
            "stg_predictions__forecasts",
            "stg_planning__overrides",
            "stg_predictions__backtest_metrics",
            "forecasts_latest",
            "forecast_versions",
            "forecast_accuracy",
            "forecast_value_added",
            "stg_predictions__customer_value",
            "stg_predictions__customer_segments",
            "customer_value_accuracy",
            *(table.split(".")[1] for table in CONTRACT),
        }
        assert "test.daybreak.assert_daily_sales_revenue_matches_sales_lines" in statuses
        assert "test.daybreak.assert_daily_sales_series_have_no_gaps" in statuses
        assert "test.daybreak.assert_sales_lines_revenue_reconciles_with_ingest" in statuses
        assert sum(node.startswith("unit_test.") for node in statuses) == 10
        assert sum(node.startswith("test.") for node in statuses) > 30


def test_marts_have_the_columns_of_the_contract(nightly):
    warehouse, _ = nightly
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for table, expected in CONTRACT.items():
            schema, name = table.split(".")
            columns = connection.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
            assert [column for column, _ in columns] == expected, table
            assert all(kind == "DATE" for column, kind in columns if column.endswith("date")), table


def test_nightly_increments_equal_a_full_refresh(nightly, full_refresh):
    warehouse, _ = nightly
    for table in (
        *FACT_TABLES,
        *DIMENSION_TABLES,
        "marts.features_series_daily",
        "marts.fct_customer_purchase_days",
    ):
        assert rows(warehouse, table) == rows(full_refresh, table), table
    for table in SNAPSHOT_TABLES:
        last_snapshot = f"{table} where as_of_date = date '{LAST_NIGHT}'"
        assert rows(warehouse, last_snapshot) == rows(full_refresh, table), table


def test_every_series_is_zero_filled_from_its_first_sale_to_the_run_date(nightly):
    warehouse, _ = nightly
    sales = daily_sales(warehouse)
    measures = ["units", "revenue", "lines", "orders"]
    days = {
        series: [d.isoformat() for d in group["sales_date"].dt.date]
        for series, group in sales.groupby("series_id")
    }
    assert days == {
        "total": NIGHTS,
        "location=France": NIGHTS,
        "location=Germany": NIGHTS,
        "location=Spain": NIGHTS,
        "location=Italy": ["2024-03-03"],
    }
    by_day = sales.assign(day=sales["sales_date"].dt.date.astype(str)).set_index("day")
    total = by_day.loc[by_day["series_id"] == "total", measures]
    assert total.loc["2024-03-01"].tolist() == [10, 55.5, 6, 5]  # the return nets out of units and revenue
    assert total.loc["2024-03-02"].tolist() == [0, 0, 0, 0]  # closed: no partition, still a row
    assert total.loc["2024-03-03"].tolist() == [3, 15.0, 2, 2]
    assert sales.loc[sales["series_id"] == "location=Spain", "revenue"].tolist() == [5.0, 0.0, 0.0]
    # Germany sold nothing on the last night: that night's incremental run still wrote its zero row
    germany = by_day.loc[by_day["series_id"] == "location=Germany", measures]
    assert germany.loc[LAST_NIGHT].tolist() == [0, 0, 0, 0]
    assert sales["location"].isna().tolist() == (sales["series_id"] == "total").tolist()
    assert sales["product_id"].isna().all()


def test_features_keep_one_snapshot_per_night_from_lines_up_to_it(nightly):
    warehouse, _ = nightly
    features = {
        (as_of.isoformat(), source_id(customer)): rest
        for as_of, customer, *rest in rows(warehouse, "marts.features_customer_asof")
    }
    assert sorted({as_of for as_of, _ in features}) == NIGHTS
    # recency_days, frequency, monetary, tenure_days, avg_basket_value, return_rate, product_variety,
    # avg_days_between_orders
    assert features[("2024-03-01", "c1")] == [0, 2, 30.5, 0, 15.25, 0.0, 2, None]
    assert features[("2024-03-03", "c1")] == [2, 2, 30.5, 2, 15.25, 0.0, 2, None]
    # the return counts in monetary and the return rate only
    assert features[("2024-03-03", "c2")] == [2, 1, 20.0, 2, 30.0, pytest.approx(1 / 3), 1, None]
    assert features[("2024-03-03", "c3")] == [0, 2, 15.0, 0, 7.5, 0.0, 2, None]
    assert ("2024-03-02", "c3") not in features


def test_a_return_is_linked_to_the_sale_it_cancels(nightly):
    warehouse, _ = nightly
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        lines = connection.execute(
            "select order_id, line_kind, returned_order_id from marts.fct_sales_lines order by order_id"
        ).fetchall()
    assert ("C1005", "return", "1002") in lines
    assert {kind for _, kind, _ in lines} == {"sale", "return"}
    assert all(returned is None for order, _, returned in lines if order != "C1005")


def test_dimensions_describe_customers_and_products_up_to_the_run_date(nightly):
    warehouse, _ = nightly
    # customer_id, first_order_date, last_order_date, orders, lines, units, revenue, main_location
    customers = {source_id(customer): rest[2:] for customer, *rest in rows(warehouse, "marts.dim_customers")}
    assert customers == {
        "c1": [2, 3, 4.0, 30.5, "Germany"],
        "c2": [2, 2, 2.0, 20.0, "France"],
        "c3": [2, 2, 3.0, 15.0, "France"],
    }
    # product_id, product_name, first_sold_date, last_sold_date, units, revenue
    products = {
        product: (name, units, revenue)
        for product, name, _, _, units, revenue in rows(warehouse, "marts.dim_products")
    }
    assert products == {
        "p1": ("Widget", 5.0, 50.0),
        "p2": ("Gadget v2", 2.0, 10.5),
        "p3": (None, 4.0, 5.0),
        "p4": ("Doohickey", 2.0, 5.0),
    }


def test_series_features_of_a_day_come_from_the_days_before_it(nightly):
    warehouse, _ = nightly
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        features = connection.execute(
            "select series_id, strftime(sales_date, '%Y-%m-%d'), units, units_lag_1, units_lag_7, units_mean_7,"
            " revenue, revenue_lag_1, revenue_mean_28, day_of_week, is_weekend, is_holiday"
            " from marts.features_series_daily where series_id in ('total', 'location=Italy') order by all"
        ).fetchall()
    assert features == [
        ("location=Italy", "2024-03-03", 2.0, None, None, None, 5.0, None, None, 7, True, False),
        ("total", "2024-03-01", 10.0, None, None, None, 55.5, None, None, 5, False, False),
        ("total", "2024-03-02", 0.0, 10.0, None, 10.0, 0.0, 55.5, 55.5, 6, True, False),
        # the means average the two earlier days the series has, not the day itself
        ("total", "2024-03-03", 3.0, 0.0, None, 5.0, 15.0, 0.0, 27.75, 7, True, False),
    ]


def test_calendar_runs_90_days_past_the_run_date_without_holidays_by_default(nightly):
    warehouse, _ = nightly
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        first, last, days, holidays, business_days = connection.execute(
            "select strftime(min(date_day), '%Y-%m-%d'), strftime(max(date_day), '%Y-%m-%d'), count(*),"
            " count(*) filter (where is_holiday), count(*) filter (where is_non_holiday_weekday)"
            " from marts.dim_calendar"
        ).fetchone()
    assert (first, last, days) == ("2024-03-01", "2024-06-01", 93)
    assert holidays == 0
    assert business_days == 66  # the weekdays


def test_holidays_and_closed_days_come_from_the_calendar_source(lake, tmp_path):
    calendar = BusinessCalendar(closed_weekdays=(6,), holidays_country="GB")
    warehouse = new_warehouse(tmp_path / "warehouse.duckdb", lake, calendar)
    # the calendar and what it is built from; "cautious" leaves out tests that also read models not built here
    build(
        warehouse,
        LAST_NIGHT,
        "--select",
        "+dim_calendar",
        "--indirect-selection",
        "cautious",
    )
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        holidays = connection.execute(
            "select strftime(date_day, '%Y-%m-%d'), holiday_name, day_of_week, is_non_holiday_weekday"
            " from marts.dim_calendar where is_holiday order by date_day"
        ).fetchall()
        business_days, closed = connection.execute(
            "select count(*) filter (where is_non_holiday_weekday), count(*) filter (where is_closed) from marts.dim_calendar"
        ).fetchone()
    assert holidays == [
        ("2024-03-29", "Good Friday", 5, False),
        ("2024-05-06", "May Day", 1, False),
        ("2024-05-27", "Spring Bank Holiday", 1, False),
    ]
    assert business_days == 66 - 3
    assert closed == 13  # the Sundays from 03-03 to 06-01


def test_a_forecast_past_a_quarter_finds_its_closed_days_and_holidays_in_dim_calendar(lake, tmp_path):
    """A daily horizon of 300 days: dim_calendar covers every forecast date the calendar source holds, so the
    forecast reads the closed Sundays and the holidays past the quarter as such, not as ordinary days."""
    calendar = BusinessCalendar(closed_weekdays=(6,), holidays_country="GB", days_ahead=300)
    warehouse = new_warehouse(tmp_path / "warehouse.duckdb", lake, calendar)
    build(warehouse, LAST_NIGHT, "--select", "+dim_calendar", "--indirect-selection", "cautious")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        days = {
            day: (closed, holiday)
            for day, closed, holiday in connection.execute(
                "select date_day, is_closed, holiday_name from marts.dim_calendar where date_day > ?",
                [LAST_NIGHT],
            ).fetchall()
        }
    night = dt.date.fromisoformat(LAST_NIGHT)
    forecast_dates = [night + dt.timedelta(days=step) for step in range(1, 301)]
    assert sorted(days) == forecast_dates
    closed = [day for day in forecast_dates if days[day][0]]
    assert closed == [day for day in forecast_dates if day.weekday() == 6]
    assert closed[-1] - night > dt.timedelta(days=90), "closed days past where the mart used to stop"
    assert days[dt.date(2024, 12, 25)] == (False, "Christmas Day")  # 297 days ahead


def test_rerunning_a_night_changes_nothing(nightly, tmp_path):
    warehouse = copy_warehouse(nightly[0], tmp_path / "warehouse.duckdb")
    before = {table: rows(warehouse, table) for table in MART_TABLES}
    build(warehouse, LAST_NIGHT)
    assert {table: rows(warehouse, table) for table in MART_TABLES} == before


def test_a_lost_cent_fails_the_revenue_reconciliation(nightly, tmp_path):
    warehouse = copy_warehouse(nightly[0], tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "update marts.fct_sales_lines set revenue = revenue - 0.01 "
            "where line_id = (select min(line_id) from marts.fct_sales_lines where business_date = ?)",
            [LAST_NIGHT],
        )
    run = dbt(
        warehouse,
        "test",
        "--select",
        "assert_sales_lines_revenue_reconciles_with_ingest",
        run_date=LAST_NIGHT,
    )
    assert not run.success
    assert run.statuses == {"test.daybreak.assert_sales_lines_revenue_reconciles_with_ingest": "fail"}, (
        run.output
    )


def test_series_come_from_the_vars(lake, tmp_path):
    warehouse = new_warehouse(tmp_path / "warehouse.duckdb", lake)
    series = {
        "series_keys": ["location", "product_id"],
        "series_include": {"location": ["Germany", "France", "Cote d'Ivoire"]},
    }
    build(warehouse, LAST_NIGHT, series=series)  # includes the revenue reconciliation over the total
    sales = daily_sales(warehouse)
    assert sorted(sales["series_id"].unique()) == [
        "location=France|product_id=p1",
        "location=Germany|product_id=p1",
        "location=Germany|product_id=p2",
        "total",  # every dataset has one, over every line, whatever the keyed series include
    ]
    assert (sales.groupby("series_id")["sales_date"].count() == len(NIGHTS)).all()
    keyed = sales[sales["series_id"] != "total"]
    assert keyed[["location", "product_id"]].notna().all().all()


def test_later_nights_reuse_the_first_nights_parse(nightly):
    """The night's date reaches dbt in the environment, not as a var, so a new date keeps dbt's partial parsing."""
    _, results = nightly
    for night in NIGHTS[1:]:
        assert "Unable to do partial parsing" not in results[night].output, night
        assert "Partial parsing enabled" in results[night].log, night


def test_a_nights_data_tests_check_its_partitions_and_a_full_refresh_the_whole_table(nightly, tmp_path):
    # given: a snapshot of an earlier night spoiled (features_customer_asof keeps its snapshots on a full refresh)
    warehouse = copy_warehouse(nightly[0], tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as connection:
        (spoiled,) = connection.execute(
            "update marts.features_customer_asof set recency_days = null where as_of_date = ?", [NIGHTS[0]]
        ).fetchone()
    select = ["--select", "features_customer_asof"]
    # when the last night runs again, its tests check the night's snapshot only
    night = dbt(warehouse, "build", *select, run_date=LAST_NIGHT)
    assert night.success, night.output[-5000:]
    # when a full refresh runs, they check the whole table and find the spoiled snapshot
    rebuild = dbt(warehouse, "build", "--full-refresh", *select, run_date=LAST_NIGHT)
    assert not rebuild.success
    failed = [node for node, status in rebuild.statuses.items() if status == "fail"]
    assert len(failed) == 1 and failed[0].split(".")[2].startswith("columns_not_null_features_customer_asof")
    # and its failing row names the column: the test's compiled query, run on the spoiled warehouse
    results = json.loads((warehouse.parent / "dbt" / "target" / "run_results.json").read_text())["results"]
    (compiled,) = [result["compiled_code"] for result in results if result["unique_id"] == failed[0]]
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        nulls = connection.execute(compiled).fetchall()
    assert nulls == [("recency_days", spoiled)]


def test_a_run_without_run_date_is_refused(lake, tmp_path):
    warehouse = new_warehouse(tmp_path / "warehouse.duckdb", lake)
    run = dbt(warehouse, "run", "--select", "stg_raw__sales_lines", run_date=None)
    assert not run.success
    assert "run_date must be a date 'YYYY-MM-DD'" in run.output


@pytest.mark.parametrize(
    ("name", "variable"), [("run_date", "DAYBREAK_RUN_DATE"), ("rebuild_from", "DAYBREAK_REBUILD_FROM")]
)
def test_a_date_passed_as_the_var_it_once_was_is_refused(lake, tmp_path, name, variable):
    """A caller passing `--vars {"rebuild_from": ...}` would otherwise build the run date alone, silently (as the
    Spark parity test's DuckDB side once did)."""
    warehouse = new_warehouse(tmp_path / "warehouse.duckdb", lake)
    series = {**SERIES_VARS, name: "2024-03-02"}
    run = dbt(warehouse, "run", "--select", "stg_raw__sales_lines", run_date=LAST_NIGHT, series=series)
    assert not run.success
    assert f"the var {name} is no longer read: set the environment variable {variable} instead" in run.output


def test_an_hourly_dataset_gets_an_hourly_features_mart_built_night_by_night(lake, tmp_path):
    series = {**SERIES_VARS, "series_frequency": "hourly"}
    nightly = new_warehouse(tmp_path / "nightly" / "warehouse.duckdb", lake)
    select = ["--select", "+features_series_hourly", "+forecast_accuracy", "--indirect-selection", "cautious"]
    for night in NIGHTS:  # the hourly mart and the accuracy view over it; the last night with their tests
        run = dbt(nightly, "build" if night == LAST_NIGHT else "run", *select, run_date=night, series=series)
        assert run.success, run.output[-5000:]
    assert "test.daybreak.unique_combination_features_series_hourly_series_id__sales_hour" in {
        node.rsplit(".", 1)[0] for node in run.statuses
    }
    refreshed = new_warehouse(tmp_path / "full" / "warehouse.duckdb", lake)
    full = dbt(
        refreshed,
        "run",
        "--full-refresh",
        "--select",
        "+features_series_hourly",
        run_date=LAST_NIGHT,
        series=series,
    )
    assert full.success, full.output[-5000:]

    assert rows(nightly, "marts.features_series_hourly") == rows(refreshed, "marts.features_series_hourly")
    with duckdb.connect(str(nightly), read_only=True) as connection:
        hours = connection.execute(
            "select * from marts.features_series_hourly order by series_id, sales_hour"
        ).df()
    counts = hours.groupby("series_id")["sales_hour"].count().to_dict()
    assert counts == {
        "total": 72,
        "location=France": 72,
        "location=Germany": 72,
        "location=Spain": 72,
        "location=Italy": 24,  # from its first sale's day
    }
    total = hours[hours["series_id"] == "total"].set_index("sales_hour")
    # the lines of 03-01 were ordered one an hour from midnight; the return (C1005) nets out of its hour
    assert total.loc["2024-03-01 00:00":"2024-03-01 06:00", "units"].tolist() == [2, 1, 3, 4, 1, -1, 0]
    assert total.loc["2024-03-01 00:00":"2024-03-02 23:00", "units"].sum() == 10
    assert total.loc["2024-03-02 00:00", "units_lag_24"] == 2 and pd.isna(total.iloc[0]["units_lag_24"])
    assert (
        (total["sales_hour"].dt.date == total["sales_date"].dt.date).all() if "sales_hour" in total else True
    )
    assert (hours["sales_hour"].dt.normalize() == pd.to_datetime(hours["sales_date"])).all()
