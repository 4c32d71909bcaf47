"""Ingest's corrections protocol (`landing.corrections`), an open day whose every row is quarantined, the lake read
relative to the data home, and a night waiting on the warehouse lock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from daybreak.core.failures import PermanentError
from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config
from daybreak.ingest import canonical, lake
from daybreak.warehouse.connection import connect
from jobs import ingest
from tests.unit.test_ingest import (
    BAD_EXPORTS,
    DAY,
    GOOD_ROWS,
    HEADER,
    assert_accounting_balances,
    lake_rows,
    land,
    warehouse_rows,
)

NEXT = DAY + dt.timedelta(days=1)
CORRECTED = GOOD_ROWS.replace(
    'SKU-2,"Plate, large",United Kingdom,1,', 'SKU-2,"Plate, large",United Kingdom,3,'
)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", dataset="synthetic")


def use_corrections(monkeypatch, corrections: str) -> None:
    config = load_dataset_config("synthetic")
    changed = dataclasses.replace(
        config, landing=dataclasses.replace(config.landing, corrections=corrections)
    )
    monkeypatch.setattr(ingest, "load_dataset_config", lambda name: changed)


def next_day_export(settings: Settings) -> None:
    land(settings, NEXT, HEADER + GOOD_ROWS.replace("2024-03-05", "2024-03-06"), name="sales.csv")


def day_revenue(settings: Settings, day: dt.date = DAY) -> float:
    (revenue,) = warehouse_rows(
        settings, f"select sum(quantity * unit_price) from raw.sales_lines where business_date = '{day}'"
    )[0]
    return revenue


def test_a_correction_delivered_a_night_later_replaces_the_day_and_is_accounted(settings, monkeypatch):
    # given a day landed, and a correction of it (one line changed) delivered under a new name the next night
    use_corrections(monkeypatch, "replace")
    land(settings, DAY, HEADER + GOOD_ROWS, name="sales.csv")
    ingest.run(DAY, "night-1", settings)
    assert day_revenue(settings) == pytest.approx(2 * 3.5 + 12 - 3.5)
    land(settings, DAY, HEADER + CORRECTED, name="sales-corrected.csv")
    next_day_export(settings)

    # when the next night runs
    summary = ingest.run(NEXT, "night-2", settings)

    # then the correction replaces the day: its lines alone are in the lake, the replaced file is accounted
    assert summary["replaced"] == {f"{DAY}/sales.csv": f"{DAY}/sales-corrected.csv"}
    assert summary["late_days"] == [DAY.isoformat()], "the corrected day is rebuilt"
    assert day_revenue(settings) == pytest.approx(2 * 3.5 + 3 * 12 - 3.5)
    assert set(lake_rows(settings)["source_file"]) == {"sales-corrected.csv"}
    assert warehouse_rows(
        settings,
        "select source_file, status, rows_in, rows_loaded, rows_replaced, replaced_by, replaced_by_run_date, "
        f"landed_by_run_date from monitoring.ingest_runs where business_date = '{DAY}' order by source_file",
    ) == [
        ("sales-corrected.csv", "loaded", 3, 3, 0, None, None, NEXT),
        ("sales.csv", "replaced", 3, 0, 3, f"{DAY}/sales-corrected.csv", NEXT, DAY),
    ]
    assert_accounting_balances(settings)
    # and a rerun of either night changes nothing
    before = warehouse_rows(
        settings, "select * exclude (run_id, ingested_at) from monitoring.ingest_runs order by all"
    )
    ingest.run(DAY, "rerun", settings)
    ingest.run(NEXT, "rerun", settings)
    after = warehouse_rows(
        settings, "select * exclude (run_id, ingested_at) from monitoring.ingest_runs order by all"
    )
    assert after == before
    assert day_revenue(settings) == pytest.approx(2 * 3.5 + 3 * 12 - 3.5)


def test_a_replay_of_the_landing_folders_ends_with_the_same_lake(tmp_path, monkeypatch):
    # given the same deliveries, once ingested night by night and once replayed from scratch (a backfill), where
    # the correction's name sorts before the original's: the later written is the later delivery
    use_corrections(monkeypatch, "replace")
    nightly, replay = (Settings(home=tmp_path / name, dataset="synthetic") for name in ("nightly", "replay"))
    for settings in (nightly, replay):
        original = land(settings, DAY, HEADER + GOOD_ROWS, name="sales.csv")
        os.utime(original, (1_700_000_000, 1_700_000_000))
    ingest.run(DAY, "night-1", nightly)
    for settings in (nightly, replay):
        correction = land(settings, DAY, HEADER + CORRECTED, name="fix.csv")
        os.utime(correction, (1_700_090_000, 1_700_090_000))
        next_day_export(settings)
    ingest.run(NEXT, "night-2", nightly)

    ingest.run_days([DAY, NEXT], "backfill", replay)

    assert warehouse_rows(replay, "select * from raw.sales_lines order by all") == warehouse_rows(
        nightly, "select * from raw.sales_lines order by all"
    )
    statuses = "select source_file, status, replaced_by from monitoring.ingest_runs order by all"
    assert warehouse_rows(replay, statuses) == warehouse_rows(nightly, statuses)
    assert_accounting_balances(replay)


def test_with_corrections_add_a_later_file_adds_to_its_day_and_says_so(settings, caplog):
    # given the default protocol, a day landed and a second file for it the next night
    assert load_dataset_config("synthetic").landing.corrections == "add"
    land(settings, DAY, HEADER + GOOD_ROWS, name="sales.csv")
    ingest.run(DAY, "night-1", settings)
    land(settings, DAY, HEADER + CORRECTED, name="sales-corrected.csv")
    next_day_export(settings)

    with caplog.at_level(logging.WARNING):
        ingest.run(NEXT, "night-2", settings)

    # then both files' lines are the day's, and the log says how to make the second one replace the first
    assert len(lake_rows(settings)) == 6
    assert (
        "sales-corrected.csv adds 3 line(s) to business date 2024-03-05, which already has sales.csv"
        in caplog.text
    )
    assert "landing.corrections is add; if the file corrects them, set it to replace" in caplog.text


def test_the_refusal_of_a_changed_file_points_to_the_corrections_protocol(settings):
    path = land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run-1", settings)
    path.write_text(HEADER + CORRECTED)
    with pytest.raises(canonical.RefusedExportError) as error:
        ingest.run(DAY, "run-2", settings)
    assert "deliver a correction under a new name, which adds to the day's landed files" in str(error.value)
    assert "landing.corrections: add" in str(error.value)
    assert "docs/operations.md, 'Corrections'" in str(error.value)


def test_a_day_whose_every_row_is_quarantined_fails_that_night_and_every_later_one(settings):
    # given an open day whose only export has no valid line
    shutil.copy(BAD_EXPORTS / "all_quarantined.csv", land(settings, DAY, "", name="all_quarantined.csv"))

    # then its night fails for good, naming the file and the rule
    with pytest.raises(
        canonical.RefusedExportError, match=r"all_quarantined\.csv: all 4 row\(s\) quarantined: "
    ):
        ingest.run(DAY, "night-1", settings)

    # and the next night, which finds the file again for the day before it, fails the same way
    next_day_export(settings)
    with pytest.raises(ingest.IngestError, match="ordered_at_not_on_business_date") as error:
        ingest.run(NEXT, "night-2", settings)
    assert isinstance(error.value, PermanentError)
    assert not lake.partition_dir(settings, DAY).exists()


def test_a_correction_that_quarantines_every_row_cannot_empty_a_day(settings, monkeypatch):
    use_corrections(monkeypatch, "replace")
    land(settings, DAY, HEADER + GOOD_ROWS, name="sales.csv")
    ingest.run(DAY, "night-1", settings)
    shutil.copy(BAD_EXPORTS / "all_quarantined.csv", land(settings, DAY, "", name="v2.csv"))
    with pytest.raises(canonical.RefusedExportError, match=r"v2\.csv: all 4 row\(s\) quarantined"):
        ingest.run(DAY, "night-1-again", settings)
    assert set(lake_rows(settings)["source_file"]) == {"sales.csv"}, "the day keeps its lines"


def test_a_data_home_moved_elsewhere_reads_its_own_lake(tmp_path):
    # given a data home with a landed day
    settings = Settings(home=tmp_path / "old", dataset="synthetic")
    land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run", settings)

    # when it is moved, and the old place filled with other lines
    moved = Settings(home=tmp_path / "new", dataset="synthetic")
    shutil.copytree(settings.home, moved.home)
    shutil.rmtree(settings.home)
    land(settings, DAY, HEADER + GOOD_ROWS.replace("3.50", "99.0"))
    ingest.run(DAY, "run", settings)

    # then the moved warehouse reads its own lake
    with connect(moved.warehouse_path, read_only=True) as connection:
        assert connection.execute("select sum(unit_price) from raw.sales_lines").fetchone()[
            0
        ] == pytest.approx(19)
    with duckdb.connect(str(moved.warehouse_path), read_only=True) as connection:
        (view,) = connection.execute(
            "select sql from duckdb_views() where view_name = 'sales_lines'"
        ).fetchone()
    assert "read_parquet('lake/synthetic/sales_lines/*/*.parquet'" in view


def test_an_absolute_lake_path_of_an_older_warehouse_is_read_then_made_relative(settings):
    land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run", settings)
    absolute = str(settings.lake_dir / "sales_lines" / "*" / "*.parquet")
    with connect(settings.warehouse_path) as connection:
        connection.execute(
            f"create or replace view raw.sales_lines as select * from read_parquet('{absolute}', "
            "hive_partitioning = true, hive_types = {'business_date': DATE}, union_by_name = true)"
        )
    assert warehouse_rows(settings, "select count(*) from raw.sales_lines") == [(3,)]

    land(settings, NEXT, HEADER + GOOD_ROWS.replace("2024-03-05", "2024-03-06"))
    ingest.run(NEXT, "run", settings)

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        (view,) = connection.execute(
            "select sql from duckdb_views() where view_name = 'sales_lines'"
        ).fetchone()
    assert absolute not in view
    assert warehouse_rows(settings, "select count(*) from raw.sales_lines") == [(6,)]


def raw_view_sql(settings) -> str:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(
            "select sql from duckdb_views() where view_name = 'sales_lines'"
        ).fetchone()[0]


def test_a_lake_of_todays_files_is_read_by_position_and_one_with_older_files_by_name(settings, tmp_path):
    # given a lake whose files all have today's schema
    land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run", settings)
    assert "union_by_name" not in raw_view_sql(settings)

    # given a data home restored with a file landed before `revenue` and `extra_values` existed
    older = Settings(home=tmp_path / "restored", dataset=settings.dataset)
    shutil.copytree(settings.lake_dir, older.lake_dir)
    (today,) = lake.partition_dir(older, DAY).glob("*.parquet")
    earlier = DAY - dt.timedelta(days=1)
    lake.partition_dir(older, earlier).mkdir()
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * exclude (revenue, extra_values) from read_parquet('{today}')) "
            f"to '{lake.partition_dir(older, earlier)}/older.parquet'"
        )
    land(older, NEXT, HEADER + GOOD_ROWS.replace("2024-03-05", "2024-03-06"))

    # when its first night makes the view
    ingest.run(NEXT, "run", older)

    # then the view unions by name, and reads the older file's rows with nulls where it has no column
    assert "union_by_name = true" in raw_view_sql(older)
    with connect(older.warehouse_path, read_only=True) as connection:
        rows = connection.execute(
            "select business_date, count(*), count(revenue) from raw.sales_lines group by all order by all"
        ).fetchall()
    assert [(day, lines) for day, lines, _ in rows] == [(earlier, 3), (DAY, 3), (NEXT, 3)]


def test_a_night_waiting_on_the_warehouse_lock_says_so_in_one_line(settings, caplog):
    # given another process holding the warehouse for a moment
    land(settings, DAY, HEADER + GOOD_ROWS)
    settings.warehouse_path.parent.mkdir(parents=True)
    duckdb.connect(str(settings.warehouse_path)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print(1, flush=True); "
         "time.sleep(1.5)", str(settings.warehouse_path)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    holder.stdout.readline()
    try:
        # when a night runs
        with caplog.at_level(logging.DEBUG):
            ingest.run(DAY, "run", settings)
    finally:
        holder.kill()
        holder.wait()

    # then the wait is one line saying what it waits for and who holds the lock, then one when it ends
    waits = [r for r in caplog.records if "waiting for the warehouse" in r.getMessage()]
    assert len(waits) == 1
    assert waits[0].levelno == logging.INFO and waits[0].exc_info is None
    assert f"waiting for the warehouse {settings.warehouse_path}: " in waits[0].getMessage()
    assert f"(process {holder.pid}) holds its lock" in waits[0].getMessage()
    assert not any(r.exc_info or "Traceback" in r.getMessage() for r in caplog.records)
    assert sum("is free after" in r.getMessage() for r in caplog.records) == 1


def test_dbt_finding_the_warehouse_locked_waits_without_its_failure_output(settings, monkeypatch, caplog):
    from jobs import transform

    # given dbt that finds the file locked once (another process took it after the job's own wait), then runs
    locked = (
        'Runtime Error\n  IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held in '
        "/usr/bin/python3 (PID 4242). See also https://duckdb.org/docs/connect/concurrency\n"
    )
    answers = [(False, "Encountered an error:\n" + locked), (True, "Completed successfully\n")]
    monkeypatch.setattr(transform.dbt_invocation, "run_in_process", lambda *args, **kwargs: answers.pop(0))
    monkeypatch.setattr(transform.time, "sleep", lambda seconds: None)

    with caplog.at_level(logging.INFO):
        output = transform.invoke_dbt(settings, ["build"], DAY)

    # then the wait is one line naming the holder, and only the successful run's output is logged
    assert output == "Completed successfully\n"
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if m.startswith("waiting for")] == [
        f"waiting for the warehouse {settings.warehouse_path}: /usr/bin/python3 (process 4242) holds its lock; "
        "trying again for up to 600 s"
    ]
    assert not any("Encountered an error" in m or "Runtime Error" in m for m in messages)
    assert "dbt | Completed successfully" in messages


def test_a_column_renamed_mid_history_is_read_by_either_name(tmp_path, monkeypatch):
    # given a config that names the location column both ways, and a day exported under each name
    config = load_dataset_config(BAD_EXPORTS / "renamed_column.yml")
    monkeypatch.setattr(ingest, "load_dataset_config", lambda name: config)
    loaded = {}
    for name in ("good.csv", "renamed_column.csv"):
        settings = Settings(home=tmp_path / name, dataset="synthetic")
        shutil.copy(BAD_EXPORTS / name, land(settings, DAY, "", name=name))
        assert ingest.run(DAY, "run", settings)["unexpected_columns"] == {}
        loaded[name] = lake_rows(settings).drop(columns=["source_file", "file_sha256"])
    # then both load the same lines, the location read from whichever name the file has
    assert loaded["renamed_column.csv"]["location"].tolist() == [
        "United Kingdom",
        "United Kingdom",
        "France",
        "Germany",
    ]
    assert loaded["renamed_column.csv"].equals(loaded["good.csv"])


def test_a_file_of_mixed_encodings_loads_its_names_intact_and_records_the_lines_read_otherwise(
    settings, caplog
):
    shutil.copy(BAD_EXPORTS / "mixed_encodings.csv", land(settings, DAY, "", name="mixed_encodings.csv"))
    with caplog.at_level(logging.WARNING):
        summary = ingest.run(DAY, "run", settings)
    assert lake_rows(settings)["product_name"].tolist() == ["Café", "Crème brûlée dish", "Ærøskøbing mug"]
    assert summary["encodings"] == {"mixed_encodings.csv": "utf-8, cp1252 on line(s) 3"}
    assert warehouse_rows(settings, "select encoding from monitoring.ingest_runs") == [
        ("utf-8, cp1252 on line(s) 3",)
    ]
    assert "is not valid UTF-8; read as utf-8, cp1252 on line(s) 3" in caplog.text


def test_a_control_character_in_an_id_is_quarantined_with_what_it_is(settings):
    shutil.copy(
        BAD_EXPORTS / "control_characters.csv", land(settings, DAY, "", name="control_characters.csv")
    )
    ingest.run(DAY, "run", settings)
    assert warehouse_rows(
        settings, "select source_row, rule, detail from monitoring.quarantine order by 1"
    ) == [
        (2, "customer_id_control_character", "customer_id holds the control character '\\x00'"),
        (3, "product_id_control_character", "product_id holds the control character '\\x1b'"),
    ]
    assert not any("\x00" in str(value) for value in lake_rows(settings)["customer_id"])


def test_retention_removes_a_replaced_files_landed_copy_too(settings, monkeypatch):
    from daybreak.nights.retention import expired_files

    use_corrections(monkeypatch, "replace")
    original = land(settings, DAY, HEADER + GOOD_ROWS, name="sales.csv")
    ingest.run(DAY, "night-1", settings)
    land(settings, DAY, HEADER + CORRECTED, name="sales-corrected.csv")
    ingest.run(DAY, "night-1-again", settings)
    with connect(settings.warehouse_path) as connection:
        expired = expired_files(connection, settings, DAY + dt.timedelta(days=30), 7)
    assert original in expired
    assert lake.landed_copy(settings, DAY, lake.sha256_of(original), "sales.csv") in expired


def test_day_first_exports_loaded_together_are_each_read_as_their_day_settles(settings):
    # given two days exported day-first, whose dates no value settles (days 5 and 6 of March), loaded in one batch
    days = [DAY, NEXT]
    for day in days:
        rows = GOOD_ROWS.replace("2024-03-05 ", day.strftime("%d/%m/%Y "))
        land(settings, day, HEADER + rows)

    summaries = ingest.run_days(days, "bulk", settings)

    # then every row of each is read day-first, on its day
    assert [s["rows_loaded"] for s in summaries] == [3, 3]
    for day in days:
        assert {t.date() for t in lake_rows(settings, day)["ordered_at"]} == {day}
