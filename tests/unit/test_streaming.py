"""A large delivery prepared in batches ends exactly as the same file prepared whole: the same lake lines, the same
quarantine rows with their details and raw values, the same accounting to the last bit of revenue."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config
from daybreak.ingest import preparation, streaming
from daybreak.ingest.exports.batches import NotStreamable, open_batches
from daybreak.ingest.exports.reader import read_export
from daybreak.ingest.simulation.day_files import day_file
from daybreak.ingest.simulation.replay import replay_dataset
from daybreak.warehouse.connection import connect
from jobs import ingest

DAY = dt.date(2024, 3, 5)
BAD_EXPORTS = Path(__file__).resolve().parents[1] / "data" / "bad_exports"
HEADER = "invoice_no,invoice_ts,customer_ref,sku,description,country,qty,unit_price\n"


def _use_config(monkeypatch, config) -> None:
    monkeypatch.setattr(ingest, "load_dataset_config", lambda name: config)


def _corpus_config(name: str):
    """The config `test_ingest.test_bad_export_outcome` reads a corpus file with: its own beside it, else the
    synthetic dataset's with repeated lines quarantined."""
    own = BAD_EXPORTS / f"{name.rsplit('.', 1)[0]}.yml"
    if own.is_file():
        return load_dataset_config(own)
    config = load_dataset_config("synthetic")
    fmt = name.rsplit(".", 1)[1]
    return dataclasses.replace(
        config,
        landing=dataclasses.replace(config.landing, format=fmt, glob=f"*.{fmt}"),
        validation=dataclasses.replace(config.validation, duplicate_lines="quarantine"),
    )


def _outcome(settings: Settings, run) -> dict:
    """Everything an ingest leaves: its summary or error, the accounting, the quarantine and the lake's lines."""
    try:
        summary = run()
    except ingest.IngestError as error:
        summary = f"{type(error).__name__}: {error}".replace(str(settings.home), "<home>")
    if not settings.warehouse_path.exists():
        return {"summary": summary}
    with connect(settings.warehouse_path, read_only=True) as connection:  # reads the lake from the data home
        tables = {
            "runs": "select * exclude (source_path, ingested_at, run_id) from monitoring.ingest_runs order by all",
            "quarantine": "select * exclude (run_id) from monitoring.quarantine order by all",
        }
        if connection.execute(
            "select count(*) from duckdb_views() where schema_name = 'raw' and view_name = 'sales_lines'"
        ).fetchone()[0]:
            tables["lines"] = "select * exclude (source_file) from raw.sales_lines order by source_row"
        found = {name: connection.execute(sql).fetchall() for name, sql in tables.items()}
    home = str(settings.home)
    found = {
        name: [tuple(v.replace(home, "<home>") if isinstance(v, str) else v for v in row) for row in rows]
        for name, rows in found.items()
    }
    return {"summary": summary, **found}


def _both_ways(tmp_path: Path, monkeypatch, land, run, batch_bytes: int) -> tuple[dict, dict, list[int]]:
    """The outcome of one ingest with every file prepared whole, and with every file prepared in batches of
    `batch_bytes`; and the batches of the files prepared in batches (each the number of files mapped with it:
    one), without the batches of a file the batch reader gave up on."""
    whole = Settings(home=tmp_path / "whole", dataset="synthetic")
    land(whole)
    expected = _outcome(whole, lambda: run(whole))

    mapped, kept = [], []
    to_canonical_many, prepare_streamed = streaming.to_canonical_many, preparation.prepare_streamed

    def prepared_in_batches(*args):
        mapped.clear()
        streamed = prepare_streamed(*args)
        if streamed is not None:
            kept.extend(mapped)
        return streamed

    monkeypatch.setattr(streaming, "BATCH_BYTES", batch_bytes)
    monkeypatch.setattr(
        streaming,
        "to_canonical_many",
        lambda files, *a: mapped.append(len(files)) or to_canonical_many(files, *a),
    )
    monkeypatch.setattr(preparation, "prepare_streamed", prepared_in_batches)
    streamed = Settings(home=tmp_path / "streamed", dataset="synthetic")
    land(streamed)
    return expected, _outcome(streamed, lambda: run(streamed)), kept


CORPUS = sorted(p.name for p in BAD_EXPORTS.iterdir() if p.suffix not in (".md", ".yml"))
# the corpus files the batch reader reads itself (and `missing_column.csv`, refused before its first batch); it
# leaves the others to the whole-file reader
STREAMED = {
    "all_quarantined.csv", "control_characters.csv", "corrected_redelivery.csv", "negative_not_return.csv",
    "config_rules.csv", "decimal_comma.csv", "duplicate_file.csv", "excel_sep.csv", "extra_column.csv",
    "good.csv", "gzipped.csv", "padded_header.csv", "preamble.csv", "semicolon.csv",
    "time_zones.csv", "wrong_types.csv",
}  # fmt: skip


@pytest.mark.parametrize("name", CORPUS)
def test_every_corpus_file_prepared_in_batches_ends_as_prepared_whole(name, tmp_path, monkeypatch):
    _use_config(monkeypatch, _corpus_config(name))

    def land(settings: Settings) -> None:
        folder = settings.landing_dir / DAY.isoformat()
        folder.mkdir(parents=True)
        shutil.copy(BAD_EXPORTS / name, folder / name)
        if name == "duplicate_file.csv":
            shutil.copy(BAD_EXPORTS / "good.csv", folder / "good.csv")

    expected, streamed, mapped = _both_ways(
        tmp_path, monkeypatch, land, lambda s: ingest.run(DAY, "run-1", s), batch_bytes=100
    )

    assert streamed == expected
    assert bool(mapped) == (name in STREAMED)
    if name in ("good.csv", "wrong_types.csv", "time_zones.csv"):
        assert mapped and max(mapped) == 1 and len(mapped) > 1, "read in several batches"


def test_repeats_and_times_across_batches_end_as_the_whole_file(tmp_path, monkeypatch):
    # given a file whose repeated lines are far apart and whose rows break every kind of rule; the same with times
    # in another format late in the file (the whole file is then read value by value); and with day-first times
    config = load_dataset_config("synthetic")
    _use_config(
        monkeypatch,
        dataclasses.replace(
            config, validation=dataclasses.replace(config.validation, duplicate_lines="quarantine")
        ),
    )
    rows = [
        f"{100000 + k % 37},2024-03-05 {k % 24:02}:{k % 60:02}:00,C{k % 11:04},SKU-{k % 7},Mug {k % 5},"
        f"{['France', 'Spain', ''][k % 3]},{['2', '-1', 'x', '20000'][k // 3 % 4]},{['3.50', '0', 'nan'][k // 12 % 3]}\n"
        for k in (i % 120 for i in range(600))
    ]
    day_first = [rows[1].replace("2024-03-05 ", "13/03/2024 ")] + [
        r.replace("2024-03-05 ", "05/03/2024 ") for r in rows
    ]

    def land_rows(lines: list[str]):
        def land(settings: Settings) -> None:
            folder = settings.landing_dir / DAY.isoformat()
            folder.mkdir(parents=True)
            (folder / "sales.csv").write_text(HEADER + "".join(lines), encoding="utf-8")

        return land

    worded = [
        r.replace("2024-03-05 ", "March 5 2024 ") for r in rows[:40]
    ]  # another format, late in the file
    for case, lines in enumerate((rows, rows + worded, day_first, [*day_first, rows[0]])):
        expected, streamed, mapped = _both_ways(
            tmp_path / str(case), monkeypatch, land_rows(lines), lambda s: ingest.run(DAY, "run-1", s), 2048
        )
        assert streamed == expected
        # numeric dates are left to the whole-file path, which settles their order over every value
        assert (len(mapped) > 10) if case < 2 else not mapped
        if case == 0:
            rules = {value for row in expected["quarantine"] for value in row}
            assert {"duplicate_line", "quantity_not_numeric", "location_missing"} <= rules


def test_a_file_arrow_rejects_late_is_read_whole(tmp_path, monkeypatch):
    # a row with too many fields far into the file: the batches read so far are dropped, the file read whole
    _use_config(monkeypatch, load_dataset_config("synthetic"))
    good = "100001,2024-03-05 09:15:00,C0001,SKU-1,Mug,France,2,3.50\n"

    def land(settings: Settings) -> None:
        folder = settings.landing_dir / DAY.isoformat()
        folder.mkdir(parents=True)
        (folder / "sales.csv").write_text(HEADER + good * 300 + good.replace("Mug", "Mug,big") + good)

    expected, streamed, _ = _both_ways(
        tmp_path, monkeypatch, land, lambda s: ingest.run(DAY, "run-1", s), batch_bytes=1024
    )
    assert streamed == expected
    assert expected["summary"]["rows_quarantined"] == 1
    assert not list((tmp_path / "streamed").rglob(".*.tmp-*")), "the abandoned batches' lines were removed"


def test_online_retail_days_in_one_export_end_as_read_whole(tmp_path, monkeypatch, shared_data):
    # given two weeks of the real Online Retail lines, with their repeated lines, delivered as one day's export
    config = load_dataset_config("online_retail")
    source = shared_data / "online_retail" / "online_retail.parquet"
    start, end, day = dt.date(2011, 11, 1), dt.date(2011, 11, 14), dt.date(2011, 11, 7)
    replay_dataset(config, tmp_path / "replay", source=str(source), start=start, end=end)
    frames = [
        pd.read_csv(
            day_file(tmp_path / "replay", start + dt.timedelta(days=n)), dtype=str, keep_default_na=False
        )
        for n in range((end - start).days + 1)
    ]
    export = pd.concat(frames, ignore_index=True)
    assert len(export) > 30_000 and export.duplicated().any()
    _use_config(monkeypatch, config)

    def land(settings: Settings) -> None:
        folder = settings.landing_dir / day.isoformat()
        folder.mkdir(parents=True)
        export.to_csv(folder / "export.csv", index=False)

    expected, streamed, mapped = _both_ways(
        tmp_path, monkeypatch, land, lambda s: ingest.run(day, "run-1", s), batch_bytes=256 << 10
    )
    assert streamed == expected
    assert len(mapped) > 5
    assert expected["summary"]["rows_in"] == len(export)
    assert expected["summary"]["rows_loaded"] > 0


@pytest.mark.parametrize("name", [name for name in CORPUS if name.endswith(".csv")])
def test_the_batches_of_a_file_are_the_rows_the_whole_file_reader_gives(name):
    config = _corpus_config(name)
    whole = read_export(BAD_EXPORTS / name, "csv", config.landing.delimiter, config.export_columns)
    for batch_bytes in (100, 150, 1 << 20):
        try:
            export = open_batches(
                str(BAD_EXPORTS / name), config.landing.delimiter, config.export_columns, batch_bytes
            )
            rows = [batch.rows for batch in export.batches()]
        except NotStreamable:
            # Arrow cannot skip a header longer than a block; the files in STREAMED are read at any larger size
            assert name not in STREAMED or batch_bytes == 100
            continue
        read = pd.concat(rows) if rows else whole.rows.iloc[:0]
        pd.testing.assert_frame_equal(read, whole.rows)
        assert (export.delimiter, export.preamble_lines) == (whole.delimiter, whole.preamble_lines)
