"""The model nights' work on Spark (local[2]) gives what the local path gives: the same pure functions, elsewhere.

Given six short daily series, when `run_all` maps `run_series` over them on Spark (`applyInPandas`, one group per
series) and in this process, then every series' forecast, components, backtest, folds, selection, challenger and
scoring state are equal within 1e-9 (relative), in the tasks' order. Given a fitted segmentation, when it scores
the customers by partitions on Spark (`mapInPandas`) and in this process, then the assignments are equal; and so
are a customer-value model's scores. And
given the same small warehouse twice, when the forecast and segment jobs run a night on each, one with the Spark
engine, then every predictions table holds the same rows (floats within 1e-9).

One SparkSession for the module (its JVM is the fixed cost), started as the nights start it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config, parse_candidates
from daybreak.models.forecasting.context import SeriesContext
from daybreak.models.forecasting.fitting import fit_forecast
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.pool import run_all
from daybreak.models.forecasting.registry import spec
from daybreak.models.forecasting.tasks import Champion, SeriesTask
from daybreak.models.segmentation.fitting import fit_segments
from daybreak.nights import spark_models
from daybreak.warehouse.connection import connect
from tests.unit.test_segmentation import CONFIG, SEED, _customers

pytestmark = pytest.mark.integration

RELATIVE = 1e-9


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return Settings(home=tmp_path_factory.mktemp("spark_models"), engine="spark", spark_master="local[2]")


@pytest.fixture(scope="module")
def spark(settings):
    session = spark_models.session(settings)
    yield session
    session.stop()


def _tasks() -> list[SeriesTask]:
    """Seven short daily series; two also backtest Prophet, one comes with its champion to refit instead, and one
    with a Prophet champion that scores from its stored fit."""
    cheap = (spec("auto_ets"),)
    tasks = []
    for i in range(7):
        rng = np.random.default_rng(i)
        t = np.arange(70)
        y = 40 + 5 * i + 0.2 * t + 6 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, len(t))
        ds = pd.date_range("2024-01-01", periods=len(t), freq="D")
        candidates = (*cheap, spec("prophet")) if i < 2 else cheap
        tasks.append(
            SeriesTask(
                series_id=f"s{i}",
                ds=ds.to_numpy(),
                y=y,
                origin=ds[-1],
                context=SeriesContext(freq="D", seed=3),
                options=ForecastOptions(candidates=candidates, horizon=7, folds=2, time_limit_seconds=None),
            )
        )
    champion = Champion("2024-03-01", spec("auto_ets"))
    tasks[5] = dataclasses.replace(tasks[5], retrain=False, champion=champion, decision="promote")
    last = tasks[6]
    future = pd.date_range(last.origin, periods=8, freq="D")[1:]
    fitted = fit_forecast(spec("prophet"), pd.DatetimeIndex(last.ds), last.y, future, last.context)
    stored = Champion("2024-03-01", fitted.spec, fitted.state, fitted.fit)
    tasks[6] = dataclasses.replace(last, retrain=False, champion=stored)
    return tasks


def _same(a, b, where: str) -> None:
    """Equal within RELATIVE: frames column by column, mappings and sequences item by item, floats by ratio."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=RELATIVE, atol=0, obj=where)
    elif dataclasses.is_dataclass(a):  # a selection, a challenger: field by field
        _same(dataclasses.asdict(a), dataclasses.asdict(b), where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple | np.ndarray):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{index}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=RELATIVE), (where, a, b)
    else:
        assert a == b, (where, a, b)


def test_series_on_spark_equal_the_local_path(spark):
    tasks = _tasks()

    local = run_all(tasks, max_workers=1)
    distributed = run_all(
        tasks, max_workers=1, map_series=lambda t: spark_models.run_series_on_spark(t, spark)
    )

    assert spark.conf.get("spark.sql.catalogImplementation") == "in-memory"  # no metastore to share with dbt
    assert [r.series_id for r in distributed] == [t.series_id for t in tasks]
    scoring = [(r.selection.scoring_model.split("(")[0], r.selection.scoring_role) for r in local]
    assert scoring == [("prophet", "challenger")] * 2 + [("auto_ets", "challenger")] * 3 + [
        ("auto_ets", "champion"),
        ("prophet", "champion"),
    ]
    for mine, theirs in zip(distributed, local, strict=True):
        for field in dataclasses.fields(mine):
            if field.name != "seconds":  # the time a fit took
                _same(
                    getattr(mine, field.name), getattr(theirs, field.name), f"{mine.series_id}.{field.name}"
                )


def test_segment_scoring_on_spark_equals_the_local_path(spark):
    customers = _customers(per_profile=40)
    customers.loc[::17, "monetary"] = np.nan  # imputed by the model, on either side
    model, _ = fit_segments(customers, CONFIG, SEED)

    local = model.assign(customers, batch_size=50)
    distributed = spark_models.assign_on_spark(model, customers, 50, spark)

    pd.testing.assert_frame_equal(distributed, local, check_exact=False, rtol=RELATIVE, atol=0)
    assert distributed["segment_id"].nunique() > 1 and spark_models.partitions(spark, len(customers)) == 8
    assert spark_models.assign_on_spark(model, customers.iloc[:0], 50, spark).empty


def test_customer_value_scoring_on_spark_equals_the_local_path(spark):
    from daybreak.models.customer_value import score
    from tests.unit.test_customer_value_night import MODEL

    rng = np.random.default_rng(29)
    age = rng.integers(1, 300, 500).astype(float)
    recency = np.floor(age * rng.random(500))
    frequency = np.where(recency > 0, rng.integers(1, 12, 500), 0).astype(float)
    summary = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(500)],
            "frequency": frequency,
            "recency": recency,
            "T": age,
            "monetary_value": np.where(frequency > 0, rng.gamma(4.0, 10.0, 500), 0.0),
        }
    )

    local = score(MODEL, summary, 90)
    distributed = spark_models.score_on_spark(MODEL, summary, 90, spark)

    pd.testing.assert_frame_equal(distributed, local, check_exact=False, rtol=RELATIVE, atol=0)
    assert spark_models.score_on_spark(MODEL, summary.iloc[:0], 90, spark).empty


def test_a_night_with_the_spark_engine_writes_the_duckdb_nights_rows(spark, tmp_path, monkeypatch):
    """The forecast and segment jobs themselves: the engine setting alone moves their work to Spark."""
    from jobs import forecast, segment
    from tests.integration.test_forecast_job import SUNDAY, _warehouse
    from tests.integration.test_model_jobs import _customer_features

    base = load_dataset_config("synthetic")
    cheap = dataclasses.replace(
        base.forecasting,
        candidates=parse_candidates(["seasonal_naive", "auto_ets", "prophet"]),
        ensemble_top=0,
    )
    config = dataclasses.replace(base, forecasting=cheap)
    monkeypatch.setattr("jobs.forecast.load_dataset_config", lambda name: config)
    called = []
    for name in ("run_series_on_spark", "assign_on_spark"):
        real = getattr(spark_models, name)
        monkeypatch.setattr(
            spark_models, name, lambda *a, real=real, name=name: called.append(name) or real(*a)
        )
    homes = {}
    for engine in ("duckdb", "spark"):
        settings = dataclasses.replace(_warehouse(tmp_path / engine, dt.date(2024, 1, 1)), engine=engine)
        features = _customer_features(np.random.default_rng(7)).assign(as_of_date=SUNDAY)
        with connect(settings.warehouse_path) as connection:
            connection.register("_features", features.drop_duplicates("customer_id"))
            connection.execute("create table marts.features_customer_asof as select * from _features")
        forecast.run(SUNDAY, "night", settings)
        segment.run(SUNDAY, "night", settings)
        homes[engine] = settings

    assert called == ["run_series_on_spark", "assign_on_spark"]  # by the Spark night only
    for table in PREDICTIONS:
        on_duckdb, on_spark = (table_rows(homes[engine], table) for engine in ("duckdb", "spark"))
        assert len(on_duckdb), table
        pd.testing.assert_frame_equal(
            on_spark, on_duckdb, check_exact=False, rtol=RELATIVE, atol=0, obj=table
        )


PREDICTIONS = (
    "predictions.forecasts",
    "predictions.forecast_components",
    "predictions.backtest_metrics",
    "predictions.forecast_selection",
    "predictions.forecast_reconciliation",
    "predictions.customer_segments",
    "predictions.segment_profiles",
    "predictions.segment_transitions",
)


def table_rows(settings: Settings, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The table in a fixed row order; `columns` puts them in another warehouse's order (Spark writes a
    partitioned table's partition column last)."""
    with connect(settings.warehouse_path, read_only=True) as connection:
        frame = connection.execute(f"select * from {table}").df()  # noqa: S608 - the test's own names
    frame = frame[columns or list(frame.columns)]
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)
