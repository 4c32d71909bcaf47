"""`daybreak docs`: dbt's docs site is generated into its own folder, never the nights' dbt target (whose
`run_results.json` the Pipeline page reports), and `--serve` serves it on a free port, recording its address while
it runs."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.request

import pytest

from daybreak.core.settings import get_settings
from jobs import docs
from jobs.cli import main
from jobs.transform import dbt_command


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    return get_settings()


def test_the_docs_are_generated_into_their_own_folder_not_the_nights_target(settings, monkeypatch):
    calls = []
    monkeypatch.setattr(docs, "invoke_dbt", lambda *args, **kwargs: calls.append((args, kwargs)))

    index = docs.generate_docs(dt.date(2024, 3, 31), settings)

    (_, args, _), options = calls[0]
    assert args[:2] == ["docs", "generate"]
    assert options["target_dir"] == settings.dbt_docs_dir != settings.dbt_target_dir
    assert index == settings.dbt_docs_dir / "index.html"
    command, env = dbt_command(settings, args, target_dir=options["target_dir"])
    assert command[command.index("--target-path") + 1] == str(settings.dbt_docs_dir)
    assert env["DAYBREAK_WAREHOUSE_PATH"] == str(settings.warehouse_path)


def test_serving_records_the_address_while_it_serves_the_site(settings):
    settings.dbt_docs_dir.mkdir(parents=True)
    (settings.dbt_docs_dir / "index.html").write_text("<html>dbt docs</html>")
    ready = threading.Event()
    served = {}

    def on_ready(url, server):
        served.update(url=url, server=server)
        ready.set()

    thread = threading.Thread(target=docs.serve, args=(settings,), kwargs={"on_ready": on_ready}, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        assert json.loads(settings.dbt_docs_served_path.read_text()) == {"url": served["url"]}
        with urllib.request.urlopen(served["url"] + "index.html", timeout=5) as response:
            assert response.read() == b"<html>dbt docs</html>"
    finally:
        served["server"].shutdown()
        thread.join(10)
    assert not settings.dbt_docs_served_path.exists(), "a stopped server leaves no address behind"


def test_docs_before_any_published_night_says_what_to_run(settings):
    with pytest.raises(SystemExit, match=r"make demo SERVE=0"):
        main(["docs", "--serve"])
