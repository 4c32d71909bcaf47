"""How clearly monitoring sees a shift on its first night, and how quiet it stays on a stationary month.

Not a timing: the statistics behind `tests/integration/test_monitoring.py`, on the same synthetic shops (3
locations, 60 products, the seasonal naive as the only candidate, every monitoring key at its default). For each
shift injected on 2024-04-17 it prints the forecast inputs' rows of `monitoring.drift_metrics` for that night (the
14-day Wasserstein test and the day's surprise check per series); for the stationary month it runs the monitoring
and forecast jobs on 30 nights and prints the distribution of both statistics and the alerts.

    python -m bench monitoring_detection [--customers 3000] [--home /tmp/bench-monitoring]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
from pathlib import Path

import yaml

START = dt.date(2024, 2, 1)
SHIFT_DAY = dt.date(2024, 4, 17)
INPUTS_SQL = """
select feature, test, statistic, threshold, drifted from monitoring.drift_metrics
where as_of_date = ? and model_kind = 'forecast' and scope = 'inputs' order by feature
"""
SUMMARY_SQL = """
select test, count(*) as rows, sum(drifted::int) as drifted, median(statistic) as median,
    quantile_cont(statistic, 0.95) as p95, max(statistic) as largest
from monitoring.drift_metrics where model_kind = 'forecast' and scope = 'inputs' group by test order by test
"""


def shop(home: Path):
    from daybreak.core.settings import Settings, dataset_path

    config = yaml.safe_load(dataset_path("synthetic").read_text(encoding="utf-8"))
    config["name"] = "shop"
    config["forecasting"] = {"candidates": ["seasonal_naive"], "backtest": {"folds": 2}}
    config["series"]["horizon"] = 14
    config["segmentation"].update(max_segments=4, selection_sample=200)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    path = home / "shop.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return Settings(home=home / "home", dataset=str(path))


def shifted(home: Path, customers: int, name: str, shifts) -> None:
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from daybreak.warehouse.connection import connect
    from jobs.pipeline import load_history, run_night

    settings = shop(home / name)
    simulate_synthetic(
        settings.landing_dir, start=START, end=SHIFT_DAY, customers=customers, products=60, locations=3,
        shifts=shifts,
    )  # fmt: skip
    load_history(SHIFT_DAY - dt.timedelta(days=1), settings)
    run_night(SHIFT_DAY, "bench", settings)
    with connect(settings.warehouse_path, read_only=True) as connection:
        frame = connection.execute(INPUTS_SQL, [SHIFT_DAY]).df()
    print(f"\n{name}, {customers:,} customers, night {SHIFT_DAY}:")
    print(frame.to_string(index=False))


def stationary(home: Path, customers: int, nights: int = 30) -> None:
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from daybreak.warehouse.connection import connect
    from jobs import forecast, ingest, transform
    from jobs.drift import monitor
    from jobs.pipeline import load_history

    settings = shop(home / "stationary")
    days = [SHIFT_DAY + dt.timedelta(days=i) for i in range(nights)]
    simulate_synthetic(
        settings.landing_dir, start=START, end=days[-1], customers=customers, products=60, locations=3
    )
    load_history(SHIFT_DAY - dt.timedelta(days=1), settings)
    list(ingest.run_days(days, "bench", settings))
    transform.run(days[-1], "bench", settings, full_refresh=True)
    config = load_dataset_config(settings.dataset)
    alerts = {}
    for day in days:
        sent = monitor(day, "bench", settings, config)["alerts"]
        if sent:
            alerts[day] = sent
        forecast.run(day, "bench", settings)
    with connect(settings.warehouse_path, read_only=True) as connection:
        summary = connection.execute(SUMMARY_SQL).df()
        triggers = connection.execute(
            "select trigger, count(*) as nights from monitoring.retrain_decisions group by 1 order by 1"
        ).df()
    print(
        f"\nstationary, {customers:,} customers, {nights} nights from {days[0]}: {len(alerts)} drift alert(s)"
    )
    print(summary.to_string(index=False))
    print(triggers.to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    from daybreak.ingest.simulation.shifts import Shifts

    parser = argparse.ArgumentParser(prog="python -m bench monitoring_detection")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--home", type=Path, default=Path("/tmp/bench-monitoring"))
    args = parser.parse_args(argv)
    germany = Shifts(from_day=SHIFT_DAY, location_demand=(("Germany", 4.0),))
    shifted(args.home, args.customers, "demand x4 in Germany", germany)
    shifted(args.home, args.customers, "every price x2", Shifts(from_day=SHIFT_DAY, price_factor=2.0))
    stationary(args.home, args.customers)
    return 0
