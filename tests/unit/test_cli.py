"""The command line on bad input: one line naming what is wrong, exit code 2; the traceback only with --debug."""

from __future__ import annotations

import pytest

from daybreak.canonical import IngestError
from jobs.cli import main

DAY = "2024-03-05"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    return tmp_path


def one_line_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_an_unknown_dataset_is_one_line(home, capsys):
    assert main(["--dataset", "nosuch", "ingest", "--date", DAY]) == 2
    assert one_line_error(capsys).startswith("daybreak ingest: DAYBREAK_DATASET: no dataset config 'nosuch'")


def test_a_refused_export_is_one_line_naming_the_file_and_the_traceback_needs_debug(home, capsys):
    folder = home / "landing" / "synthetic" / DAY
    folder.mkdir(parents=True)
    (folder / "sales.csv").write_text("invoice_no,invoice_ts\n")

    assert main(["ingest", "--date", DAY]) == 2
    line = one_line_error(capsys)
    assert line.startswith("daybreak ingest: export ") and f"{folder / 'sales.csv'}" in line
    assert line.endswith("is empty (the shop was open)")

    with pytest.raises(IngestError, match="is empty"):
        main(["--debug", "ingest", "--date", DAY])


def test_a_missing_export_is_one_line(home, capsys):
    assert main(["ingest", "--date", DAY]) == 2
    assert one_line_error(capsys).startswith(f"daybreak ingest: no export for business date {DAY}: expected")


def test_a_registry_request_that_cannot_be_met_is_one_line(home, capsys):
    assert main(["models", "rollback", "--kind", "forecast", "--model-id", "x"]) == 2
    assert one_line_error(capsys) == "daybreak models: no night has scored forecast models yet; give --date"
