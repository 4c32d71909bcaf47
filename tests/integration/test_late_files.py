"""A file that arrives late for an earlier day, through the real ingest job and real dbt.

Given a small synthetic shop ingested and built night by night to 03-09, when a second export for 03-05 lands after
that and the night of 03-10 runs, then the file lands in 03-05's partition, the transform rebuilds the fact marts
from 03-05 on, and they equal a full refresh of everything; rerunning the night changes nothing; and delivering
the late file again under another name loads nothing more.
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.warehouse.connection import connect, table_checksums

pytestmark = pytest.mark.integration

START, LATE_DAY, LAST_BUILT, NIGHT = (
    dt.date(2024, 3, 1),
    dt.date(2024, 3, 5),
    dt.date(2024, 3, 9),
    dt.date(2024, 3, 10),
)
REBUILT_MARTS = ("marts.fct_sales_lines", "marts.fct_daily_sales", "marts.features_series_daily")


def checksums(settings: Settings, tables=REBUILT_MARTS) -> dict:
    with connect(settings.warehouse_path, read_only=True) as connection:
        every = table_checksums(connection)
    return {table: every[table] for table in tables}


def land_late_file(settings: Settings, name: str) -> None:
    """03-05's export again with new invoice numbers: the same day's sales, sent in a second file."""
    folder = settings.landing_dir / LATE_DAY.isoformat()
    original = pd.read_csv(folder / f"sales_{LATE_DAY}.csv", dtype=str, keep_default_na=False)
    late = original.copy()
    late["invoice_no"] = late["invoice_no"].str.replace(r"^(C?)", r"\g<1>9", regex=True)
    late.to_csv(folder / name, index=False)


@pytest.fixture(scope="module")
def late_night(tmp_path_factory):
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs import ingest, transform

    settings = Settings(home=tmp_path_factory.mktemp("late"), dataset="synthetic")
    simulate_synthetic(
        settings.landing_dir, start=START, end=NIGHT, seed=3, customers=120, products=30, locations=3
    )
    day = START
    while day <= dt.date(2024, 3, 7):
        ingest.run(day, "history", settings)
        day += dt.timedelta(days=1)
    transform.run(dt.date(2024, 3, 7), "history", settings, full_refresh=True)
    for day in (dt.date(2024, 3, 8), LAST_BUILT):
        ingest.run(day, f"night-{day}", settings)
        transform.run(day, f"night-{day}", settings)

    land_late_file(settings, "late.csv")
    ingested = ingest.run(NIGHT, "night", settings)
    transformed = transform.run(NIGHT, "night", settings)
    return settings, ingested, transformed


def test_the_late_file_lands_in_its_day_and_the_marts_are_rebuilt_from_it(late_night):
    settings, ingested, transformed = late_night
    assert ingested["late_days"] == [LATE_DAY.isoformat()]
    assert transformed["rebuilt_from"] == LATE_DAY.isoformat()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        assert connection.execute(
            "select count(*) from marts.fct_sales_lines where business_date = ? and order_id similar to 'C?9.*'",
            [LATE_DAY],
        ).fetchone() == (len(pd.read_csv(settings.landing_dir / LATE_DAY.isoformat() / "late.csv")),)
        assert connection.execute(
            "select business_date, requested_by_run_date, done_by_run_date from monitoring.rebuild_requests"
        ).fetchall() == [(LATE_DAY, NIGHT, NIGHT)]
    assert len(list((settings.lake_dir / "sales_lines" / f"business_date={LATE_DAY}").glob("*.parquet"))) == 2


def test_the_rebuilt_marts_equal_a_full_refresh(late_night, tmp_path):
    from jobs import transform

    settings, _, _ = late_night
    copy = Settings(home=tmp_path / "copy", dataset="synthetic")
    copy.warehouse_path.parent.mkdir(parents=True)
    shutil.copyfile(settings.warehouse_path, copy.warehouse_path)
    copy.lake_dir.parent.mkdir(parents=True)
    copy.lake_dir.symlink_to(settings.lake_dir)  # its raw view reads the lake of its own data home
    transform.run(NIGHT, "full", copy, full_refresh=True)
    assert checksums(copy) == checksums(settings)


def test_rerunning_the_night_and_resending_the_file_change_nothing(late_night):
    from jobs import ingest, transform

    settings, _, _ = late_night
    before = checksums(settings, (*REBUILT_MARTS, "monitoring.quarantine", "monitoring.rebuild_requests"))
    assert ingest.run(NIGHT, "rerun", settings)["new_files"] == []
    assert transform.run(NIGHT, "rerun", settings)["rebuilt_from"] == LATE_DAY.isoformat(), "the same work"
    assert (
        checksums(settings, (*REBUILT_MARTS, "monitoring.quarantine", "monitoring.rebuild_requests"))
        == before
    )

    shutil.copyfile(
        settings.landing_dir / LATE_DAY.isoformat() / "late.csv",
        settings.landing_dir / LATE_DAY.isoformat() / "late_again.csv",
    )
    summary = ingest.run(NIGHT, "resend", settings)
    assert summary["duplicates"] == {f"{LATE_DAY}/late_again.csv": f"{LATE_DAY}/late.csv"}
    assert summary["late_days"] == []
    transform.run(NIGHT, "resend", settings)
    assert checksums(settings) == {table: before[table] for table in REBUILT_MARTS}
