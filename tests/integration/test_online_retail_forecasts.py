"""Online Retail's nightly forecast honours the shop's calendar, on the real UCI file.

Given the file replayed and ingested up to Friday 2011-04-15 and the marts built, when the forecast job runs that
night, then every series is forecast as exactly zero, with zero-width intervals, on each Saturday and each
configured closed date of the next 28 days (Easter and the May bank holiday among them), the total is forecast
above zero on the other days, and no bound of the revenue forecast is below zero. On the code before the one calendar,
the Saturdays were forecast at thousands with lower bounds well below zero.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from daybreak.core.settings import Settings

pytestmark = pytest.mark.integration

FIRST_DAY, NIGHT = dt.date(2010, 12, 1), dt.date(2011, 4, 15)
BANDS = ["yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]


@pytest.fixture(scope="module")
def night(shared_data, tmp_path_factory):
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.replay import replay_dataset
    from jobs import forecast, ingest, transform

    settings = Settings(home=tmp_path_factory.mktemp("online_retail"), dataset="online_retail")
    config = load_dataset_config("online_retail")
    source = shared_data / "online_retail" / "online_retail.parquet"
    replay_dataset(config, settings.landing_dir, source=str(source), start=FIRST_DAY, end=NIGHT)
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range((NIGHT - FIRST_DAY).days + 1)]
    list(ingest.run_days(days, "test", settings))
    transform.run(NIGHT, "test", settings, full_refresh=True)
    forecast.run(NIGHT, "test", settings, max_workers=1)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        forecasts = connection.execute(
            "select * from predictions.forecasts where as_of_date = ?", [NIGHT]
        ).df()
    return config, forecasts


def test_saturdays_and_closed_dates_are_forecast_as_zero(night):
    config, forecasts = night
    days = forecasts["target_date"].dt.date
    closed = days.map(
        lambda d: d.weekday() in config.calendar.closed_weekdays or d in config.calendar.closed_dates
    )

    assert forecasts["series_id"].nunique() == 6 and len(forecasts) == 6 * 28
    assert closed.sum() == 6 * 9  # four Saturdays, Easter (04-22, 04-24, 04-25), 04-29 and 05-02
    assert (forecasts.loc[closed, BANDS] == 0).all().all()
    total = forecasts["series_id"] == "total"
    assert (forecasts.loc[~closed & total, "yhat"] > 0).all(), "the shop trades on its open days"


def test_no_bound_of_the_revenue_forecast_is_below_zero(night):
    _, forecasts = night

    assert (forecasts["target"] == "revenue").all()
    assert (forecasts[BANDS] >= 0).all().all()
