"""Drive the Airflow UI as a user would: log in with the simple auth manager, start a backfill from the DAG's
Trigger dialog with its defaults (only the date range filled in), take the screenshots docs/ shows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def log_in(page, base_url: str, password: str, user: str = "admin") -> None:
    page.goto(f"{base_url}/")
    page.locator("input[name=username]").press_sequentially(user)
    page.locator("input[name=password]").press_sequentially(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)


def _pick(page, dialog, index: int, day: dt.date) -> None:
    dialog.get_by_test_id("datetime-input").nth(index).click()
    popover = page.locator("[data-scope=popover][data-part=content][data-state=open]").last
    popover.get_by_placeholder("YYYY/MM/DD").fill(day.strftime("%Y/%m/%d"))
    popover.get_by_placeholder("HH:mm").fill("00:00")
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)


def backfill_from_dialog(
    page, base_url: str, dag_id: str, first: dt.date, last: dt.date, screenshot: Path | None = None
) -> None:
    """Open Trigger -> Backfill, fill From and To, keep every other default, and run it."""
    page.goto(f"{base_url}/dags/{dag_id}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.locator("[role=dialog][aria-modal=true]")
    dialog.get_by_text("Backfill", exact=True).first.click()
    _pick(page, dialog, 0, first)
    _pick(page, dialog, 1, last)
    dialog.get_by_text("Missing Runs").wait_for()
    page.wait_for_timeout(1500)  # the dialog previews the runs it will create
    if screenshot:
        page.screenshot(path=str(screenshot))
    dialog.get_by_role("button", name="Run Backfill").click()
    dialog.wait_for(state="hidden", timeout=30_000)


def screenshot_runs(page, base_url: str, dag_id: str, path: Path) -> None:
    page.goto(f"{base_url}/dags/{dag_id}/runs")
    page.get_by_text("Success", exact=True).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path))


def main() -> int:
    """After `make demo` (serving): back-fill the two nights before the demo's seven through the UI dialog, wait
    for them through the REST API, and save the screenshots docs/ shows.

    `python -m tests.integration.airflow_ui` with the demo's environment (DAYBREAK_HOME, AIRFLOW__API__PORT)."""
    from playwright.sync_api import sync_playwright

    from daybreak.core.settings import PROJECT_ROOT, get_settings
    from daybreak.platform.airflow_api import AirflowApi
    from daybreak.platform.airflow_env import DAG_ID, airflow_environment, generated_password
    from daybreak.platform.schedule import landed_bounds
    from daybreak.platform.serving import airflow_url
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    settings = get_settings()
    base_url = airflow_url(airflow_environment(settings))
    password = generated_password(settings)
    api = AirflowApi.login(base_url, "admin", password)
    before = {run["dag_run_id"] for run in api.dag_runs(DAG_ID)}
    last = landed_bounds(settings).last - dt.timedelta(days=7)
    first = last - dt.timedelta(days=1)
    docs = PROJECT_ROOT / "docs" / "img"
    docs.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        log_in(page, base_url, password)
        backfill_from_dialog(page, base_url, DAG_ID, first, last, docs / "airflow-backfill-dialog.png")
        backfills = api.request("GET", f"/api/v2/backfills?dag_id={DAG_ID}&limit=100")["backfills"]
        runs = api.wait_for_backfill(max(backfills, key=lambda backfill: backfill["id"]), seconds=3600)
        screenshot_runs(page, base_url, DAG_ID, docs / "airflow-backfill-runs.png")
        browser.close()
    new = sorted((run["logical_date"][:10], run["state"]) for run in runs if run["dag_run_id"] not in before)
    print(f"backfilled from the UI dialog: {new}")
    return 0 if new and all(state == "success" for _, state in new) else 1


if __name__ == "__main__":
    raise SystemExit(main())
