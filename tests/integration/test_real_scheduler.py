"""Daybreak on Airflow's real scheduler: scheduler, dag-processor and api-server as separate processes, on SQLite
and on PostgreSQL (started here with initdb/pg_ctl as an unprivileged user), a 3-night backfill created through
the REST API while the scheduler runs tonight's scheduled night, and a warehouse equal, table by table, to four
sequential `daybreak night` runs.

The shop's data ends yesterday (by the wall clock: the scheduler decides what "tonight" is from it), so unpausing
the DAG makes the scheduler start a scheduled run for yesterday's business day beside the backfill of the three
days before it (Airflow limits a backfill's runs and the other runs separately). That night's first task waits
for the run before it, so the nights still run in order. On PostgreSQL, a second backfill overlapping the first is
refused while the first runs (Airflow allows one running backfill per DAG, so overlapping backfills cannot
double-write); started again once the first is done, it reruns its three nights, and the warehouse is unchanged.
A run of this test that spans midnight UTC would see the scheduler start the next night too, whose export never
lands: it would fail; the test takes about five minutes.

One small synthetic shop and its history load are shared: each case copies the loaded data home. The backfill
runs nights one after another (its max_active_runs is 1) and every writing task takes the one-slot writer pool,
so no task ever waits on DuckDB's file lock: the task logs have no lock error and no task needed a second try.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from daybreak.core.settings import Settings
from daybreak.platform.airflow_api import AirflowApi, AirflowApiError
from daybreak.platform.airflow_env import DAG_ID, airflow_environment
from daybreak.platform.serving import stop
from tests.conftest import free_port, require

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=5)]

END = dt.datetime.now(dt.UTC).date() - dt.timedelta(
    days=1
)  # the scheduler's "tonight" is yesterday's business day
START = END - dt.timedelta(days=59)
SCHEDULED_NIGHT = END
NIGHTS = [END - dt.timedelta(days=offset) for offset in range(3, 0, -1)]  # the backfill's
PG_USER = "daybreak-pg"
BACKENDS = ("sqlite", "postgres")
LOCK_ERRORS = ("Could not set lock on file", "Conflicting lock is held")
# lineage that names the run or the wall clock, and absolute paths, which lie under each copy's own data home
IGNORED = ("run_id", "ingested_at", "source_path", "artifact_path", "report_path", "path")


def checksums(path: Path) -> dict:
    from daybreak.warehouse.connection import connect, table_checksums

    with connect(path, read_only=True) as connection:  # the raw view reads the lake relative to the data home
        return table_checksums(connection, ignore_columns=IGNORED)


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory) -> Path:
    """A small synthetic shop, its history loaded up to the night before the three."""
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs.pipeline import load_history

    home = tmp_path_factory.mktemp("scheduler") / "loaded"
    settings = Settings(home=home)
    simulate_synthetic(
        settings.landing_dir, start=START, end=END, seed=11, customers=80, products=20, locations=2
    )
    load_history(NIGHTS[0] - dt.timedelta(days=1), settings)
    return home


def copy_home(loaded_home: Path, name: str) -> Settings:
    home = loaded_home.parent / name
    shutil.copytree(loaded_home, home)
    return Settings(home=home)


def sequential_nights(loaded_home: Path) -> dict:
    """Table checksums after the four sequential `daybreak night` runs."""
    from jobs.pipeline import run_night

    settings = copy_home(loaded_home, "sequential")
    for day in [*NIGHTS, SCHEDULED_NIGHT]:
        run_night(day, settings=settings)
    return checksums(settings.warehouse_path)


def postgres_url(workdir: Path) -> str:
    """Start a PostgreSQL server as an unprivileged user (its binaries refuse root); return its URL."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    require(bool(binaries), "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql")
    bin_dir = binaries[-1].parent
    if subprocess.run(["id", PG_USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_USER], check=True)
    workdir.parent.chmod(0o755)  # mkdtemp's 0700 would keep the server's user out
    workdir.mkdir(mode=0o700)
    shutil.chown(workdir, PG_USER)
    port = free_port()

    def as_pg(*command: str) -> None:
        result = subprocess.run(["runuser", "-u", PG_USER, "--", *command], capture_output=True, text=True)
        assert result.returncode == 0, f"{command[0]} failed: {result.stdout}{result.stderr}"

    as_pg(
        str(bin_dir / "initdb"),
        "-D",
        str(workdir / "data"),
        "--auth=trust",
        "--username=airflow",
        "-E",
        "UTF8",
    )
    as_pg(
        str(bin_dir / "pg_ctl"), "-D", str(workdir / "data"), "-l", str(workdir / "server.log"), "-w",
        "-o", f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1", "start",
    )  # fmt: skip
    as_pg(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "airflow", "airflow")
    return f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"


def stop_postgres(workdir: Path) -> None:
    bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1].parent
    subprocess.run(
        [
            "runuser",
            "-u",
            PG_USER,
            "--",
            str(bin_dir / "pg_ctl"),
            "-D",
            str(workdir / "data"),
            "-m",
            "fast",
            "stop",
        ],
        check=False,
        capture_output=True,
    )


def start_airflow(settings: Settings, metadata_url: str | None):
    """The deployment's commands outside Docker: `daybreak airflow-init` (secrets checked, metadata migrated, pool
    and admin created), then scheduler, dag-processor and api-server as three processes; a logged-in API."""
    from cryptography.fernet import Fernet

    port = free_port()
    base = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    base["AIRFLOW__API__PORT"] = str(port)
    env = airflow_environment(settings, base=base)
    password = secrets.token_urlsafe(12)
    secrets_dir = settings.home / "secrets"
    env |= {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url
        or f"sqlite:///{settings.airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(secrets_dir / "airflow-passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(24),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_ADMIN_PASSWORD": password,
        "DASHBOARD_PASSWORD": secrets.token_urlsafe(12),
        "DASHBOARD_HTPASSWD_FILE": str(secrets_dir / "dashboards.htpasswd"),
        "DAYBREAK_PROXY_SECRET": secrets.token_urlsafe(32),
        "DASHBOARD_PROXY_FILE": str(secrets_dir / "dashboards-proxy.conf"),
    }
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    daybreak = str(Path(sys.executable).with_name("daybreak"))
    init = subprocess.run([daybreak, "airflow-init"], env=env, capture_output=True, text=True)
    assert init.returncode == 0, f"daybreak airflow-init failed:\n{init.stdout[-3000:]}{init.stderr[-3000:]}"
    assert {oct(path.stat().st_mode & 0o777) for path in secrets_dir.iterdir()} == {"0o600"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes = [
        subprocess.Popen(
            [airflow, *command],
            env=env,
            stdout=(logs / f"{command[0]}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for command in (["scheduler"], ["dag-processor"], ["api-server", "--port", str(port)])
    ]
    return processes, f"http://127.0.0.1:{port}", password


def lock_errors(settings: Settings) -> list[str]:
    found = []
    for path in (settings.airflow_home / "logs").rglob("*.log"):
        text = path.read_text(errors="replace")
        found += [f"{path}: {error}" for error in LOCK_ERRORS if error in text]
    return found


def backfill_on_the_real_scheduler(backend: str, loaded_home: Path) -> Path:
    """The backfill (and, on PostgreSQL, the overlaps) on a copy of the loaded home; returns its warehouse."""
    settings = copy_home(loaded_home, f"airflow-{backend}")
    pg_dir = Path(tempfile.mkdtemp(prefix="daybreak-pg-")) / "pg" if backend == "postgres" else None
    overlapping = backend == "postgres"
    processes = []
    try:
        url = postgres_url(pg_dir) if pg_dir else None
        processes, base_url, password = start_airflow(settings, url)
        api = AirflowApi.login(base_url, "admin", password)
        api.wait_for_dag(DAG_ID)
        # the backfill's runs exist (queued: the DAG is paused) before the scheduled night can look for the one
        # before it
        backfill = api.backfill(DAG_ID, NIGHTS[0], NIGHTS[-1])
        api.unpause(DAG_ID)
        scheduled = wait_for_scheduled_run(api)
        assert scheduled["data_interval_start"][:10] == SCHEDULED_NIGHT.isoformat()
        if overlapping:
            with pytest.raises(AirflowApiError, match="HTTP 409.*already a running backfill"):
                api.backfill(DAG_ID, NIGHTS[-2], SCHEDULED_NIGHT, reprocess="completed")
        runs = api.wait_for_backfill(backfill, seconds=1800)
        assert sorted((run["logical_date"][:10], run["state"]) for run in runs) == [
            (day.isoformat(), "success") for day in NIGHTS
        ]
        assert api.wait_for_run(DAG_ID, scheduled["dag_run_id"], seconds=900)["state"] == "success"
        # the schedule ends with the landed data: the scheduler started nothing else
        assert {run["run_type"] for run in api.dag_runs(DAG_ID)} == {"backfill", "scheduled"}
        assert attempts(settings) == {1}
        if overlapping:
            # reprocessing clears the existing runs (the scheduled one becomes the backfill's): each task's second
            # attempt, and no third
            again = api.backfill(DAG_ID, NIGHTS[-2], SCHEDULED_NIGHT, reprocess="completed")
            reruns = api.wait_for_backfill(again, seconds=900)
            assert sorted((run["logical_date"][:10], run["state"]) for run in reruns) == [
                (day.isoformat(), "success") for day in (*NIGHTS[-2:], SCHEDULED_NIGHT)
            ]
            assert attempts(settings) == {1, 2}
        assert lock_errors(settings) == []
    finally:
        for process in processes:
            stop([process])
        if pg_dir:
            stop_postgres(pg_dir)
            shutil.rmtree(pg_dir.parent, ignore_errors=True)
    return settings.warehouse_path


def attempts(settings: Settings) -> set[int]:
    """The attempt numbers of every task log: a task that needed a retry has a log for attempt 2."""
    logs = (settings.airflow_home / "logs").rglob("attempt=*.log")
    return {int(path.name.removeprefix("attempt=").removesuffix(".log")) for path in logs}


def wait_for_scheduled_run(api: AirflowApi, seconds: float = 300) -> dict:
    """The scheduled run the scheduler creates once the DAG is unpaused."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        scheduled = [run for run in api.dag_runs(DAG_ID) if run["run_type"] == "scheduled"]
        if scheduled:
            return scheduled[0]
        time.sleep(2)
    raise AssertionError(f"the scheduler started no scheduled run in {seconds:.0f} s")


def test_rest_backfills_on_the_real_scheduler_equal_sequential_nights(loaded_home):
    """Both deployments and the sequential reference run side by side, on their own copies of the loaded home:
    most of a night on the scheduler is waiting (process starts, scheduler loops, polls), so the three share the
    cores well and the test takes little more than its longest part."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        sequential = pool.submit(sequential_nights, loaded_home)
        backfills = {
            backend: pool.submit(backfill_on_the_real_scheduler, backend, loaded_home) for backend in BACKENDS
        }
        expected = sequential.result()
        warehouses = {backend: future.result() for backend, future in backfills.items()}
    assert checksums(warehouses["sqlite"]) == expected
    assert checksums(warehouses["postgres"]) == expected
