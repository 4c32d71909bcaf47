"""The README's walk ("Your first hour"), as a newcomer does it, in Chromium: sign in to Airflow with the admin
password the demo's Airflow generated, backfill the two last nights from the DAG's Trigger dialog with its
defaults, open every dashboard page, record an override on Review with a reason (listed pending), revoke it
(listed revoked without a reload). Any console error, on any page, fails it.

The servers are started as the demo starts them (`daybreak.platform.serving`), on ports the system has free, each
in its own process group, stopped in a `finally`. The shop is small and its data ended long ago, so unpausing the DAG
schedules no night of its own: the backfill's two are the only runs. With `DAYBREAK_SCREENSHOTS` set (as for the
other browser tests), the pictures of the walk's own steps go there too (the Airflow runs, the override pending
and revoked): `DAYBREAK_SCREENSHOTS=docs/screenshots` refreshes those docs/dashboards.md shows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from daybreak.core import roles
from daybreak.core.settings import Settings
from daybreak.platform.airflow_api import AirflowApi, business_date_of
from daybreak.platform.airflow_env import DAG_ID, airflow_environment, prepare_metadata
from daybreak.platform.serving import (
    airflow_url,
    start_airflow,
    start_streamlit,
    stop,
    wait_for,
    wait_for_password,
)
from tests.apps.test_pages_browser import (
    PAGES,
    SCREENSHOTS,
    assert_drawn,
    assert_healthy,
    visit,
    watch_console,
)
from tests.conftest import free_port
from tests.integration.airflow_ui import backfill_from_dialog, log_in

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=3)]

END = dt.date(2024, 3, 31)  # the last export
START = END - dt.timedelta(days=59)
NIGHTS = (END - dt.timedelta(days=1), END)  # the walk's backfill: the two last nights
GRID_CELLS = '[data-testid="stDataFrame"] [role="gridcell"]'


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Settings:
    """A small synthetic shop, its history loaded up to the night before the walk's two; the local user an admin,
    as `make demo` makes them."""
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs.pipeline import load_history

    settings = Settings(home=tmp_path_factory.mktemp("walk") / "home")
    simulate_synthetic(
        settings.landing_dir, start=START, end=END, seed=11, customers=80, products=20, locations=2
    )
    load_history(NIGHTS[0] - dt.timedelta(days=1), settings)
    roles.grant_single_user(settings)
    return settings


@pytest.fixture(scope="module")
def servers(shop: Settings):
    """Airflow (its components, as `start_airflow` starts them for the demo) and the dashboards, as the demo serves them, on free ports: the Airflow URL,
    its admin password and the dashboards' URL."""
    # the session's Airflow settings (tests/conftest.py) name another home and port: start from none of them
    base = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    base["AIRFLOW__API__PORT"] = str(free_port())
    env = airflow_environment(shop, base)
    prepare_metadata(env)
    processes = [start_airflow(shop, env)]
    try:
        password = wait_for_password(shop, processes[0], seconds=300)
        streamlit_port = free_port()
        processes.append(start_streamlit(shop, env, port=streamlit_port))
        dashboards = f"http://127.0.0.1:{streamlit_port}"
        assert wait_for(f"{dashboards}/_stcore/health", 120), (shop.home / "logs/streamlit.log").read_text()
        yield airflow_url(env), password, dashboards
    finally:
        for process in processes:
            stop([process])


def keep(page, name: str, folder: Path) -> None:
    """A full-page picture in the test's folder, and in `DAYBREAK_SCREENSHOTS` when set."""
    page.wait_for_timeout(600)  # the charts finish their resize
    for target in filter(None, (folder, SCREENSHOTS)):
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


def review_statuses(page) -> dict[str, str]:
    """The Overrides table's rows as override id -> status, read from the grid's (hidden) accessibility cells."""
    page.locator(GRID_CELLS).first.wait_for(
        state="attached"
    )  # the grid draws on a canvas; these are its a11y cells
    cells = [(cell.text_content() or "").strip() for cell in page.locator(GRID_CELLS).all()]
    ids = [index for index, text in enumerate(cells) if re.fullmatch(r"ov-[0-9a-f]{12}", text)]
    return {
        cells[index]: next(c for c in cells[index:] if c in ("pending", "applied", "revoked"))
        for index in ids
    }


def test_the_readme_walk_from_login_to_a_revoked_override(shop, servers, page, tmp_path):
    airflow, password, dashboards = servers
    api = AirflowApi.login(airflow, "admin", password)
    api.wait_for_dag(DAG_ID)

    # 1-2: sign in, backfill the two last nights from the Trigger dialog, every other default kept
    log_in(page, airflow, password)
    # watched from here: before signing in, Airflow's UI asks for its config and is answered 401, its way of
    # finding that nobody is signed in
    problems = watch_console(page)
    backfill_from_dialog(page, airflow, DAG_ID, *NIGHTS, screenshot=None)
    backfills = api.request("GET", f"/api/v2/backfills?dag_id={DAG_ID}&limit=100")["backfills"]
    assert len(backfills) == 1, backfills
    runs = api.wait_for_backfill(backfills[0], seconds=2400)
    assert sorted((business_date_of(run), run["state"]) for run in runs) == [
        (night, "success") for night in NIGHTS
    ], runs
    page.goto(f"{airflow}/dags/{DAG_ID}/runs")
    page.get_by_text("Success", exact=True).first.wait_for(timeout=60_000)
    keep(page, "airflow-runs", tmp_path)
    # Airflow on SQLite answers 503 "database is locked" while its scheduler holds the database, and its UI asks
    # again (the backfill above was created): that, and only that, is Airflow's and not an error of the walk
    locked = [
        problem
        for problem in problems
        if f"status of 503 (Service Unavailable) ({airflow}/api/v2/" in problem
    ]
    assert [problem for problem in problems if problem not in locked] == [], "\n".join(problems)
    problems.clear()

    # 3: every page of the dashboards
    for path, (title, _) in PAGES.items():
        visit(page, dashboards, path)
        assert_healthy(page, title, 0 if path == "review" else 1)  # no override yet: Review draws no chart
        page.wait_for_timeout(600)  # Vega warns while it lays out, after the svg is in the page
        assert not problems, f"/{path}: {problems}"
        assert_drawn(page, path)
        # here only: docs/screenshots' pages are the fuller fixture's (tests/apps/test_pages_browser.py)
        page.screenshot(path=str(tmp_path / f"{path or 'root'}.png"), full_page=True)

    # 4: an override with a reason, listed pending (no night has applied it)
    visit(page, dashboards, "review")
    page.get_by_label("Reason").fill("spring promotion")
    page.get_by_role("button", name="Record override").click()
    recorded = page.get_by_text(re.compile(r"Recorded ov-[0-9a-f]{12}")).first
    recorded.wait_for()
    override_id = re.search(r"ov-[0-9a-f]{12}", recorded.inner_text()).group(0)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    assert review_statuses(page) == {override_id: "pending"}
    keep(page, "review-pending", tmp_path)

    # 5: revoke it; the table says revoked in the same page, no reload
    page.get_by_label("Why").fill("promotion cancelled")
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text(f"Revoked {override_id}").first.wait_for()
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    assert review_statuses(page) == {override_id: "revoked"}
    keep(page, "review-revoked", tmp_path)
    assert not problems, "\n".join(problems)
