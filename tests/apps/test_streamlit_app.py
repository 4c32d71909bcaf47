"""The Streamlit app in a real browser: `streamlit run apps/streamlit/app.py` driven by headless chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
CHART = '[data-testid="stVegaLiteChart"]'
CHART_LINES = f"{CHART} svg .mark-line path"
METRIC = '[data-testid="stMetric"]'
ALERT = '[data-testid="stAlert"]'
SELECTBOX = '[data-testid="stSelectbox"]'
TIMEOUT_MS = 30_000


def open_app(page, url: str) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector(APP_IDLE)


def wait_for_charts(page, count: int) -> None:
    """Streamlit mounts its Vega charts lazily, after the script has finished: wait until `count` are drawn."""
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length >= n", arg=[f"{CHART} svg", count]
    )


def line_paths(page) -> list[str]:
    """The line paths of the page's first chart (the forecast chart)."""
    lines = page.locator(CHART).first.locator("svg .mark-line path")
    return [path.get_attribute("d") or "" for path in lines.all()]


def selector(page, label: str):
    """A `st.selectbox`: a combobox input named by its label, whose value is the chosen option."""
    return page.locator(SELECTBOX).get_by_role("combobox", name=label, exact=True)


def choose(page, label: str, option: str) -> None:
    selector(page, label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_forecast_page_draws_the_chart_and_follows_the_series_selector(
    page, start_app, serving_home, tmp_path: Path
):
    # Given the app serving a published file
    open_app(page, start_app(serving_home) + "/forecast")

    # Then the page is the forecast page of the Daybreak app, with its chart drawn and no exception
    page.wait_for_selector(CHART_LINES)
    wait_for_charts(page, 2)
    assert page.title() == "Daybreak"
    assert page.locator("h1").filter(has_text="Forecast explorer").count() == 1
    assert page.locator(EXCEPTION).count() == 0
    chart = page.locator(CHART)
    assert chart.count() == 2, "the forecast, and how it moved across the two nights"
    box = chart.first.bounding_box()
    assert box["width"] > 400 and box["height"] > 300
    total_lines = line_paths(page)
    assert len(total_lines) == 2, "one line for actuals, one for the forecast"
    assert all(len(d) > 200 for d in total_lines), "each line is drawn through many points"
    assert page.locator(CHART).first.locator("svg .mark-area path").count() == 2, "the 80% and 95% bands"
    assert selector(page, "Series").input_value() == "All locations"
    assert selector(page, "Forecast made on").input_value() == "Sun 30 Jun 2024 · prophet"
    metrics = page.locator(METRIC)
    assert metrics.count() == 4
    assert "Revenue, last 7 days" in metrics.nth(0).inner_text()
    assert "vs last year" in metrics.nth(0).inner_text()
    detail = page.locator('[data-testid="stMarkdown"] table')
    assert detail.count() == 1, "the forecast detail, one Markdown table"
    assert "Forecast revenue" in detail.inner_text() and "Mon 01 Jul 2024" in detail.inner_text()

    # When another series is chosen
    choose(page, "Series", "Location Germany")

    # Then the chart is drawn again, for that series
    page.wait_for_function(
        """([selector, before]) => {
            const path = document.querySelector(selector);
            return path !== null && path.getAttribute("d") !== before;
        }""",
        arg=[CHART_LINES, total_lines[0]],
    )
    page.wait_for_selector(APP_IDLE)
    page.get_by_text("Location Germany · daily revenue").wait_for()
    assert selector(page, "Series").input_value() == "Location Germany"
    germany_lines = line_paths(page)
    assert len(germany_lines) == 2 and all(len(d) > 200 for d in germany_lines)
    assert germany_lines != total_lines
    assert "no year-ago data" in metrics.nth(0).inner_text()
    assert page.locator(EXCEPTION).count() == 0

    # When an older forecast version is chosen, the days since it was made are scored against the actuals
    choose(page, "Forecast made on", "Sun 16 Jun 2024 · prophet")
    page.get_by_text("Forecast error, first 14 days").wait_for()
    page.wait_for_selector(APP_IDLE)
    assert page.locator(EXCEPTION).count() == 0
    assert len(line_paths(page)) == 2

    page.wait_for_timeout(500)  # let the chart finish its resize before the picture
    page.screenshot(path=str(tmp_path / "forecast_vs_actual.png"), full_page=True)


def test_forecast_page_without_a_published_file_explains_how_to_get_one(
    page, start_app, empty_home, tmp_path: Path
):
    # Given a data home where no nightly run has published
    open_app(page, start_app(empty_home))

    # Then the page says so and how to fix it, instead of a traceback
    alert = page.locator(ALERT)
    alert.wait_for()
    assert "No nightly run has published data yet" in alert.inner_text()
    assert "make demo" in alert.inner_text()
    assert str(empty_home / "serving" / "synthetic.duckdb") in alert.inner_text()
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(CHART).count() == 0
    assert not (empty_home / "serving").exists(), "the app must not create the serving file"
    page.screenshot(path=str(tmp_path / "not_published.png"), full_page=True)


def test_forecast_components_explain_the_forecast_when_published(page, start_app, components_home):
    # Given a published file whose forecasts have components
    open_app(page, start_app(components_home) + "/forecast")

    # Then below the forecast the page shows what it is made of, without an exception
    page.get_by_text("What drives this forecast").wait_for()
    page.wait_for_selector(APP_IDLE)
    wait_for_charts(page, 3)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(CHART).count() == 3, "the forecast, its components and how it moved"
    assert (
        page.locator('[data-testid="stCaptionContainer"]').filter(has_text="add up to the forecast").count()
        == 1
    )
