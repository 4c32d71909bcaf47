"""Every page in headless Debian chromium: charts drawn, no exception, a screenshot each; and pages read in a loop
while the nightly publish swaps the serving file underneath them."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from daybreak.core.environment import read
from tests.apps.conftest import (
    AS_OF_DATES,
    LAST_ACTUAL,
    LOCATION_OVERRIDE,
    QUOTED_LOCATION,
    SERIES,
    add_location_override,
)

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
    "segments": ("Segments", 5),
    "model-health": ("Model health", 7),
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
    problems = watch_console(page)
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


# Streamlit draws a chart twice: once from its spec alone, then with its data. Vega warns "Infinite extent" on every
# chart's empty first pass, so that warning says nothing; a chart that stays empty is caught by what it drew instead
# (`assert_drawn`). And on a page's own URL Streamlit first looks for its server under that path (`/pipeline/_stcore/
# health`): the two 404s are how it finds that it is served from the root.
STREAMLIT_NOISE = ("WARN Infinite extent for field",)
BASE_PATH_PROBES = re.compile(r"/_stcore/(health|host-config)$")
# per chart: how many marks it drew, and the largest width-and-height any bar or cell reached (0 without any)
DRAWN = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg')].map(svg => {
    const boxes = [...svg.querySelectorAll('.mark-rect path')].map(p => p.getBBox());
    const marks = svg.querySelectorAll(
        '.mark-rect path, .mark-line path, .mark-area path, .mark-symbol path, .mark-rule line, .mark-text text');
    return [marks.length, boxes.length, Math.max(0, ...boxes.map(b => Math.min(b.width, b.height)))];
})"""


def watch_console(page) -> list[str]:
    """Collect what the page logs that means a broken page: every console error and every warning Vega prints
    (its logger prefixes them "WARN"), but Streamlit's own noise (`STREAMLIT_NOISE`, `BASE_PATH_PROBES`)."""
    problems: list[str] = []

    def record(message) -> None:
        if message.type == "error" and not BASE_PATH_PROBES.search(message.location.get("url", "")):
            problems.append(f"error: {message.text} ({message.location.get('url')})")
        elif (
            message.type == "warning"
            and message.text.startswith("WARN")
            and not message.text.startswith(STREAMLIT_NOISE)
        ):
            problems.append(f"warning: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    return problems


def assert_drawn(page, path: str) -> None:
    """Every chart drew marks, and a chart of bars or cells drew one at least 2 px wide and high (a bar chart
    squeezed into its axes draws hairlines: the dbt test results once drew one 0.25 px high)."""
    for index, (marks, cells, largest) in enumerate(page.evaluate(DRAWN)):
        assert marks > 0, f"/{path}: chart {index} drew nothing"
        assert not cells or largest >= 2, f"/{path}: chart {index}'s bars are hairlines ({largest:.2f} px)"


# a period's revenue in the weekly and hourly fixtures: the daily fixture's level spread over the period
GRAINS = {"weekly": (dt.timedelta(weeks=1), 8, 7.0), "hourly": (dt.timedelta(hours=1), 48, 1 / 24)}


def regrained_home(full_home: Path, folder: Path, frequency: str) -> Path:
    """The full fixture's data home with its forecasts at another grain (`GRAINS`): weeks ending on Sunday, or
    hours with the hourly mart the pages read their actuals from. No override and no components: those are the
    daily fixture's."""
    import duckdb

    home = folder / f"{frequency}_home"
    shutil.copytree(full_home, home)
    step, steps, share = GRAINS[frequency]
    with duckdb.connect(str(home / "serving" / "synthetic.duckdb")) as connection:
        connection.execute("delete from predictions.forecasts")
        connection.execute("delete from predictions.forecast_components")
        for as_of_date in AS_OF_DATES:
            # the first period after the night: the Sunday after it, or its next day's first hour
            days = ((6 - as_of_date.weekday()) or 7) if frequency == "weekly" else 1
            first = dt.datetime.combine(as_of_date + dt.timedelta(days=days), dt.time())
            for series_id, (_, mean) in SERIES.items():
                for number in range(1, steps + 1):
                    period = first + step * (number - 1)
                    yhat = mean * share * (1 + 0.1 * (number % 5) / 5)
                    connection.execute(
                        "insert into predictions.forecasts (as_of_date, series_id, target, target_date, target_time, "
                        "horizon_step, yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95, yhat_upper_95, model, "
                        "model_version, run_id, frequency) values (?, ?, 'revenue', ?, ?, ?, ?, ?, ?, ?, ?, "
                        "'auto_ets', 'v1', 'fixture', ?)",
                        [
                            as_of_date,
                            series_id,
                            period.date(),
                            period if frequency == "hourly" else None,
                            number,
                            yhat,
                            0.9 * yhat,
                            1.1 * yhat,
                            0.8 * yhat,
                            1.2 * yhat,
                            frequency,
                        ],
                    )
        if frequency == "hourly":  # each day's revenue spread evenly over its hours
            connection.execute(
                """
                create table marts.features_series_hourly as
                select series_id, sales_date, sales_date::timestamp + hour * interval 1 hour as sales_hour,
                    units / 24 as units, revenue / 24 as revenue
                from marts.fct_daily_sales, range(24) as hours(hour)
                where sales_date > ?::date - 30
                """,
                [LAST_ACTUAL],
            )
    return home


def overridden_home(home: Path) -> Path:
    """`home` plus a location named with an apostrophe and quotes, overridden by the newest night
    (`add_location_override`: 2-4 Jul), and at any grain its first period too, so that a weekly forecast, whose
    periods end on Sundays, shows the planner's change as well."""
    import duckdb

    add_location_override(home / "serving" / "synthetic.duckdb", home)
    with duckdb.connect(str(home / "serving" / "synthetic.duckdb")) as connection:
        connection.execute(
            "update predictions.forecasts set yhat = yhat * 1.2, override_id = ? "
            "where series_id = ? and as_of_date = ? and horizon_step = 1 and override_id is null",
            [LOCATION_OVERRIDE["override_id"], QUOTED_LOCATION, LAST_ACTUAL],
        )
    return home


@pytest.fixture(
    params=[(grain, override) for grain in ("daily", "weekly", "hourly") for override in (False, True)],
    ids=lambda param: f"{param[0]}{'-overridden' if param[1] else ''}",
)
def dataset_home(request, full_home: Path, tmp_path: Path) -> tuple[str, Path]:
    """A data home per grain a dataset may forecast at, without and with a planner's override of a location whose
    name has an apostrophe: the full daily fixture, and the same at weekly and at hourly grain."""
    grain, override = request.param
    if grain == "daily":
        home = tmp_path / "daily_home"
        shutil.copytree(full_home, home)
    else:
        home = regrained_home(full_home, tmp_path, grain)
    return grain, overridden_home(home) if override else home


def test_no_page_logs_a_console_error_or_a_vega_warning(page, start_app, dataset_home):
    """Every page, as a reader sees it: the browser's console stays clean and every chart draws (the daily
    fixture draws every chart of `PAGES`; the other grains at least one a page, having no components)."""
    frequency, home = dataset_home
    problems = watch_console(page)
    url = start_app(home)
    for path, (title, charts) in PAGES.items():
        visit(page, url, path)
        assert_healthy(page, title, charts if frequency == "daily" else 1)
        page.wait_for_timeout(600)  # Vega warns while it lays out, after the svg is in the page
        assert not problems, f"/{path}: {problems}"
        assert_drawn(page, path)
    if QUOTED_LOCATION in home.joinpath("overrides", "synthetic.jsonl").read_text(errors="replace"):
        # the overridden series itself, its name quoted, in the explorer: the planner's and the model's lines
        visit(page, url, "forecast")
        label = 'Location Dunn\'s "Corner"'
        choose(page, "Series", label)
        page.get_by_text(label).first.wait_for()
        assert_healthy(page, "Forecast explorer", 1)
        page.wait_for_timeout(600)
        assert not problems, f"/forecast {label}: {problems}"
        assert_drawn(page, "forecast")


def test_the_dbt_test_results_draw_a_bar_when_every_test_passed(page, start_app, full_home, tmp_path):
    """One status, one bar: a chart of one row once drew it as a hairline under an axis to 180."""
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    results = [
        {"unique_id": f"test.daybreak.check_{n}", "status": "pass", "execution_time": 0.1, "message": None}
        for n in range(180)
    ]
    (home / "dbt" / "synthetic" / "target" / "run_results.json").write_text(json.dumps({"results": results}))
    url = start_app(home)
    visit(page, url, "pipeline")
    assert_healthy(page, "Pipeline", 3)
    page.wait_for_timeout(600)
    assert_drawn(page, "pipeline")


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_an_overridden_series_draws_the_models_forecast_beside_the_planners_with_no_console_error(
    page, start_app, override_home
):
    """The layer of the model's forecast is named `Model's forecast (before override)`: an apostrophe, and the
    location's name has quotes too; the chart must draw every line and Vega must log nothing."""
    problems = watch_console(page)
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
    problems = watch_console(page)
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


def test_customer_value_by_segment_and_its_calibration_plot_draw_with_no_console_error(
    page, start_app, full_home
):
    """The Segments page's customer value (three panels of bars beside each other) and Model health's calibration
    plot (the two lines by group, and the groups against the diagonal) in the browser: drawn, and Vega logs
    nothing."""
    problems = watch_console(page)
    url = start_app(full_home)
    visit(page, url, "segments")
    page.get_by_text("Valuable customers slipping away").wait_for()
    assert_healthy(page, "Segments", 5)
    value = page.locator('[data-testid="stVegaLiteChart"]').nth(1)
    for title in ("Expected revenue", "Customers", "Mean probability active"):
        assert title in value.locator("svg").text_content(), title
    assert value.locator("svg .mark-rect path").count() == 9, "three segments in each of the three panels"

    visit(page, url, "model-health")
    page.get_by_text("Customer value: predicted against actual purchases").wait_for()
    assert_healthy(page, "Model health", 7)
    page.wait_for_timeout(600)
    lines = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="Mean purchases in the holdout")
    assert lines.locator("svg .mark-line path").count() == 2, "the predicted and the actual line"
    against = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="Actual mean purchases")
    assert against.locator("svg .mark-line path").count() == 1, "the diagonal"
    assert against.locator("svg .mark-symbol.role-mark path").count() == 7, "a point per group"
    assert_drawn(page, "model-health")
    assert not problems, "\n".join(problems)
