"""Every page in headless Debian chromium: charts drawn, no exception, a screenshot each; and pages read in a loop
while the nightly publish swaps the serving file underneath them."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from daybreak.core.environment import read

pytestmark = pytest.mark.integration

APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
CHART_SVG = '[data-testid="stVegaLiteChart"] svg'
ERROR_TEXT = ("Traceback", "Error:", "Exception", "Page not found")
TIMEOUT_MS = 30_000
# url path -> (h1, charts the full fixture draws)
PAGES = {
    "": ("Overview", 2),  # the root leads to the Overview
    "overview": ("Overview", 2),
    "forecast": ("Forecast explorer", 4),
    "segments": ("Segments", 4),
    "model-health": ("Model health", 4),
    "review": ("Review forecasts", 1),
    "pipeline": ("Pipeline", 3),
}
# set to a folder (docs/screenshots) to keep the pictures; they always go to the test's tmp_path too
SCREENSHOTS = read("DAYBREAK_SCREENSHOTS")


def visit(page, url: str, path: str) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/{path}")
    page.wait_for_selector(APP_IDLE)


def assert_healthy(page, title: str, charts: int) -> None:
    page.locator("h1").filter(has_text=title).wait_for()
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length >= n", arg=[CHART_SVG, charts]
    )
    page.wait_for_selector(APP_IDLE)
    assert page.locator(EXCEPTION).count() == 0
    body = page.locator('[data-testid="stApp"]').inner_text()
    assert not [word for word in ERROR_TEXT if word in body], body[:2000]


def test_every_page_renders_its_charts_without_an_exception(page, start_app, full_home, tmp_path: Path):
    problems = console_problems(page)
    url = start_app(full_home)
    for path, (title, charts) in PAGES.items():
        visit(page, url, path)
        assert_healthy(page, title, charts)
        kinds = (".mark-line path", ".mark-rect path", ".mark-area path", ".mark-symbol path")
        marks = page.locator(", ".join(f"{CHART_SVG} {kind}" for kind in kinds))
        assert marks.count() > 0, f"{path}: the charts have marks"
        page.wait_for_timeout(600)  # let the charts finish their resize before the picture
        for folder in filter(None, (tmp_path, SCREENSHOTS)):
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{path or 'overview'}.png"), full_page=True)
    assert not problems, "\n".join(problems)


def test_pages_read_in_a_loop_while_publish_swaps_the_serving_file(
    page, start_app, full_home, tmp_path: Path
):
    """Publish renames a fresh copy over the serving file; a reader mid-query must never see an error."""
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    serving = home / "serving" / "synthetic.duckdb"
    url = start_app(home)
    stop = threading.Event()
    swaps = []

    def publish_repeatedly() -> None:
        while not stop.is_set():
            staging = serving.with_name(f".synthetic.duckdb.{len(swaps)}.tmp")
            shutil.copyfile(full_home / "serving" / "synthetic.duckdb", staging)
            os.replace(staging, serving)
            swaps.append(serving.stat().st_mtime_ns)
            stop.wait(0.3)

    publisher = threading.Thread(target=publish_repeatedly, daemon=True)
    publisher.start()
    try:
        for _ in range(2):
            for path, (title, charts) in PAGES.items():
                visit(page, url, path)
                assert_healthy(page, title, charts)
    finally:
        stop.set()
        publisher.join(timeout=10)
    assert len(swaps) > 5, "the serving file was replaced while the pages were read"


# Streamlit embeds a chart before it inserts the chart's data, so each scale of each chart warns once of an empty
# extent on that first render; a chart left empty is caught by its marks, which the tests count
FIRST_RENDER = re.compile(r'WARN Infinite extent for field "[^"]*": \[Infinity, -Infinity\]')
# Streamlit's frontend looks for its server under the page's path first (`/forecast/_stcore/health`), then the root
SERVER_PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")


def console_problems(page) -> list[str]:
    """Every error the page logs or throws, and every warning Vega or Vega-Lite logs (their logger prefixes WARN),
    collected from now on; but for the two Streamlit causes above."""
    problems: list[str] = []

    def record(message) -> None:
        if SERVER_PROBE.search(message.location.get("url", "")) or FIRST_RENDER.fullmatch(message.text):
            return
        if message.type == "error" or (message.type == "warning" and message.text.startswith("WARN")):
            problems.append(f"{message.type}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_an_overridden_series_draws_the_models_forecast_beside_the_planners_with_no_console_error(
    page, start_app, override_home
):
    """The layer of the model's forecast is named `Model's forecast (before override)`: an apostrophe, and the
    location's name has quotes too; the chart must draw every line and Vega must log nothing."""
    problems = console_problems(page)
    url = start_app(override_home)
    visit(page, url, "forecast")
    label = 'Location Dunn\'s "Corner"'
    choose(page, "Series", label)
    page.get_by_text(f"{label} · daily revenue").wait_for()
    assert_healthy(page, "Forecast explorer", 4)

    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    legend = chart.locator("svg .role-legend").first.text_content()
    assert "Model's forecast (before override)" in legend, legend
    assert chart.locator("svg .mark-line path").count() >= 3, "actual, forecast and the model's forecast"
    assert not problems, "\n".join(problems)


def test_every_page_has_its_url_and_a_viewer_opening_review_gets_the_role_message(
    page, start_app, full_home, act_as
):
    act_as("viewer")
    problems = console_problems(page)
    url = start_app(full_home)
    visit(page, url, "")
    page.wait_for_url(f"{url}/overview")
    assert_healthy(page, "Overview", 2)

    visit(page, url, "review")
    page.get_by_text("Reviewing and overriding forecasts: not for your role").wait_for()
    assert "Page not found" not in page.locator("body").inner_text()
    menu = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Forecast explorer" in menu and "Review" not in menu, menu
    assert not problems, "\n".join(problems)
