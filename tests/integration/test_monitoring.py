"""Monitoring that acts, end to end on a small simulated shop: real dbt, Evidently, the registry and the jobs.

Given a shop whose history was loaded (champions promoted, their references stored), when a shift is injected
through the simulator on a known day, then the first night that sees it flags it, decides the retraining it
should, the forecast job retrains and the registry records why, and one alert names what drifted.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from pathlib import Path

import pytest
import yaml

from daybreak.core.settings import Settings, dataset_path
from daybreak.datasets import load_dataset_config
from daybreak.ingest.simulation.shifts import Shifts
from daybreak.ingest.simulation.synthetic import simulate_synthetic
from daybreak.nights import monitoring
from daybreak.warehouse.connection import connect

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=3)]

START = dt.date(2024, 2, 1)
SHIFT_DAY = dt.date(2024, 4, 17)  # a Wednesday: not the weekly retrain night (Sunday)
CUSTOMERS = 3000  # a shop's day must be large enough that one shifted day of a series stands out of its noise


def _shop(tmp_path, monitoring: dict | None = None) -> Settings:
    """The synthetic shop, lean: one cheap candidate, three locations; the default monitoring windows and
    thresholds unless `monitoring` says otherwise."""
    config = yaml.safe_load(dataset_path("synthetic").read_text(encoding="utf-8"))
    config["name"] = "shop"
    config["forecasting"] = {"candidates": ["seasonal_naive"], "backtest": {"folds": 2}}
    config["series"]["horizon"] = 14
    config["segmentation"].update(max_segments=4, selection_sample=200)
    config["monitoring"] = monitoring or {}
    path = tmp_path / "shop.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return Settings(home=tmp_path / "home", dataset=str(path))


SCENARIOS = {
    # scenario: (the shift, the model kind it must retrain, a word its reason names, the shop's customers)
    "demand_shift_in_one_location": (
        Shifts(from_day=SHIFT_DAY, location_demand=(("Germany", 4.0),)),
        "forecast",
        "location=Germany",
        CUSTOMERS,
    ),
    "price_change": (Shifts(from_day=SHIFT_DAY, price_factor=2.0), "forecast", "revenue", CUSTOMERS),
    # large against the shop: ten new customers for each existing one
    "new_large_customer_group": (
        Shifts(from_day=SHIFT_DAY, new_customers=3000),
        "segmentation",
        "segmentation",
        300,
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_shift_is_flagged_on_its_first_night_retrained_recorded_and_alerted(scenario, tmp_path, caplog):
    from jobs.pipeline import load_history, run_night

    shifts, kind, named, customers = SCENARIOS[scenario]
    settings = _shop(tmp_path)
    simulate_synthetic(
        settings.landing_dir,
        start=START,
        end=SHIFT_DAY,
        customers=customers,
        products=60,
        locations=3,
        shifts=shifts,
    )
    load_history(SHIFT_DAY - dt.timedelta(days=1), settings)
    with connect(settings.warehouse_path, read_only=True) as connection:
        references = connection.execute(
            "select model_kind, count(*) from monitoring.model_references group by model_kind order by 1"
        ).fetchall()
    assert [kind for kind, _ in references] == ["forecast", "segmentation"]

    with caplog.at_level(logging.WARNING, logger="daybreak.platform.alerts"):
        night = run_night(SHIFT_DAY, "shift", settings)

    decisions = {d["model_kind"]: d for d in night["drift"]["monitoring"]["decisions"]}
    assert decisions[kind]["retrain"] and decisions[kind]["trigger"] == "drift", decisions
    assert named in decisions[kind]["reason"]
    if kind == "forecast":
        assert night["forecast"]["retrained"] == night["forecast"]["series"]
    else:
        assert "drift" in night["segment"]["training"]["reason"]
    with connect(settings.warehouse_path, read_only=True) as connection:
        registered = connection.execute(
            "select reason from registry.model_events where model_kind = ? and action = 'register' "
            "and version = ?",
            [kind, SHIFT_DAY.isoformat()],
        ).fetchall()
        rows = connection.execute(
            "select count(*), count(model_version), count(reference_start) from monitoring.drift_metrics "
            "where as_of_date = ?",
            [SHIFT_DAY],
        ).fetchone()
        reports = connection.execute(
            "select report, model_version, reference_start, path from monitoring.reports where as_of_date = ?",
            [SHIFT_DAY],
        ).fetchall()
    assert registered and all("drift" in reason for (reason,) in registered), registered
    assert rows[0] > 0 and rows[0] == rows[1] == rows[2], "every metric row names its version and window"
    assert {"forecast_inputs", "segmentation_inputs", "data_quality"} <= {r[0] for r in reports}
    assert all(r[1] and r[2] for r in reports if r[0] != "data_quality")
    # the night ran no Evidently report; asked for, each listed report is rendered (Evidently, for real) where the
    # row says, naming the version it compared with
    written = monitoring.write_reports(settings, load_dataset_config(settings.dataset), SHIFT_DAY)
    assert {name: str(path) for name, path in written.items()} == {r[0]: r[3] for r in reports}
    for report, version, _, path in reports:
        page = Path(path).read_text(encoding="utf-8")
        # Evidently's dashboard script draws its metrics into `root_metric_*` elements
        assert "root_metric_" in page and f"model version: {html.escape(version)}" in page, report
    alerts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT")]
    mine = [text for text in alerts if f": {kind} drift since {SHIFT_DAY}" in text]
    assert len(mine) == 1 and named in mine[0] and "Action: retraining" in mine[0]


def test_a_stationary_shop_raises_at_most_one_false_drift_alarm_in_30_nights(tmp_path, caplog):
    """The monitoring and forecast jobs run on 30 consecutive as-of dates of one loaded warehouse (the champions
    and their references of the history load; each night's forecasts are what the next night's surprise check
    compares with), with the default monitoring windows and thresholds: at most one drift alert (one event)."""
    from jobs import forecast, ingest, transform
    from jobs.drift import monitor
    from jobs.pipeline import load_history

    settings = _shop(tmp_path, monitoring={})
    loaded = SHIFT_DAY - dt.timedelta(days=1)
    nights = [loaded + dt.timedelta(days=i) for i in range(1, 31)]
    simulate_synthetic(
        settings.landing_dir, start=START, end=nights[-1], customers=CUSTOMERS, products=60, locations=3
    )
    load_history(loaded, settings)
    list(ingest.run_days(nights, "later", settings))
    transform.run(nights[-1], "later", settings, full_refresh=True)

    config = load_dataset_config(settings.dataset)
    alerts = {}
    with caplog.at_level(logging.WARNING, logger="daybreak.platform.alerts"):
        for day in nights:
            sent = monitor(day, "stationary", settings, config)["alerts"]
            if sent:
                alerts[day] = sent
            forecast.run(day, "stationary", settings)
    assert len(alerts) <= 1, alerts
    with connect(settings.warehouse_path, read_only=True) as connection:
        (checked,) = connection.execute(
            "select count(distinct as_of_date) from monitoring.drift_metrics where test = 'forecast_z'"
        ).fetchone()
    assert checked == len(nights), "every night compared its actuals with the night before's forecasts"
