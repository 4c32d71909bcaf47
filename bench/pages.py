"""First render of every dashboard page in chromium, on a 10-million-line history, against a trivial Streamlit app.

The data home is the throughput benchmark's synthetic shop (`--orders-per-day 1260`: about 10 million lines over
2023-01-01..2024-12-31), loaded with `jobs.pipeline.load_history` up to the last day, so the serving file holds
every mart and prediction table the pages read. A home that already has a serving copy is reused as it is.

For each page, four first renders, each timed from `goto` to the page's h1, its charts drawn (as many as the
page draws on this home, counted once beforehand) and the app idle. The first three each in a new chromium context
(empty browser cache, a first visit): "cold" on a freshly started `streamlit run apps/streamlit/app.py` (imports
and every Streamlit cache cold); "published" on the same process after the serving file's mtime moved, as a nightly
publish moves it (the connection and query caches are keyed by it, so they are cold; imports are warm); "warm" once
more. The fourth, "returning", is the reader's morning: after another publish, in a browser context that has
opened the app before, so Streamlit's static bundle (served `immutable`) comes from its cache; the 2-second bound
is checked on it. Medians of `--repeats`. Baseline in the same run, started and measured the same way: a trivial
Streamlit script (a title and one `st.line_chart` of 100 points); every figure is also printed as a ratio to the
baseline's in its column.
`--profile` first times every page's queries in this process (AppTest, query cache emptied).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
APP_SCRIPT = "apps/streamlit/app.py"
BOUND_SECONDS = 2.0
CHART = '[data-testid="stVegaLiteChart"]'
CHARTS_DRAWN = """([chart, n]) => {
    const charts = [...document.querySelectorAll(chart)];
    return charts.length >= n && charts.every((element) => element.querySelector("svg"));
}"""
BASELINE_SCRIPT = """\
import numpy as np
import pandas as pd
import streamlit as st

st.title("Baseline")
st.line_chart(pd.DataFrame({"value": np.sin(np.arange(100) / 10)}))
"""


def build_home(home: Path, orders_per_day: float, start: dt.date, end: dt.date) -> None:
    """Simulate the shop (the throughput benchmark's simulation) and load the whole history; print the stages."""
    from bench.throughput import simulate_history
    from daybreak.core.settings import get_settings
    from jobs.pipeline import load_history

    settings = get_settings()
    summary, seconds = simulate_history(settings.landing_dir, start, end, orders_per_day)
    print(f"simulated {summary.lines_written:,} lines in {seconds:.1f} s", flush=True)
    for step, result in load_history(end, settings).items():
        print(f"load_history: {step} {result['seconds']:.1f} s", flush=True)


def describe_home(serving: Path) -> str:
    import duckdb

    with duckdb.connect(str(serving), read_only=True) as connection:
        lines, days, first, last = connection.execute(
            "select sum(lines), count(distinct sales_date), min(sales_date), max(sales_date) "
            "from marts.fct_daily_sales where series_id = 'total'"
        ).fetchone()
        series = connection.execute("select count(distinct series_id) from predictions.forecasts").fetchone()[
            0
        ]
        customers = connection.execute(
            "select count(distinct customer_id) from predictions.customer_segments"
        ).fetchone()[0]
    size_mb = serving.stat().st_size / 1e6
    return (
        f"history: {int(lines):,} lines over {days} days ({first}..{last}), {series} forecast series, "
        f"{customers:,} segmented customers; serving file {size_mb:,.1f} MB"
    )


def start_streamlit(script: str, home: Path, log_dir: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run SCRIPT` headless on 127.0.0.1, as tests/apps/conftest.py starts it; waits until healthy."""
    from tests.conftest import free_port

    port = free_port()
    env = {
        **os.environ,
        "DAYBREAK_HOME": str(home),
        "DAYBREAK_DATASET": "synthetic",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true"]
    command += [
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
    ]
    command += ["--browser.gatherUsageStats", "false"]
    with (log_dir / f"streamlit-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}: see {log_dir}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit not healthy after 60 s: see {log_dir}")


def charts_on_page(browser, url: str, path: str, title: str) -> int:
    """How many charts the page draws on this home, counted once the page has settled (no new chart for 3 s).

    One published night draws fewer than the browser test's fixture, so the count is read from the page, not
    from the test's table. It cannot be read at "idle" alone: Streamlit loads its chart component lazily, so on a
    fresh browser a chart's element appears only after its code has arrived, which can be after the run ended.
    """
    from tests.apps.test_pages_browser import APP_IDLE, TIMEOUT_MS

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS * 4)
        page.goto(f"{url}/{path}")
        page.locator("h1").filter(has_text=title).wait_for()
        page.wait_for_selector(APP_IDLE)
        count, stable_since = -1, time.monotonic()
        while time.monotonic() - stable_since < 3:
            page.wait_for_timeout(250)
            now = page.locator(CHART).count()
            if now != count:
                count, stable_since = now, time.monotonic()
        return count
    finally:
        context.close()


def render_seconds(
    browser, url: str, path: str, title: str, charts: int, returning_after: Path | None = None
) -> float:
    """A page's first render in a new browser context: goto, then wait for the h1, the app idle and `charts`
    charts with their SVG.

    With `returning_after` (the serving file), the context is a returning browser's: it first opens the app's root
    and waits for it to settle, so its cache holds Streamlit's static bundle (served `immutable` for a year); then
    the file's mtime moves (a nightly publish: query caches cold) and the page is timed in a new tab of the same
    context, a new Streamlit session: the page's first render as a reader sees it each morning.
    """
    from tests.apps.test_pages_browser import APP_IDLE, EXCEPTION, TIMEOUT_MS

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        if returning_after is not None:
            visit = context.new_page()
            visit.set_default_timeout(TIMEOUT_MS * 4)
            visit.goto(url)
            visit.wait_for_selector(APP_IDLE)
            visit.close()
            if returning_after.exists():
                os.utime(returning_after)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS * 4)
        started = time.perf_counter()
        page.goto(f"{url}/{path}")
        page.locator("h1").filter(has_text=title).wait_for()
        page.wait_for_selector(APP_IDLE)
        page.wait_for_function(CHARTS_DRAWN, arg=[CHART, charts])
        seconds = time.perf_counter() - started
        if page.locator(EXCEPTION).count():
            raise RuntimeError(f"{path or 'overview'}: the page shows an exception")
        return seconds
    finally:
        context.close()


def measure(browser, script: str, home: Path, log_dir: Path, path: str, title: str, charts: int):
    """Four first renders: cold (a new app process, a new browser context), after a publish (the same process
    once the serving file's mtime moved, which is what keys the connection and query caches: imports warm, data
    caches cold; a new browser context), warm (the same process and file again, a new browser context) and
    returning (after another publish, in a browser that has opened the app before: `render_seconds`'
    `returning_after`).
    Returns the four seconds."""
    from tests.conftest import stop_process_group

    serving = home / "serving" / "synthetic.duckdb"
    process, url = start_streamlit(script, home, log_dir)
    try:
        cold = render_seconds(browser, url, path, title, charts)
        if serving.exists():
            os.utime(serving)  # a nightly publish, as the app sees one: a new mtime
        published = render_seconds(browser, url, path, title, charts)
        warm = render_seconds(browser, url, path, title, charts)
        returning = render_seconds(browser, url, path, title, charts, returning_after=serving)
    finally:
        stop_process_group(process)
    return cold, published, warm, returning


def profile_queries(home: Path, pages: list[str]) -> None:
    """Each page run once through `streamlit.testing.v1.AppTest` in this process with the query cache emptied,
    every `data._read` timed: the server-side share of a first render, and its slowest queries."""
    import logging

    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)

    sys.path.insert(0, str(PROJECT_ROOT / "apps" / "streamlit"))
    import data

    timings: list[tuple[float, str]] = []
    read = data._read

    def timed_read(sql: str, params: tuple[object, ...] = ()):
        began = time.perf_counter()
        try:
            return read(sql, params)
        finally:
            timings.append((time.perf_counter() - began, " ".join(sql.split())[:90]))

    data._read = timed_read
    script = str(PROJECT_ROOT / APP_SCRIPT)
    print(
        f"{'page (AppTest, query cache empty)':34} {'script s':>8} {'queries':>7} {'query s':>7}  (slowest 3 below)"
    )
    for page in pages:
        data._query.clear()
        data._connection.clear()
        app = AppTest.from_file(script, default_timeout=120)
        app.run()  # the default page; the others are reached by switching, as the browser test does
        if page != "overview.py":
            app.switch_page(f"app_pages/{page}")
            data._query.clear()
            timings.clear()
            began = time.perf_counter()
            app.run()
        else:
            data._query.clear()
            timings.clear()
            began = time.perf_counter()
            app.run()
        seconds = time.perf_counter() - began
        slowest = sorted(timings, reverse=True)[:3]
        print(f"{page:34} {seconds:8.2f} {len(timings):7} {sum(t for t, _ in timings):7.2f}")
        for t, sql in slowest:
            print(f"    {t:6.2f} s  {sql}")
    data._read = read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench pages", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", default="/tmp/bench-pages", help="data home, built if it has no serving copy"
    )
    parser.add_argument(
        "--orders-per-day", type=float, default=1260.0, help="1260 gives about 10 million lines"
    )
    parser.add_argument("--start", default="2023-01-01")
    parser.add_argument("--end", default="2024-12-31")
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds of the three renders per page; medians are printed"
    )
    parser.add_argument(
        "--pages", help="comma-separated url paths to measure (overview,forecast,...); default: all six"
    )
    parser.add_argument("--build-only", action="store_true", help="build the home and stop")
    parser.add_argument(
        "--profile", action="store_true", help="also time every page's queries in-process (AppTest) first"
    )
    args = parser.parse_args(argv)
    home = Path(args.home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAYBREAK_HOME"] = str(home)
    os.environ["DAYBREAK_DATASET"] = "synthetic"
    from daybreak.core.settings import get_settings

    serving = get_settings().serving_path
    if not serving.exists():
        start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
        build_home(home, args.orders_per_day, start, end)
    print(describe_home(serving), flush=True)
    from daybreak.core.roles import grant_single_user

    # measured as an admin sees them: every page and section (docs/privacy.md)
    grant_single_user(get_settings())
    if args.build_only:
        return 0
    if args.profile:
        profile_queries(
            home,
            ["overview.py", "forecast.py", "segments.py", "model_health.py", "review.py", "pipeline.py"],
        )

    from playwright.sync_api import sync_playwright

    from tests.apps.test_pages_browser import PAGES
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, stop_process_group

    log_dir = Path(tempfile.mkdtemp(prefix="bench-pages-logs-"))
    baseline_script = log_dir / "baseline_app.py"
    baseline_script.write_text(BASELINE_SCRIPT)
    baseline = "baseline: title + one line chart"
    targets = [(baseline, str(baseline_script), "", "Baseline")]
    chosen = set(args.pages.split(",")) if args.pages else None
    targets += [
        (path or "overview", APP_SCRIPT, path, title)
        for path, (title, _) in PAGES.items()
        if chosen is None or (path or "overview") in chosen
    ]
    runs: dict[str, list[tuple[float, float, float]]] = {}
    charts: dict[str, int] = {}
    print("load average before the renders: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), flush=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            for script in dict.fromkeys(script for _, script, _, _ in targets):
                process, url = start_streamlit(script, home, log_dir)
                try:
                    for name, _, path, title in (target for target in targets if target[1] == script):
                        charts[name] = charts_on_page(browser, url, path, title)
                finally:
                    stop_process_group(process)
            print(
                "charts per page, counted once settled: " + ", ".join(f"{n} {c}" for n, c in charts.items())
            )
            for repeat in range(1, args.repeats + 1):
                for name, script, path, title in targets:
                    seconds = measure(browser, script, home, log_dir, path, title, charts[name])
                    runs.setdefault(name, []).append(seconds)
                    print(
                        f"  run {repeat} {name}: " + ", ".join(f"{s:.2f}" for s in seconds) + " s", flush=True
                    )
        finally:
            browser.close()

    medians = {
        name: [statistics.median(column) for column in zip(*rows, strict=True)] for name, rows in runs.items()
    }
    base = medians[baseline]
    print(
        f"first render in chromium, median of {args.repeats}. cold: a new app process, a new browser context; "
        "published: the same process after the serving file's mtime moved (query caches cold), a new browser "
        "context; warm: the same process again; returning: after another publish, in a browser that has opened "
        "the app before (Streamlit's static bundle cached). x base: ratio to the baseline's figure in the same "
        "column"
    )
    print(
        f"{'page':32} {'charts':>6} {'cold s':>7} {'x base':>6} {'publ. s':>7} {'x base':>6} {'warm s':>7} "
        f"{'x base':>6} {'ret. s':>7} {'x base':>6}  returning <= {BOUND_SECONDS:g} s"
    )
    for name, figures in medians.items():
        verdict = "" if name == baseline else ("yes" if figures[3] <= BOUND_SECONDS else "NO")
        cells = " ".join(
            f"{value:7.2f} {value / reference:6.2f}" for value, reference in zip(figures, base, strict=True)
        )
        print(f"{name:32} {charts[name]:6} {cells}  {verdict}")
    print("load average after the renders: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    print(f"data home: {home}; app logs: {log_dir}")
    return 0
