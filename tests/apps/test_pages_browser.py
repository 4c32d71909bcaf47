"""Every page in headless Debian chromium: charts drawn, no exception, a screenshot each; and pages read in a loop
while the nightly publish swaps the serving file underneath them."""

from __future__ import annotations

import os
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
    "": ("Overview", 2),  # the default page lives at the root
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


def watch_console(page) -> list[str]:
    """Collect what the page logs that means a broken page: every console error and every warning Vega prints
    (its logger prefixes them "WARN": an empty chart's "Infinite extent for field ..." is one)."""
    problems: list[str] = []

    def record(message) -> None:
        if message.type == "error" or (message.type == "warning" and message.text.startswith("WARN")):
            problems.append(f"{message.type}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    return problems


def test_no_page_logs_a_console_error_or_a_vega_warning(page, start_app, full_home):
    """Every page of a daily dataset with an override, as a reader sees it: the browser's console stays clean."""
    problems = watch_console(page)
    url = start_app(full_home)
    for path, (title, charts) in PAGES.items():
        visit(page, url, path)
        assert_healthy(page, title, charts)
        page.wait_for_timeout(600)  # Vega warns while it lays out, after the svg is in the page
        assert not problems, f"/{path}: {problems}"
