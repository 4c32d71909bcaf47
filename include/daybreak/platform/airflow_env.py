"""The environment Airflow runs in for Daybreak: its home under the data home, this repo's DAGs, no examples.

One function, used by the demo, the tests and the docs' commands, so that the Airflow that runs the DAGs, the
one the UI shows and the one a test drives are configured the same way. Airflow keeps its metadata in SQLite under
`DAYBREAK_HOME/airflow` by default; point `AIRFLOW__DATABASE__SQL_ALCHEMY_CONN` at PostgreSQL for production.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from daybreak.core.settings import PROJECT_ROOT, Settings, get_settings

SCHEDULER_IDLE_SLEEP_SECONDS = "0.25"
"""How long Airflow's scheduler sleeps after a loop that found nothing to do (Airflow's default: 1 s). A night is a
chain of ten short tasks, and each waits for a loop to notice its predecessor's end: at the default, those waits
were 7.0 s of a 3-night backfill's 18.8 s night, at 0.25 s 2.3 s of 14.4 s (`python -m bench night_parts
--nights 3 --scheduler-nights 3`, docs/benchmarks.md); an idle scheduler's loop is a few queries of its
metadata database."""


def airflow_environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for any `airflow` command or in-process Airflow that runs Daybreak's DAGs."""
    env = dict(os.environ if base is None else base)
    home = settings.airflow_home
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": env.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": env.get(
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin"
            ),
            "AIRFLOW__API__PORT": env.get("AIRFLOW__API__PORT", "8080"),
            # localhost only unless told otherwise (the demo's UI is not for the network)
            "AIRFLOW__API__HOST": env.get("AIRFLOW__API__HOST", "127.0.0.1"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            # Airflow's components start other commands by name: find them in this environment first
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": env.get(
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                f"http://127.0.0.1:{env.get('AIRFLOW__API__PORT', '8080')}/execution/",
            ),
            # each task process starts with its imports done: forked from a server that preloaded them
            "AIRFLOW__SCHEDULER__MP_START_METHOD": env.get(
                "AIRFLOW__SCHEDULER__MP_START_METHOD", "forkserver"
            ),
            "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": env.get(
                "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD", "daybreak.platform.task_imports"
            ),
            # a night's next task starts within a quarter second of the last one's end, not up to a second
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": env.get(
                "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME", SCHEDULER_IDLE_SLEEP_SECONDS
            ),
            "DAYBREAK_HOME": str(settings.home),
            "DAYBREAK_DATASET": settings.dataset,
            "DAYBREAK_ENGINE": settings.engine,
        }
    )
    return env


DAG_ID = "daybreak_nightly"
WRITER_POOL = "daybreak_warehouse"
"""The Airflow pool of one slot every warehouse-writing task takes: DuckDB has one writer at a time, so runs queue
in Airflow (visible in the UI) instead of waiting on the file lock inside a task."""


def airflow_bin() -> str:
    """The `airflow` command of this environment."""
    return str(Path(sys.executable).with_name("airflow"))


def logical_date_for(business_date: dt.date) -> str:
    """The logical date of a manual run that processes `business_date` (its data interval starts on that day)."""
    return (business_date + dt.timedelta(days=1)).isoformat()


def prepare_metadata(env: dict[str, str]) -> None:
    """Migrate Airflow's metadata database and create the writer pool: what every command that runs DAGs needs
    first on a new data home (idempotent, a second call changes nothing)."""
    subprocess.run([airflow_bin(), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [airflow_bin(), "pools", "set", WRITER_POOL, "1", "Daybreak: one warehouse writer at a time"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def generated_password(settings: Settings, user: str = "admin") -> str | None:
    """The password the api-server generated for `user` on its first start (the simple auth manager's), its file
    made readable by its owner only."""
    path = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    if not path.exists():
        return None
    path.chmod(0o600)
    return json.loads(path.read_text()).get(user)


def main() -> None:
    """Print `export` lines, so a shell can run `airflow` as Daybreak does:
    `source <(.venv/bin/python -m daybreak.platform.airflow_env)`."""

    for key, value in sorted(airflow_environment(get_settings(), base={}).items()):
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
