"""The forecast, segment and drift jobs against a small hand-made warehouse: real Prophet, k-means and Evidently.

Given marts shaped like dbt's (architecture.md), each job's run() must write only its business date's version,
write identical rows when rerun (run_id aside), and leave earlier versions alone when a later date is scored.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.warehouse.connection import connect

pytestmark = pytest.mark.integration

FIRST_DAY = dt.date(2024, 1, 1)
DAY_ONE = dt.date(2024, 3, 31)
DAY_TWO = dt.date(2024, 4, 1)
LOCATIONS = ("Germany", "France")
OUTPUTS = {
    "predictions.forecasts": ["series_id", "target_date"],
    "predictions.customer_segments": ["customer_id"],
    "predictions.segment_profiles": ["segment_id", "feature"],
    "predictions.segment_transitions": ["from_segment_id", "to_segment_id"],
    "monitoring.drift_summary": ["as_of_date"],
}


def _daily_sales(rng: np.random.Generator) -> pd.DataFrame:
    days = pd.date_range(FIRST_DAY, DAY_TWO, freq="D")
    t = np.arange(len(days))
    frames = []
    for i, location in enumerate(LOCATIONS):
        units = np.maximum(
            0, 20 + 5 * i + 4 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, len(days))
        ).round()
        frames.append(
            pd.DataFrame(
                {
                    "series_id": f"location={location}",
                    "location": location,
                    "sales_date": days,
                    "units": units,
                }
            )
        )
    by_location = pd.concat(frames, ignore_index=True)
    total = by_location.groupby("sales_date", as_index=False)["units"].sum()
    total = total.assign(series_id="total", location=None)
    # a series listed since the day before DAY_ONE without a sale yet: nothing for Prophet, it gets the naive forecast
    newcomer = pd.DataFrame(
        {
            "series_id": "location=Spain",
            "location": "Spain",
            "sales_date": pd.date_range(DAY_ONE - dt.timedelta(days=1), DAY_TWO, freq="D"),
            "units": [0.0, 0.0, 2.0],
        }
    )
    daily = pd.concat([by_location, total, newcomer], ignore_index=True)
    return daily.assign(
        product_id=None,
        sales_date=daily["sales_date"].dt.date,
        revenue=daily["units"] * 9.5,
        lines=daily["units"].astype(int),
        orders=daily["units"].astype(int),
    )


def _sales_lines(rng: np.random.Generator) -> pd.DataFrame:
    days = pd.date_range(FIRST_DAY + dt.timedelta(days=40), DAY_TWO, freq="D")
    rows = []
    for day in days:
        n = 30
        # prices rise in the last week, so the current window drifts from the reference
        price_shift = 8.0 if day.date() > DAY_ONE - dt.timedelta(days=7) else 0.0
        quantity = rng.integers(1, 6, n).astype(float)
        unit_price = rng.gamma(2.0, 3.0, n).round(2) + price_shift
        for j in range(n):
            rows.append(
                {
                    "line_id": f"{day.date()}-{j:03d}",
                    "business_date": day.date(),
                    "order_id": f"{day.date()}-{j // 3}",
                    "ordered_at": day + pd.Timedelta(minutes=10 * j),
                    "customer_id": None if j % 5 == 0 else f"c{j % 17:03d}",
                    "product_id": f"p{j % 7}",
                    "product_name": None,
                    "location": LOCATIONS[j % 2],
                    "quantity": quantity[j],
                    "unit_price": unit_price[j],
                    "revenue": quantity[j] * unit_price[j],
                    "is_return": False,
                }
            )
    return pd.DataFrame(rows)


def _customer_features(rng: np.random.Generator) -> pd.DataFrame:
    frames = []
    for as_of in (DAY_ONE, DAY_TWO):
        n = 60
        frequency = rng.integers(1, 30, n)
        monetary = frequency * rng.gamma(2.0, 20.0, n)
        monetary[0] = -12.5  # net of returns a customer can owe money
        frames.append(
            pd.DataFrame(
                {
                    "as_of_date": as_of,
                    "customer_id": [f"c{i:03d}" for i in range(n)],
                    "recency_days": rng.integers(0, 200, n),
                    "frequency": frequency,
                    "monetary": monetary,
                    "tenure_days": rng.integers(200, 400, n),
                    "avg_basket_value": monetary.clip(0) / frequency,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture()
def settings(tmp_path) -> Settings:
    """A data home whose warehouse holds the marts the model jobs read."""
    settings = Settings(home=tmp_path / "home", dataset="synthetic")
    rng = np.random.default_rng(7)
    marts = {
        "fct_daily_sales": _daily_sales(rng),
        "fct_sales_lines": _sales_lines(rng),
        "features_customer_asof": _customer_features(rng),
    }
    casts = {
        "fct_daily_sales": "series_id::varchar as series_id, location::varchar as location, "
        "product_id::varchar as product_id, sales_date::date as sales_date, units::double as units, "
        "revenue::double as revenue, lines::bigint as lines, orders::bigint as orders",
        "fct_sales_lines": "line_id, business_date::date as business_date, order_id, "
        "ordered_at::timestamp as ordered_at, customer_id::varchar as customer_id, product_id, "
        "product_name::varchar as product_name, location, quantity, unit_price, revenue, is_return",
        "features_customer_asof": "as_of_date::date as as_of_date, customer_id, recency_days::integer as "
        "recency_days, frequency::bigint as frequency, monetary::double as monetary, tenure_days::integer as "
        "tenure_days, avg_basket_value::double as avg_basket_value",
    }
    with connect(settings.warehouse_path) as connection:
        connection.execute("create schema marts")
        for name, frame in marts.items():
            connection.register("_mart", frame)
            connection.execute(f"create table marts.{name} as select {casts[name]} from _mart")
            connection.unregister("_mart")
        # the forecast reads its history and calendar from these two marts (dbt builds them from the ones above)
        connection.execute(
            "create table marts.features_series_daily as "
            "select series_id, sales_date, units, revenue from marts.fct_daily_sales"
        )
        calendar = BusinessCalendar.from_config(load_dataset_config("synthetic"))
        connection.register("_calendar", calendar.frame(FIRST_DAY, DAY_TWO + dt.timedelta(days=90)))
        connection.execute("create table marts.dim_calendar as select * from _calendar")
    return settings


def _run_all(day: dt.date, run_id: str, settings: Settings) -> dict[str, dict]:
    from jobs import drift, forecast, segment

    return {
        "forecast": forecast.run(day, run_id, settings),
        "segment": segment.run(day, run_id, settings),
        "drift": drift.run(day, run_id, settings),
    }


def _tables(settings: Settings) -> dict[str, pd.DataFrame]:
    """Every output table, run_id left out, in a stable row order."""
    with connect(settings.warehouse_path, read_only=True) as connection:
        return {
            table: connection.execute(
                f"select * exclude (run_id) from {table} order by as_of_date, {', '.join(keys)}"
            )
            .df()
            .reset_index(drop=True)
            for table, keys in OUTPUTS.items()
        }


def test_rerun_writes_identical_rows_for_its_date_only(settings):
    # when the three jobs run for a date, and again under another run id
    first = _run_all(DAY_ONE, "run-a", settings)
    tables_first = _tables(settings)
    second = _run_all(DAY_ONE, "run-b", settings)
    tables_second = _tables(settings)

    # then the rerun wrote the same rows, all of them for that date
    for table, frame in tables_first.items():
        pd.testing.assert_frame_equal(frame, tables_second[table], obj=table)
        assert set(frame["as_of_date"].dt.date) == {DAY_ONE}, table
    with connect(settings.warehouse_path, read_only=True) as connection:
        for table in OUTPUTS:
            assert connection.execute(f"select distinct run_id from {table}").fetchall() == [("run-b",)]
    assert first["forecast"]["rows_written"] == second["forecast"]["rows_written"] == 4 * 28
    assert first["segment"]["segments"] == second["segment"]["segments"]
    assert first["segment"]["training"]["decision"].startswith("promoted: no champion yet")
    assert second["segment"]["training"]["decision"].startswith("already decided")

    forecasts = tables_first["predictions.forecasts"]
    assert forecasts["target"].unique().tolist() == ["revenue"]
    assert forecasts["target_date"].min().date() == DAY_ONE + dt.timedelta(days=1)
    assert forecasts["target_date"].max().date() == DAY_ONE + dt.timedelta(days=28)
    models = forecasts.groupby("series_id")["model"].first().to_dict()
    # a series listed for two days has no history to backtest: the seasonal naive, flagged
    assert models.pop("location=Spain") == "seasonal_naive"
    assert set(models.values()) <= {"seasonal_naive", "prophet", "auto_ets", "theta", "ensemble"}
    assert (forecasts["yhat_lower_95"] <= forecasts["yhat_lower_80"]).all()
    assert (forecasts["yhat_upper_80"] <= forecasts["yhat_upper_95"]).all()
    assert (settings.models_dir / "forecast" / DAY_ONE.isoformat() / "params.json").is_file()

    segments = tables_first["predictions.customer_segments"]
    assert len(segments) == 60 and segments["customer_id"].is_unique
    k = first["segment"]["training"]["k"]
    assert 3 <= k <= 8 and sorted(segments["segment_id"].unique()) == list(range(k))
    assert segments.groupby("segment_id")["segment_name"].nunique().eq(1).all()
    assert segments["segment_name"].nunique() == k
    assert (settings.models_dir / "segmentation" / DAY_ONE.isoformat() / "model.joblib").is_file()

    drift = tables_first["monitoring.drift_summary"].iloc[0]
    assert drift["current_start"].date() == DAY_ONE - dt.timedelta(days=6)
    assert drift["reference_end"].date() == DAY_ONE - dt.timedelta(days=7)
    assert drift["reference_start"].date() == DAY_ONE - dt.timedelta(days=34)
    assert drift["n_columns"] == 5 and drift["n_drifted_columns"] >= 2  # unit_price and revenue moved
    assert bool(drift["dataset_drift"]) == bool(drift["share_drifted"] >= 0.5)
    assert second["drift"]["report_path"] == drift["report_path"]
    assert settings.reports_dir.joinpath("drift", f"{DAY_ONE}.html").is_file()


def test_next_date_adds_a_version_and_leaves_the_first(settings):
    _run_all(DAY_ONE, "run-a", settings)
    before = _tables(settings)

    _run_all(DAY_TWO, "run-c", settings)
    after = _tables(settings)

    for table, frame in after.items():
        assert set(frame["as_of_date"].dt.date) == {DAY_ONE, DAY_TWO}, table
        kept = frame[frame["as_of_date"].dt.date == DAY_ONE].reset_index(drop=True)
        pd.testing.assert_frame_equal(kept, before[table], obj=table)
    forecasts = after["predictions.forecasts"]
    assert forecasts.loc[
        forecasts["as_of_date"].dt.date == DAY_TWO, "target_date"
    ].min().date() == DAY_TWO + dt.timedelta(days=1)


def test_start_of_history_writes_an_empty_drift_row_and_no_report(settings):
    from jobs import drift

    # the lines start 2024-02-10: on 2024-02-12 the reference window is empty
    day = dt.date(2024, 2, 12)
    result = drift.run(day, "run-a", settings)

    assert result["empty_window"] == "reference"
    assert result["report_path"] is None and result["n_columns"] == 0
    with connect(settings.warehouse_path, read_only=True) as connection:
        row = connection.execute(
            "select n_columns, n_drifted_columns, share_drifted, dataset_drift, report_path "
            "from monitoring.drift_summary where as_of_date = ?",
            [day],
        ).fetchall()
    assert row == [(0, 0, None, False, None)]
    assert not settings.reports_dir.joinpath("drift", f"{day}.html").exists()


def test_output_columns_match_the_contract(settings):
    """The jobs' tables have exactly the shape `daybreak.warehouse.tables` declares: the one place a shape is written."""
    from daybreak.warehouse.tables import table

    _run_all(DAY_ONE, "run-a", settings)
    with connect(settings.warehouse_path, read_only=True) as connection:
        for name in ("predictions.forecasts", "predictions.customer_segments", "monitoring.drift_summary"):
            described = connection.execute(f"describe {name}").fetchall()
            declared = [(column.name, column.type) for column in table(name).columns]
            assert [(column, kind) for column, kind, *_ in described] == declared, name


def test_segment_skips_a_dataset_without_segmentation(tmp_path):
    from jobs import segment

    result = segment.run(DAY_ONE, "run-a", Settings(home=tmp_path, dataset="store_item"))

    assert result == {"skipped": "segmentation disabled for dataset store_item"}
    assert not (tmp_path / "warehouse").exists()
