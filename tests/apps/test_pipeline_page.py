"""The Pipeline page links to dbt's docs site while `daybreak docs --serve` serves it, and says how to serve it
otherwise (never a file path); its test results are the night's."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest

from tests.apps.test_pages import run_page, texts
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
