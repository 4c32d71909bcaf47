"""The demo's Airflow listens on 127.0.0.1 only, as the README says: its components as `daybreak demo` starts them
(`daybreak.platform.serving.start_airflow`), every listening socket of their process group checked while they run,
then stopped, the whole group gone."""

from __future__ import annotations

import os
import shutil
import time

import psutil
import pytest

from daybreak.core.settings import Settings
from daybreak.platform.airflow_env import airflow_environment
from daybreak.platform.serving import airflow_url, start_airflow, stop, wait_for, wait_for_password
from tests.conftest import free_port

pytestmark = pytest.mark.integration

LOOPBACK = {"127.0.0.1", "::1"}


def listeners(group: int) -> dict[str, set[str]]:
    """Every listening TCP address of the processes in `group`, by process name."""
    found: dict[str, set[str]] = {}
    for process in psutil.process_iter(["name"]):
        try:
            if os.getpgid(process.pid) != group:
                continue
            for connection in process.net_connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN:
                    found.setdefault(" ".join(process.cmdline()[1:3]), set()).add(
                        f"{connection.laddr.ip}:{connection.laddr.port}"
                    )
        except (ProcessLookupError, psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_the_demos_airflow_listens_on_localhost_only(tmp_path, airflow_db):
    settings = Settings(home=tmp_path / "home")
    settings.airflow_home.mkdir(parents=True)
    shutil.copyfile(airflow_db / "airflow.db", settings.airflow_home / "airflow.db")  # migrated already
    base = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    ports = {
        "AIRFLOW__API__PORT": str(free_port()),
        # free ports for the log servers, so that one would be seen here were it started (8793 may be taken)
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }
    # two task slots rather than 32 idle worker processes: this test runs no task
    env = airflow_environment(settings, base=base | ports | {"AIRFLOW__CORE__PARALLELISM": "2"})
    airflow = start_airflow(settings, env)
    try:
        wait_for_password(settings, airflow)
        assert wait_for(f"{airflow_url(env)}/api/v2/monitor/health", 240), "the api-server never answered"
        seen: dict[str, set[str]] = {}
        deadline = (
            time.monotonic() + 15
        )  # the log servers start with their components: they would be up by now
        while time.monotonic() < deadline:
            for name, addresses in listeners(airflow.pid).items():
                seen.setdefault(name, set()).update(addresses)
            time.sleep(1)
    finally:
        stop([airflow])
    assert any(f"127.0.0.1:{env['AIRFLOW__API__PORT']}" in a for a in seen.values()), seen
    exposed = {name: a for name, a in seen.items() if {address.rsplit(":", 1)[0] for address in a} - LOOPBACK}
    assert exposed == {}
    with pytest.raises(ProcessLookupError):
        os.killpg(airflow.pid, 0)
