"""The Pipeline page links to dbt's docs site while `daybreak docs --serve` serves it, and says how to serve it
otherwise (never a file path); its test results are the night's; its accounting balances on a day a correction
replaced a file (rows in = loaded + quarantined + replaced), also on a serving file older than corrections."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import duckdb
import pytest

from tests.apps.conftest import LAST_ACTUAL, REPLACED_FILE
from tests.apps.test_pages import charts, run_page, texts
from tests.conftest import free_port


@pytest.fixture
def home(full_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    return home


def docs_buttons(app) -> list:
    return [button for button in app.get("link_button") if button.proto.label == "dbt docs"]


def test_the_pipeline_links_to_the_docs_site_while_it_is_served(monkeypatch, home):
    site = home / "dbt" / "synthetic" / "docs"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<html>dbt docs</html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    (site / "served.json").write_text(json.dumps({"url": url}))
    try:
        app = run_page(monkeypatch, home, "pipeline.py")
    finally:
        server.shutdown()
        thread.join(5)

    assert not app.exception
    assert [button.proto.url for button in docs_buttons(app)] == [url]


def test_a_docs_server_that_is_gone_is_not_linked_and_the_page_says_how_to_serve_them(monkeypatch, home):
    site = home / "dbt" / "synthetic" / "docs"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<html>dbt docs</html>")
    (site / "served.json").write_text(json.dumps({"url": f"http://127.0.0.1:{free_port()}/"}))  # killed

    app = run_page(monkeypatch, home, "pipeline.py")

    assert not app.exception
    assert not docs_buttons(app)
    assert "`.venv/bin/daybreak docs --serve`" in texts(app)
    assert str(site) not in texts(app), "a file path is no link"


def test_the_pipeline_accounts_for_the_rows_and_revenue_a_correction_replaced_and_names_its_file(
    monkeypatch, full_home
):
    app = run_page(monkeypatch, full_home, "pipeline.py")

    assert not app.exception
    # the last day: its first delivery (390 rows) replaced by the file that loaded 400
    assert "790 rows in = 400 loaded + 0 quarantined + 390 replaced" in texts(app)
    assert "revenue in 102,700.00 = 52,000.00 loaded + 0.00 quarantined + 50,700.00 replaced" in texts(app)
    assert '"replaced"' in charts(app)[0].proto.spec, "the replaced rows and revenue are drawn"
    tables = [frame.value for frame in app.dataframe if "replaced_by" in frame.value.columns]
    assert len(tables) == 1
    assert tables[0].to_dict("records") == [
        {
            "business_date": LAST_ACTUAL,
            "source_file": REPLACED_FILE,
            "replaced_by": f"{LAST_ACTUAL}/sales_{LAST_ACTUAL}.csv",
            "replaced_by_run_date": LAST_ACTUAL,
            "rows_replaced": 390,
            "revenue_replaced": 50_700.0,
        }
    ]


def test_a_serving_file_published_before_corrections_were_recorded_still_draws(monkeypatch, home):
    with duckdb.connect(str(home / "serving" / "synthetic.duckdb")) as connection:
        connection.execute("delete from monitoring.ingest_runs where status = 'replaced'")
        for column in ("rows_replaced", "revenue_replaced", "replaced_by", "replaced_by_run_date"):
            connection.execute(f"alter table monitoring.ingest_runs drop column {column}")

    pipeline = run_page(monkeypatch, home, "pipeline.py")
    overview = run_page(monkeypatch, home, "overview.py")

    assert not pipeline.exception and not overview.exception
    assert "400 rows in = 400 loaded + 0 quarantined + 0 replaced" in texts(pipeline)
    assert "No file has been replaced" in texts(pipeline)
    assert "Last night's run completed" in overview.success[0].value
