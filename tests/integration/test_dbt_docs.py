"""`daybreak docs --serve`, the one documented way to dbt's docs site, on a data home whose nights ran through
Airflow: it generates the site into its own folder, serves it on a free port and prints the address, where a
model's page opens in a browser; the night's `run_results.json` is left as the night wrote it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from daybreak.platform.serving import stop

pytestmark = pytest.mark.integration

MODEL = "model.daybreak.fct_daily_sales"


def wait_for_address(record: Path, process: subprocess.Popen, seconds: float = 600) -> str:
    deadline = time.monotonic() + seconds
    while not record.exists():
        if process.poll() is not None:
            pytest.fail(f"daybreak docs --serve exited {process.returncode}: {process.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"daybreak docs --serve served nothing in {seconds:.0f} s")
        time.sleep(1)
    return json.loads(record.read_text())["url"]


def test_daybreak_docs_serve_opens_a_models_page_and_keeps_the_nights_test_results(nightly, page):
    settings, _ = nightly
    night_results = (settings.dbt_target_dir / "run_results.json").read_bytes()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("daybreak")), "docs", "--serve"],
        env={**os.environ, "DAYBREAK_HOME": str(settings.home), "DAYBREAK_DATASET": settings.dataset},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url = wait_for_address(settings.dbt_docs_served_path, process)
        with urllib.request.urlopen(f"{url}manifest.json", timeout=10) as response:
            assert MODEL in json.loads(response.read())["nodes"]
        page.set_default_timeout(60_000)
        page.goto(f"{url}#!/model/{MODEL}")
        page.get_by_text("fct_daily_sales").first.wait_for()
        page.get_by_text("Columns").first.wait_for()  # the model's page, with its columns, not the overview
        assert "sales_date" in page.locator("body").inner_text()
    finally:
        stop([process])
    output = process.stdout.read()
    assert url in output, output
    assert not settings.dbt_docs_served_path.exists(), "a stopped server leaves no address behind"
    assert (settings.dbt_docs_dir / "run_results.json").exists(), "the docs run wrote its own results"
    assert (settings.dbt_target_dir / "run_results.json").read_bytes() == night_results
