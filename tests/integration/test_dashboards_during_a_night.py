"""The dashboards in Debian's chromium, read page after page while a real night runs and publishes underneath them.

A copy of the session's synthetic nights; `daybreak night` reruns its last night in a separate process (ingest,
dbt, training, scoring, drift, publish) while the browser keeps visiting every page. No page may show an
exception at any point: before, during, and after the publish that swaps the serving file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.apps.conftest import start_app
from tests.apps.test_pages_browser import ERROR_TEXT, EXCEPTION, PAGES, visit
from tests.integration.conftest import NIGHTS

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=2)]
__all__ = ["start_app"]  # the dashboards' fixture: `streamlit run` against a data home


def test_every_page_stays_readable_while_a_night_runs(nightly_home, page, start_app, tmp_path: Path, act_as):
    act_as("admin")  # every page, the Review page and the customer-level sections included
    settings, _ = nightly_home
    home = tmp_path / "home"
    shutil.copytree(settings.home, home)
    serving = home / "serving" / f"{settings.dataset_name}.duckdb"
    published_before = serving.stat().st_mtime_ns
    url = start_app(home)
    log = (tmp_path / "night.log").open("wb")
    night = subprocess.Popen(
        [str(Path(sys.executable).with_name("daybreak")), "night", "--date", NIGHTS[-1].isoformat()],
        env={**os.environ, "DAYBREAK_HOME": str(home), "DAYBREAK_DATASET": settings.dataset_name},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    visits = during = 0
    try:
        while True:
            running = night.poll() is None
            for path, (title, _) in PAGES.items():
                visit(page, url, path)
                page.locator("h1").filter(has_text=title).wait_for()
                assert page.locator(EXCEPTION).count() == 0, path
                body = page.locator('[data-testid="stApp"]').inner_text()
                assert not [word for word in ERROR_TEXT if word in body], (path, body[:2000])
                visits += 1
                during += running
            if not running:
                break
    finally:
        if night.poll() is None:
            night.kill()
        log.close()
    assert night.returncode == 0, (tmp_path / "night.log").read_text()[-3000:]
    assert serving.stat().st_mtime_ns != published_before, "the night published a new serving copy"
    assert during >= len(PAGES), f"{during} of {visits} page visits were made while the night ran"
