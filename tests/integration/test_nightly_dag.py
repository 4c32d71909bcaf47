"""The nightly DAG, run by real Airflow (`dag.test`) on a tiny synthetic shop, end to end.

Given a history loaded up to 2024-03-28, when the DAG runs the nights of 03-29, 03-30 and 03-31, then every output
table holds those nights; rerunning a night leaves every table identical; and a night without an export fails at
ingest without writing anything downstream.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.integration.conftest import END, NIGHTS, checksums, run_night

pytestmark = pytest.mark.integration


def test_three_nights_succeed_through_airflow(nightly):
    _, results = nightly
    for day, (dag_run, states) in results.items():
        assert dag_run.state == "success", (day, states)
        # `retrain` runs only when monitoring's policy retrains for drift or degradation, else shows skipped
        assert states.pop("retrain") in ("skipped", "success"), (day, states)
        assert set(states.values()) == {"success"}, (day, states)
        assert dag_run.data_interval_start.date() == day


def test_every_output_table_holds_each_night(nightly):
    settings, _ = nightly
    with duckdb.connect(str(settings.serving_path), read_only=True) as connection:

        def dates(sql: str) -> set[dt.date]:
            return {row[0] for row in connection.execute(sql).fetchall()}

        assert set(NIGHTS) <= dates("select distinct business_date from raw.sales_lines")
        assert set(NIGHTS) <= dates("select distinct business_date from staging.stg_raw__sales_lines")
        assert set(NIGHTS) <= dates("select distinct business_date from marts.fct_sales_lines")
        assert set(NIGHTS) <= dates("select distinct sales_date from marts.fct_daily_sales")
        assert set(NIGHTS) <= dates("select distinct as_of_date from marts.features_customer_asof")
        assert set(NIGHTS) <= dates("select distinct as_of_date from predictions.forecasts")
        assert set(NIGHTS) <= dates("select distinct as_of_date from predictions.customer_segments")
        assert set(NIGHTS) <= dates("select distinct as_of_date from predictions.segment_profiles")
        assert set(NIGHTS) <= dates("select distinct as_of_date from predictions.segment_transitions")
        assert set(NIGHTS) <= dates("select distinct as_of_date from monitoring.drift_summary")
        for table in ("marts.dim_customers", "marts.dim_products"):
            assert connection.execute(f"select count(*) from {table}").fetchone()[0] > 0, table  # noqa: S608

        # each night's forecasts are their own version: 28 steps per series, starting the day after the night
        per_night = connection.execute(
            """select as_of_date, count(distinct series_id), min(target_date), max(horizon_step), count(*)
               from predictions.forecasts group by 1 order by 1"""
        ).fetchall()
        for as_of, series, first_target, steps, rows in per_night:
            assert first_target == as_of + dt.timedelta(days=1)
            assert steps == 28 and rows == series * 28
        # the series: three locations and the total, which every night publishes as their sum (reconciled)
        assert per_night[-1][1] == 4
        incoherent = connection.execute(
            """select count(*) from (
                   select as_of_date, target_date,
                          sum(case when series_id = 'total' then yhat else -yhat end) as gap
                   from predictions.forecasts group by all)
               where abs(gap) > 0.01"""
        ).fetchone()[0]
        assert incoherent == 0, (
            "the total's forecast is the sum of its locations' at every step of every night"
        )
        assert set(NIGHTS) <= dates(
            "select distinct as_of_date from predictions.forecast_reconciliation where chosen"
        )
        # a forecast never reads past its night: its first target is after every actual it was fitted on
        bounds = connection.execute(
            "select count(*) from predictions.forecasts where yhat_lower_95 > yhat_lower_80 "
            "or yhat_upper_95 < yhat_upper_80 or yhat < yhat_lower_80 or yhat > yhat_upper_80"
        ).fetchone()[0]
        assert bounds == 0, "intervals must nest: 95% outside 80% outside the point forecast"
        # ingest accounts for every row
        unbalanced = connection.execute(
            "select count(*) from monitoring.ingest_runs where rows_in <> rows_loaded + rows_quarantined + rows_replaced"
        ).fetchone()[0]
        assert unbalanced == 0
    report = settings.reports_dir / "drift" / f"{END.isoformat()}.html"
    assert report.exists() and report.stat().st_size > 10_000


def test_rerunning_a_night_leaves_identical_tables(nightly):
    settings, _ = nightly
    before = checksums(settings.serving_path)
    dag_run, states = run_night(END)
    assert dag_run.state == "success", states
    after = checksums(settings.serving_path)
    assert after == before


def test_backfilling_an_earlier_night_after_later_ones_reproduces_it(nightly):
    settings, _ = nightly
    first = NIGHTS[0]
    query = "select * exclude (run_id) from predictions.forecasts where as_of_date = ? order by series_id, target_date"
    with duckdb.connect(str(settings.serving_path), read_only=True) as connection:
        before = connection.execute(query, [first]).fetchall()
    dag_run, states = run_night(first)
    assert dag_run.state == "success", states
    with duckdb.connect(str(settings.serving_path), read_only=True) as connection:
        after = connection.execute(query, [first]).fetchall()
        later = connection.execute("select count(distinct as_of_date) from predictions.forecasts").fetchone()[
            0
        ]
    assert after == before
    assert later == 4, "the history night and the three nights keep their own versions"


def test_a_missing_export_fails_ingest_and_writes_nothing_downstream(nightly):
    settings, _ = nightly
    missing_day = END + dt.timedelta(days=1)  # never simulated
    before = checksums(settings.warehouse_path)
    dag_run, states = run_night(missing_day, retries=0)
    assert dag_run.state == "failed"
    assert states["ingest"] == "failed"
    assert all(
        states[task] == "upstream_failed"
        for task in (
            "privacy",
            "transform",
            "drift",
            "retrain_decision",
            "retrain",
            "forecast",
            "segment",
            "customer_value",
            "publish",
        )
    )
    assert checksums(settings.warehouse_path) == before


def test_the_warehouse_after_the_nights_holds_every_declared_table_with_its_columns_and_types(nightly):
    from daybreak.warehouse.tables import TABLES

    settings, _ = nightly
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        found = connection.execute(
            "select table_schema || '.' || table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() order by table_schema, table_name, ordinal_position"
        ).fetchall()
    actual: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in found:
        actual.setdefault(table, []).append((column, kind))
    for name, declared in TABLES.items():
        assert actual.get(name) == [(c.name, c.type) for c in declared.columns], name


def test_dbt_docs_describe_every_mart(nightly):
    import json

    from jobs.docs import generate_docs

    settings, _ = nightly
    index = generate_docs(END, settings)
    assert index.exists()
    catalog = json.loads((index.parent / "catalog.json").read_text())
    documented = {
        node["metadata"]["name"]
        for node in catalog["nodes"].values()
        if node["metadata"]["schema"] == "marts"
    }
    assert {
        "fct_sales_lines",
        "fct_daily_sales",
        "dim_customers",
        "dim_products",
        "features_customer_asof",
    } <= documented
    from daybreak.warehouse.tables import TABLES

    sources = {
        f"{node['metadata']['schema']}.{node['metadata']['name']}": set(node["columns"])
        for node in catalog["sources"].values()
    }
    for name, declared in TABLES.items():
        assert sources.get(name) == set(declared.column_names), f"dbt docs show {name} with its columns"
