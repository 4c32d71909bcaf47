"""Fixtures for the Streamlit app: a small serving file, a running app server, and a real browser.

The serving file follows docs/architecture.md (`marts.fct_daily_sales`, `predictions.forecasts` and the dbt views
over it the dashboards read) and sits where `Settings.serving_path` looks for it:
`<DAYBREAK_HOME>/serving/synthetic.duckdb`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import jinja2
import pytest

from daybreak.platform.serving import stop
from daybreak.warehouse import tables
from tests.conftest import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APP_SCRIPT = "apps/streamlit/app.py"
APP_DIR = PROJECT_ROOT / "apps" / "streamlit"
DBT_MODELS = PROJECT_ROOT / "dbt_project" / "models"
# the dbt views the dashboards read the forecasts through: model -> (schema, file under dbt_project/models)
DBT_VIEWS = {
    "stg_predictions__forecasts": ("staging", "staging/predictions/stg_predictions__forecasts.sql"),
    "forecast_versions": ("predictions", "marts/predictions/forecast_versions.sql"),
}

LAST_ACTUAL = dt.date(2024, 6, 30)
AS_OF_DATES = (dt.date(2024, 6, 16), LAST_ACTUAL)
HORIZON = 28
# series_id -> (days of history up to LAST_ACTUAL, mean daily revenue); `total` has over a year of history, so
# the year-on-year comparison has data, the location does not.
SERIES = {"total": (420, 52_000.0), "location=Germany": (200, 6_500.0)}
AVERAGE_PRICE = 12.5


def expected_revenue(series_id: str, day: dt.date) -> float:
    """A smooth daily level with a gentle trend, a weekly cycle and a yearly swell."""
    mean = SERIES[series_id][1]
    trend = 1 + 0.0004 * (day - LAST_ACTUAL).days
    weekly = 1 + 0.18 * math.sin(2 * math.pi * day.weekday() / 7)
    yearly = 1 + 0.10 * math.sin(2 * math.pi * day.timetuple().tm_yday / 365.25)
    return mean * trend * weekly * yearly


def _noise(series_id: str, day: dt.date) -> float:
    """Deterministic noise in [-0.08, 0.08], so the fixture is the same on every run."""
    seed = day.toordinal() * 7919 + sum(map(ord, series_id)) * 104_729
    return ((seed % 1000) / 1000 - 0.5) * 0.16


def daily_sales_rows() -> list[tuple]:
    rows = []
    for series_id, (days, _mean) in SERIES.items():
        location = series_id.partition("=")[2] or None
        for offset in range(days):
            day = LAST_ACTUAL - dt.timedelta(days=days - 1 - offset)
            revenue = round(expected_revenue(series_id, day) * (1 + _noise(series_id, day)), 2)
            units = round(revenue / AVERAGE_PRICE)
            lines = round(units * 0.8)
            rows.append((series_id, location, None, day, float(units), revenue, lines, round(lines / 3)))
    return rows


def forecast_rows() -> list[tuple]:
    rows = []
    for as_of_date in AS_OF_DATES:
        run_id = f"scheduled__{as_of_date.isoformat()}T00:00:00+00:00"
        for series_id in SERIES:
            for step in range(1, HORIZON + 1):
                day = as_of_date + dt.timedelta(days=step)
                yhat = expected_revenue(series_id, day)
                spread = yhat * (0.05 + 0.004 * step)
                rows.append(
                    (
                        as_of_date,
                        series_id,
                        "revenue",
                        day,
                        step,
                        yhat,
                        yhat - 1.2816 * spread,
                        yhat + 1.2816 * spread,
                        yhat - 1.96 * spread,
                        yhat + 1.96 * spread,
                        "prophet",
                        f"prophet-1.1.6@{as_of_date.isoformat()}",
                        run_id,
                    )
                )
    return rows


def build_serving_file(path: Path) -> Path:
    """Write a serving DuckDB file with the marts and prediction tables the dashboards read."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts")
        connection.execute(
            """
            create table marts.fct_daily_sales (
                series_id varchar, location varchar, product_id varchar, sales_date date,
                units double, revenue double, lines bigint, orders bigint
            )
            """
        )
        connection.executemany(
            "insert into marts.fct_daily_sales values (?, ?, ?, ?, ?, ?, ?, ?)", daily_sales_rows()
        )
        tables.ensure(connection, tables.table("predictions.forecasts"))  # the shape the forecast job writes
        connection.executemany(
            "insert into predictions.forecasts (as_of_date, series_id, target, target_date, horizon_step, yhat, "
            "yhat_lower_80, yhat_upper_80, yhat_lower_95, yhat_upper_95, model, model_version, run_id) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            forecast_rows(),
        )
        # rows as written before `yhat_statistical` and `frequency` existed: the next night's `ensure` fills them
        tables.ensure(connection, tables.table("predictions.forecasts"))
        create_dbt_views(connection)
    return path


def create_dbt_views(connection) -> None:
    """The dbt views over the forecasts (`DBT_VIEWS`), from the models' own SQL with `source` and `ref` resolved to
    the file's relations, so the app reads the fixture through what a night's `dbt build` leaves in the warehouse."""
    for name, (schema, path) in DBT_VIEWS.items():
        sql = jinja2.Template((DBT_MODELS / path).read_text()).render(
            source=lambda source, table: tables.table(f"{source}.{table}").qualified,
            ref=lambda model: f"{DBT_VIEWS[model][0]}.{model}",
        )
        connection.execute(f"create schema if not exists {schema}")
        connection.execute(f"create view {schema}.{name} as {sql}")


@pytest.fixture(scope="session")
def serving_spec() -> SimpleNamespace:
    """What the fixture serving file holds, and how to build another one (for tests that replace it)."""
    return SimpleNamespace(
        last_actual=LAST_ACTUAL,
        as_of_dates=AS_OF_DATES,
        horizon=HORIZON,
        series=SERIES,
        build=build_serving_file,
    )


@pytest.fixture(scope="session")
def serving_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAYBREAK_HOME whose serving file has been published."""
    home = tmp_path_factory.mktemp("daybreak_home")
    build_serving_file(home / "serving" / "synthetic.duckdb")
    return home


@pytest.fixture(autouse=True)
def admin_by_default(act_as) -> str:
    """Every app test acts as an admin (`tests.conftest.CAST`) unless it chooses another role with `act_as`, so the
    pages' own tests see every section; the roles' tests narrow it."""
    return act_as("admin")


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    """A DAYBREAK_HOME where no nightly run has published yet."""
    home = tmp_path / "empty_home"
    home.mkdir()
    return home


@pytest.fixture
def daybreak_env(monkeypatch: pytest.MonkeyPatch, serving_home: Path) -> Path:
    """Point this process's settings at the fixture serving file."""
    monkeypatch.setenv("DAYBREAK_HOME", str(serving_home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    return serving_home


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit was not healthy after {timeout:.0f}s:\n{log_path.read_text()}")


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[[Path], str]]:
    """Start `streamlit run apps/streamlit/app.py` against a DAYBREAK_HOME; returns the app's URL."""
    processes: list[subprocess.Popen] = []

    def start(home: Path) -> str:
        port = free_port()
        log_path = tmp_path / f"streamlit-{port}.log"
        env = {
            **os.environ,
            "DAYBREAK_HOME": str(home),
            "DAYBREAK_DATASET": "synthetic",
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            APP_SCRIPT,
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process, log_path)
        return url

    yield start
    for process in processes:
        stop([process])


def app_module(name: str) -> ModuleType:
    """`apps/streamlit/<name>` imported by the name the app imports it by (`identity`, `data.series`), from the
    app's folder, which app.py puts on the path: a test then patches the very module the pages call."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    return importlib.import_module(name)


DATA_MODULES = (
    "relations",
    "serving",
    "series",
    "overview",
    "forecast",
    "segments",
    "model_health",
    "pipeline",
    "review",
    "artefacts",
)


@pytest.fixture
def app_data() -> Iterator[SimpleNamespace]:
    """The app's data access, a module per attribute: `identity`, the read-only window's modules (`relations`,
    `serving`, `series`, each page's queries, `artefacts`) and `overrides`, the planners' writes; the query caches
    are emptied after the test."""
    modules = SimpleNamespace(
        identity=app_module("identity"),
        overrides=app_module("planner_overrides"),
        **{name: app_module(f"data.{name}") for name in DATA_MODULES},
    )
    yield modules
    modules.serving._query.clear()
    modules.serving._connection.clear()


@pytest.fixture(scope="session")
def grain() -> ModuleType:
    """`apps/streamlit/grain.py` imported as a module."""
    return app_module("grain")


def add_components(path: Path) -> Path:
    """Add `predictions.forecast_components` rows (trend and weekly, additive) for every forecast in the file."""
    import duckdb

    with duckdb.connect(str(path)) as connection:
        tables.ensure(connection, tables.table("predictions.forecast_components"))
        connection.execute(
            """
            insert into predictions.forecast_components by name
            select as_of_date, series_id, target_date, unnest(['trend', 'weekly']) as component,
                unnest([yhat * 0.9, yhat * 0.1]) as value, 'additive' as mode, model, model_version, run_id
            from predictions.forecasts
            """
        )
    return path


@pytest.fixture(scope="session")
def components_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAYBREAK_HOME whose serving file also has forecast components."""
    home = tmp_path_factory.mktemp("daybreak_components_home")
    add_components(build_serving_file(home / "serving" / "synthetic.duckdb"))
    return home


SEGMENTS = {1: "Loyal big spenders", 2: "Occasional buyers", 3: "Lapsed"}
SEGMENT_NIGHTS = (dt.date(2024, 6, 2), dt.date(2024, 6, 16), LAST_ACTUAL)
CUSTOMERS = [f"C{number:04d}" for number in range(60)]
QUARANTINE_RULES = ("negative_price", "unknown_product")
REPLACED_FILE = f"sales_{LAST_ACTUAL}_first.csv"  # the last day's first delivery, replaced by a correction


def _segment_of(customer: int, night: int) -> int:
    """A deterministic segment that moves some customers between nights."""
    return 1 + (customer + (night if customer % 5 == 0 else 0)) % len(SEGMENTS)


def add_everything(path: Path, *, drift_report: Path | None = None) -> Path:
    """Add what the other pages read: segments, the registry, backtests, accuracy, ingest accounting,
    quarantine and drift, in the declared shapes (`predictions.forecast_accuracy` as the dbt view's columns)."""
    import duckdb

    run = "scheduled__fixture"
    with duckdb.connect(str(path)) as connection:
        names = (
            "predictions.customer_segments",
            "predictions.segment_profiles",
            "predictions.backtest_metrics",
            "registry.model_versions",
            "registry.model_events",
            "monitoring.ingest_runs",
            "monitoring.quarantine",
            "monitoring.drift_summary",
            "monitoring.drift_metrics",
        )
        tables.ensure(connection, *(tables.table(name) for name in names))
        for night_index, night in enumerate(SEGMENT_NIGHTS):
            for customer_index, customer in enumerate(CUSTOMERS):
                segment = _segment_of(customer_index, night_index)
                connection.execute(
                    "insert into predictions.customer_segments values (?, ?, ?, ?, ?, null, 'v1', ?)",
                    [night, customer, segment, SEGMENTS[segment], 0.1 * (customer_index % 7), run],
                )
            counts = connection.execute(
                "select segment_id, count(*) from predictions.customer_segments where as_of_date = ? group by 1",
                [night],
            ).fetchall()
            for segment, customers in counts:
                for feature, mean in (("recency_days", 10.0 * segment), ("frequency", 8.0 / segment)):
                    connection.execute(
                        "insert into predictions.segment_profiles values "
                        "(?, 'v1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            night,
                            segment,
                            SEGMENTS[segment],
                            customers,
                            customers / len(CUSTOMERS),
                            1000.0 * customers / segment,
                            (4 - segment) / 6,
                            feature,
                            mean,
                            mean,
                            20.0,
                            20.0,
                            mean / 20.0,
                            run,
                        ],
                    )
        for series_id in SERIES:
            for candidate, model, role, mase, selected in (
                ("seasonal_naive", "seasonal_naive", "baseline", 1.0, False),
                ("prophet(additive)", "prophet", "candidate", 0.62, True),
                ("auto_ets", "auto_ets", "candidate", 0.71, False),
            ):
                for fold in range(2):
                    connection.execute(
                        "insert into predictions.backtest_metrics values "
                        "(?, ?, ?, ?, ?, ?, ?, 300, 28, ?, ?, 100.0, 0.0, 0.8, 0.95, ?, ?)",
                        [
                            AS_OF_DATES[0],
                            series_id,
                            candidate,
                            model,
                            role,
                            fold,
                            AS_OF_DATES[0],
                            mase + fold * 0.02,
                            10 * mase,
                            selected,
                            run,
                        ],
                    )
            connection.execute(
                "insert into registry.model_versions values ('forecast', ?, ?, ?, '2023-05-01', ?, 'prophet', "
                "'{}', 'fixture', '{\"mase\": 0.62}', 'champion', null, ?)",
                [series_id, AS_OF_DATES[0].isoformat(), AS_OF_DATES[0], AS_OF_DATES[0], run],
            )
        events = [
            ("total", "register", None, "challenger", "backtested"),
            ("total", "promote", "challenger", "champion", "beat the champion's MASE"),
            ("location=Germany", "register", None, "challenger", "backtested"),
            ("location=Germany", "reject", "challenger", "retired", "no better than the champion"),
            ("location=Germany", "rollback", "champion", "retired", "engineer rolled back"),
        ]
        for seq, (model_id, action, before, after, reason) in enumerate(events, start=1):
            connection.execute(
                "insert into registry.model_events (event_seq, model_kind, model_id, version, action, from_status, "
                "to_status, reason, logical_date, actor, run_id) values (?, 'forecast', ?, ?, ?, ?, ?, ?, ?, "
                "'pipeline', ?)",
                [
                    seq,
                    model_id,
                    AS_OF_DATES[0].isoformat(),
                    action,
                    before,
                    after,
                    reason,
                    AS_OF_DATES[0] + dt.timedelta(days=seq),
                    run,
                ],
            )
        for offset in range(14):
            day = LAST_ACTUAL - dt.timedelta(days=offset)
            quarantined = offset % 3
            connection.execute(
                "insert into monitoring.ingest_runs (business_date, source_file, file_sha256, status, rows_in, "
                "rows_loaded, rows_quarantined, revenue_in, revenue_loaded, revenue_quarantined, run_id) "
                "values (?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?, ?)",
                [
                    day,
                    f"sales_{day}.csv",
                    f"sha{offset}",
                    400 + quarantined,
                    400,
                    quarantined,
                    52_000.0 + 10 * quarantined,
                    52_000.0,
                    10.0 * quarantined,
                    run,
                ],
            )
            if (
                offset == 0
            ):  # the day's first delivery, replaced by the file above (`landing.corrections: replace`)
                connection.execute(
                    "insert into monitoring.ingest_runs (business_date, source_file, file_sha256, status, rows_in, "
                    "rows_loaded, rows_quarantined, rows_replaced, revenue_in, revenue_loaded, revenue_quarantined, "
                    "revenue_replaced, replaced_by, replaced_by_run_date, run_id) "
                    "values (?, ?, 'sha_replaced', 'replaced', 390, 0, 0, 390, 50700.0, 0, 0, 50700.0, ?, ?, ?)",
                    [day, REPLACED_FILE, f"{day}/sales_{day}.csv", day, run],
                )
            for row in range(quarantined):
                connection.execute(
                    "insert into monitoring.quarantine values (?, ?, ?, ?, ?, 'bad row', '{}', 10.0, ?)",
                    [day, f"sales_{day}.csv", f"sha{offset}", row + 1, QUARANTINE_RULES[row % 2], run],
                )
            connection.execute(
                "insert into monitoring.drift_summary values (?, ?, ?, ?, ?, 8, ?, ?, ?, ?, ?, ?)",
                [
                    day,
                    day - dt.timedelta(days=56),
                    day - dt.timedelta(days=28),
                    day - dt.timedelta(days=27),
                    day,
                    offset % 3,
                    ", ".join(("quantity", "unit_price")[: offset % 3]),
                    (offset % 3) / 8,
                    offset % 3 == 2,
                    str(drift_report) if drift_report and offset == 0 else None,
                    run,
                ],
            )
            for index in range(10):  # ten features; the last ones come nearest their threshold, 0.5
                statistic = 0.05 * (index + 1) * (1 + offset % 3) / 3
                connection.execute(
                    "insert into monitoring.drift_metrics (as_of_date, model_kind, model_version, scope, feature, "
                    "test, statistic, threshold, drifted, run_id) "
                    "values (?, 'forecast', 'v1', 'inputs', ?, 'wasserstein', ?, 0.5, ?, ?)",
                    [day, f"total:feature_{index}", statistic, statistic >= 0.5, run],
                )
        # the dbt view's columns, as a table: scored forecasts of the earlier version against the actuals
        connection.execute(
            """
            create view predictions.forecast_accuracy as
            select f.target_date as scored_on, f.series_id, f.as_of_date, f.target_date, f.horizon_step,
                s.revenue as actual, f.yhat, f.yhat - s.revenue as error, abs(f.yhat - s.revenue) as abs_error,
                abs(f.yhat - s.revenue) / nullif(abs(s.revenue), 0) as ape,
                s.revenue between f.yhat_lower_80 and f.yhat_upper_80 as within_80,
                s.revenue between f.yhat_lower_95 and f.yhat_upper_95 as within_95,
                n.revenue as naive_yhat, abs(n.revenue - s.revenue) as naive_abs_error,
                f.model, f.model_version, f.run_id, coalesce(f.yhat_statistical, f.yhat) as yhat_statistical,
                abs(coalesce(f.yhat_statistical, f.yhat) - s.revenue) as statistical_abs_error, f.override_id
            from predictions.forecasts f
            join marts.fct_daily_sales s on s.series_id = f.series_id and s.sales_date = f.target_date
            left join marts.fct_daily_sales n on n.series_id = f.series_id
                and n.sales_date = f.target_date - 7 * cast(ceil(f.horizon_step / 7.0) as integer)
            """
        )
        add_override(connection)
        add_customer_value(connection)
    return path


# customer value: version v1 scored the first segment night, v2 (trained on the second) the later two
VALUE_VERSIONS = {SEGMENT_NIGHTS[0]: "v1", SEGMENT_NIGHTS[1]: "v2", SEGMENT_NIGHTS[2]: "v2"}


def value_of(customer: int, night: int) -> tuple[float, float]:
    """A customer's (probability active, expected revenue) on the `night`-th segment night: every fifth customer's
    probability falls by 0.05 to 0.08 a night, the others' stays; the revenue follows the probability."""
    fall = 0.05 + 0.01 * (customer % 4) if customer % 5 == 0 else 0.0
    probability = 0.95 - 0.01 * (customer % 10) - fall * night
    return probability, probability * (50.0 + 10.0 * (customer % 13))


def add_customer_value(connection) -> None:
    """`predictions.customer_value` for every segment night and customer (`value_of`), and the calibration check of
    the two versions, on the nights they were trained."""
    tables.ensure(
        connection,
        tables.table("predictions.customer_value"),
        tables.table("predictions.customer_value_calibration"),
    )
    for night_index, (night, version) in enumerate(VALUE_VERSIONS.items()):
        for customer_index, customer in enumerate(CUSTOMERS):
            probability, revenue = value_of(customer_index, night_index)
            purchases = revenue / 40.0
            connection.execute(
                "insert into predictions.customer_value by name select ? as as_of_date, ? as customer_id, "
                "90 as horizon_days, ? as probability_active, ? as expected_purchases, ? as purchases_lower_80, "
                "? as purchases_upper_80, ? as expected_revenue, ? as revenue_lower_80, ? as revenue_upper_80, "
                "'bg_nbd+gamma_gamma' as model, ? as model_version, 'scheduled__fixture' as run_id",
                [night, customer, probability, purchases, 0.5 * purchases, 1.5 * purchases]
                + [revenue, 0.5 * revenue, 1.5 * revenue, version],
            )
    for version, status in (("v1", "retired"), ("v2", "champion")):
        connection.execute(
            "insert into registry.model_versions by name select 'customer_value' as model_kind, 'customers' as "
            "model_id, ? as version, ? as trained_for_date, 'bg_nbd+gamma_gamma' as model_name, ? as status, "
            "'scheduled__fixture' as run_id",
            [version, min(night for night, v in VALUE_VERSIONS.items() if v == version), status],
        )
    for night, version in list(VALUE_VERSIONS.items())[:2]:
        for purchases in range(7):  # the last bucket: 6 or more
            predicted = 0.3 + 0.45 * purchases
            connection.execute(
                "insert into predictions.customer_value_calibration values (?, ?, ?, ?, ?, ?, 'scheduled__fixture')",
                [
                    night,
                    version,
                    purchases,
                    400 // (purchases + 1),
                    predicted,
                    predicted * (1.1 - 0.04 * purchases),
                ],
            )


OVERRIDE = {
    "override_id": "ov-0123456789ab",
    "series_id": "total",
    "start_date": dt.date(2024, 6, 24),
    "end_date": dt.date(2024, 6, 26),
    "kind": "percent",
    "amount": 8.0,
    "reason": "summer promotion",
    "author": "ana@example.com",
}


def add_override(connection) -> None:
    """A planner's +8% on `total` for 24-26 Jun, applied by the 16 Jun night and scored (the days have actuals),
    with its audit row and the dbt view `forecast_value_added` over them."""
    tables.ensure(connection, tables.table("planning.overrides"))
    connection.execute("update predictions.forecasts set yhat_statistical = yhat")
    connection.execute(
        """
        update predictions.forecasts
        set yhat = yhat * 1.08, yhat_lower_80 = yhat_lower_80 * 1.08, yhat_upper_80 = yhat_upper_80 * 1.08,
            yhat_lower_95 = yhat_lower_95 * 1.08, yhat_upper_95 = yhat_upper_95 * 1.08, override_id = ?
        where series_id = ? and as_of_date = ? and target_date between ? and ?
        """,
        [OVERRIDE["override_id"], "total", AS_OF_DATES[0], OVERRIDE["start_date"], OVERRIDE["end_date"]],
    )
    connection.execute(
        "insert into planning.overrides by name select ? as override_id, ? as series_id, ? as start_date, "
        "? as end_date, ? as kind, ? as amount, ? as reason, ? as author, timestamp '2024-06-15 09:00' as "
        "created_at, 'active' as status",
        list(OVERRIDE.values()),
    )
    connection.execute(
        """
        create view predictions.forecast_value_added as
        select o.override_id, o.series_id, o.author, o.reason, o.kind, o.amount, o.status,
            count(*) as scored_periods, sum(a.actual) as actual, sum(a.abs_error) as final_abs_error,
            sum(a.statistical_abs_error) as statistical_abs_error,
            sum(a.statistical_abs_error) - sum(a.abs_error) as value_added,
            sum(a.abs_error) / sum(abs(a.actual)) as final_wape,
            sum(a.statistical_abs_error) / sum(abs(a.actual)) as statistical_wape
        from planning.overrides o join predictions.forecast_accuracy a using (override_id)
        group by all
        """
    )


def write_override_log(home: Path) -> None:
    """The planners' log the Review page reads, holding the fixture's override."""
    import json

    record = {"event": "add", **OVERRIDE, "created_at": "2024-06-15T09:00:00"}
    record |= {"start_date": OVERRIDE["start_date"].isoformat(), "end_date": OVERRIDE["end_date"].isoformat()}
    path = home / "overrides" / "synthetic.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record) + "\n")


@pytest.fixture(scope="session")
def full_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAYBREAK_HOME whose serving file has every table the pages read, a drift report and dbt results."""
    import json

    home = tmp_path_factory.mktemp("daybreak_full_home")
    report = home / "reports" / "synthetic" / "drift" / f"{LAST_ACTUAL}.html"
    report.parent.mkdir(parents=True)
    report.write_text(
        "<html><body><h2>Evidently data drift report</h2><p>2 of 8 columns drifted.</p></body></html>"
    )
    add_everything(
        add_components(build_serving_file(home / "serving" / "synthetic.duckdb")), drift_report=report
    )
    target = home / "dbt" / "synthetic" / "target"
    target.mkdir(parents=True)
    results = [
        {
            "unique_id": f"test.daybreak.not_null_fct_daily_sales_{n}",
            "status": "pass",
            "execution_time": 0.1,
            "message": None,
        }
        for n in range(6)
    ] + [
        {
            "unique_id": "test.daybreak.unique_forecasts",
            "status": "warn",
            "execution_time": 0.2,
            "message": "Got 1 result, configured to warn if != 0",
        },
        {
            "unique_id": "model.daybreak.fct_daily_sales",
            "status": "success",
            "execution_time": 1.0,
            "message": "OK",
        },
    ]
    (target / "run_results.json").write_text(json.dumps({"results": results}))
    write_override_log(home)
    return home


# a location whose name quotes and apostrophises, overridden on the newest night: the total then moves with it
QUOTED_LOCATION = 'location=Dunn\'s "Corner"'
LOCATION_OVERRIDE = OVERRIDE | {
    "override_id": "ov-fedcba987654",
    "series_id": QUOTED_LOCATION,
    "start_date": dt.date(2024, 7, 2),
    "end_date": dt.date(2024, 7, 4),
    "kind": "value",
    "amount": 100.0,
    "reason": '=HYPERLINK("http://example.com", "closing sale")',
    "author": "pat",
}


def add_location_override(path: Path, home: Path) -> Path:
    """A location (a copy of Germany's sales and forecasts) named with an apostrophe and quotes, overridden to
    100 a day for 2-4 Jul by the newest night, and the total re-summed on those days as the night does
    (`daybreak.nights.forecast_outputs.apply_overrides`); the override is in the planners' log and the audit."""
    import json

    import duckdb

    override = LOCATION_OVERRIDE
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "insert into marts.fct_daily_sales select * replace (?::varchar as series_id, ? as location) "
            "from marts.fct_daily_sales where series_id = 'location=Germany'",
            [QUOTED_LOCATION, QUOTED_LOCATION.partition("=")[2]],
        )
        connection.execute(
            "insert into predictions.forecasts select * replace (?::varchar as series_id) "
            "from predictions.forecasts where series_id = 'location=Germany'",
            [QUOTED_LOCATION],
        )
        connection.execute(
            "insert into predictions.forecast_components select * replace (?::varchar as series_id) "
            "from predictions.forecast_components where series_id = 'location=Germany'",
            [QUOTED_LOCATION],
        )
        window = [LAST_ACTUAL, override["start_date"], override["end_date"]]
        shift = connection.execute(
            "select target_date, ? - yhat from predictions.forecasts "
            "where series_id = ? and as_of_date = ? and target_date between ? and ?",
            [override["amount"], QUOTED_LOCATION, *window],
        ).fetchall()
        bounds = ("yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")
        connection.execute(
            "update predictions.forecasts set "
            + "".join(f"{bound} = greatest({bound} + $amount - yhat, 0), " for bound in bounds)
            + "yhat = $amount, override_id = $id "
            "where series_id = $series and as_of_date = $night and target_date between $first and $last",
            dict(zip(("night", "first", "last"), window, strict=True))
            | {"amount": override["amount"], "id": override["override_id"], "series": QUOTED_LOCATION},
        )
        for day, change in shift:
            connection.execute(
                "update predictions.forecasts set yhat = yhat + ?, yhat_lower_80 = yhat_lower_80 + ?, "
                "yhat_upper_80 = yhat_upper_80 + ?, yhat_lower_95 = yhat_lower_95 + ?, "
                "yhat_upper_95 = yhat_upper_95 + ? "
                "where series_id = 'total' and as_of_date = ? and target_date = ?",
                [change] * 5 + [LAST_ACTUAL, day],
            )
        connection.execute(
            "insert into planning.overrides by name select ? as override_id, ? as series_id, ? as start_date, "
            "? as end_date, ? as kind, ? as amount, ? as reason, ? as author, timestamp '2024-06-30 09:00' as "
            "created_at, 'active' as status",
            [override[key] for key in OVERRIDE],
        )
    record = {"event": "add", **override, "created_at": "2024-06-30T09:00:00"}
    record |= {"start_date": override["start_date"].isoformat(), "end_date": override["end_date"].isoformat()}
    with (home / "overrides" / "synthetic.jsonl").open("a") as log:
        log.write(json.dumps(record) + "\n")
    return path


@pytest.fixture(scope="session")
def override_home(full_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full home, plus a quoted location overridden by the newest night (`add_location_override`)."""
    import shutil

    home = tmp_path_factory.mktemp("daybreak_override_home") / "home"
    shutil.copytree(full_home, home)
    add_location_override(home / "serving" / "synthetic.duckdb", home)
    return home
