"""The Airflow UI, served by a real `airflow api-server`, lists the nightly DAG and its successful runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from daybreak.platform.serving import stop
from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=2)]


@pytest.fixture
def airflow_ui(nightly_prepared, tmp_path):
    port = free_port()
    # the metadata database that recorded the synthetic nights (built on whichever worker ran them), a copy
    metadata = tmp_path / "airflow.db"
    shutil.copyfile(nightly_prepared / "airflow.db", metadata)
    env = {
        **os.environ,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{metadata}",
        "AIRFLOW__API__PORT": str(port),
        # this test looks at the pages, not at logging in: every visitor is admin here only
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
    }
    log_path = tmp_path / "api-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "api-server", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop([process])
                pytest.fail(f"airflow api-server did not come up:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
    yield url
    stop([process])


def test_ui_lists_the_nightly_dag_with_its_successful_runs(airflow_ui, page, tmp_path):
    page.goto(f"{airflow_ui}/dags/daybreak_nightly/runs")
    page.get_by_text("daybreak_nightly").first.wait_for(timeout=60_000)
    successes = page.get_by_text("Success", exact=True)
    successes.first.wait_for(timeout=60_000)
    assert successes.count() >= 3
    assert page.get_by_text("Manual").count() >= 3
    page.screenshot(path=str(tmp_path / "airflow_runs.png"))
