"""`daybreak transform` waits for the warehouse like the Python writers, instead of failing at once.

Given a small synthetic shop ingested for three days, when another process holds the warehouse open (read-only,
which is enough to make dbt-duckdb fail with "Could not set lock on file") for a few seconds, then transform waits,
builds once the file is free, and removes the spill folder a killed DuckDB process left beside the file; and when
the file stays held past the wait, transform gives up naming the lock. The night it builds publishes a serving copy
that still answers once the lake is gone. dbt runs inside the job's process, and lets the file go when it returns:
another process can write to it at once, and the job's environment is as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config
from daybreak.ingest.simulation.synthetic import simulate_synthetic
from daybreak.warehouse.publish import publish
from jobs import ingest, transform

pytestmark = pytest.mark.integration

DAYS = [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
HOLD_SECONDS = 4
WRITE_CHECKPOINT = "import sys, duckdb; duckdb.connect(sys.argv[1]).execute('checkpoint')"


@pytest.fixture
def settings(tmp_path) -> Settings:
    settings = Settings(home=tmp_path, dataset="synthetic")
    simulate_synthetic(
        settings.landing_dir, start=DAYS[0], end=DAYS[-1], seed=3, customers=30, products=8, locations=2
    )
    for day in DAYS:
        ingest.run(day, "test", settings)
    return settings


def build_args() -> list[str]:
    config = load_dataset_config("synthetic")
    return ["build", "--vars", json.dumps(transform.dbt_vars(config))]


def hold_open(path, seconds: float) -> subprocess.Popen:
    """Another process that opens the warehouse read-only and keeps it open for `seconds`."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('open', flush=True); time.sleep(float(sys.argv[2]))",
            str(path),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_transform_waits_while_another_process_has_the_warehouse_open(settings):
    spill = settings.warehouse_path.with_name(settings.warehouse_path.name + ".tmp")
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"left by a killed process")
    # held until released below: dbt's start and first parse take over two minutes on a loaded 2-core machine, and
    # a holder gone by then let dbt build instead of meeting the lock
    holder = hold_open(settings.warehouse_path, 900)
    try:
        # dbt alone fails at once on the held file: the situation transform must wait out
        with pytest.raises(transform.TransformError, match="Could not set lock on file"):
            transform._run_dbt(*transform.dbt_command(settings, build_args(), DAYS[-1]), DAYS[-1])
        assert holder.poll() is None, "the holder still has the file open"

        release = threading.Timer(HOLD_SECONDS, holder.terminate)
        release.start()
        started = time.monotonic()
        summary = transform.run(DAYS[-1], "test", settings)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()

    assert summary["business_date"] == "2024-01-03"
    assert waited > HOLD_SECONDS, "transform built only once the other process let the file go"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as reader:
        last = reader.execute("select max(sales_date) from marts.fct_daily_sales").fetchone()[0]
    assert last == DAYS[-1], "the night was built"
    assert not spill.exists(), "the stale spill folder was removed while transform held the file"


def test_dbt_in_this_process_lets_the_warehouse_go_and_leaves_the_environment_as_it_was(
    settings, monkeypatch
):
    monkeypatch.delenv("DAYBREAK_RUN_DATE", raising=False)
    before = dict(os.environ)
    transform.run(DAYS[-1], "test", settings)

    assert dict(os.environ) == before
    writer = subprocess.run(
        [sys.executable, "-c", WRITE_CHECKPOINT, str(settings.warehouse_path)], capture_output=True, text=True
    )
    assert writer.returncode == 0, writer.stderr
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    assert {r["status"] for r in results["results"]} <= {"success", "pass", "no-op"} and len(
        results["results"]
    ) > 20
    assert not (settings.dbt_target_dir / "manifest.json").exists(), "a night's build writes no manifest"


def test_the_built_night_publishes_a_copy_that_reads_nothing_outside_itself(settings):
    transform.run(DAYS[-1], "test", settings)

    publish(settings.warehouse_path, settings.serving_path)
    shutil.rmtree(settings.lake_dir)  # the lake gone: the copy must not notice

    config = {"enable_external_access": False}
    with duckdb.connect(str(settings.serving_path), read_only=True, config=config) as sealed:
        views = sealed.execute(
            "select schema_name || '.' || view_name from duckdb_views() where not internal order by 1"
        ).fetchall()
        assert ("staging.stg_raw__sales_lines",) in views
        counts = {
            relation: sealed.execute(f"select count(*) from {relation}").fetchone()[0]  # noqa: S608
            for relation in ("raw.sales_lines", "staging.stg_raw__sales_lines", "marts.fct_sales_lines")
        }
    assert counts["raw.sales_lines"] > 0
    assert len(set(counts.values())) == 1, counts


def test_transform_gives_up_after_its_wait_naming_the_lock(settings):
    holder = hold_open(settings.warehouse_path, 120)
    try:
        with pytest.raises(Exception, match="Could not set lock on file"):
            transform.invoke_dbt(settings, build_args(), DAYS[-1], wait_seconds=1.0)
    finally:
        holder.kill()
        holder.wait()
