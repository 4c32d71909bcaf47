"""docs/bring-your-own-data.md, run as a new user would: its file and its config, written outside the repository,
replayed, loaded and run for a night through the real `daybreak` command, with everything inside DAYBREAK_HOME."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from daybreak.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

DOC = PROJECT_ROOT / "docs" / "bring-your-own-data.md"
DAYBREAK = Path(sys.executable).parent / "daybreak"


def _block(language: str) -> str:
    """The doc's first fenced block in `language`."""
    return re.search(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)


def _daybreak(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DAYBREAK), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=900
    )


def test_the_worked_example_runs_a_history_and_a_night_from_outside_the_repository(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    subprocess.run([sys.executable, "-c", _block("python")], cwd=outside, check=True)
    (outside / "purchases.yml").write_text(_block("yaml"), encoding="utf-8")
    home = tmp_path / "home"
    env = {
        **os.environ,
        "DAYBREAK_HOME": str(home),
        "DAYBREAK_DATASET": str(outside / "purchases.yml"),
    }
    rows_in_file = len((outside / "purchases.txt").read_text(encoding="utf-8").splitlines()) - 1

    check = _daybreak("config", "check", "purchases.yml", env=env, cwd=outside)
    assert (check.returncode, check.stdout) == (0, "OK purchases: purchases.yml\n")
    for command in (
        ["simulate"],
        ["load-history", "--until", "2024-03-30"],
        ["night", "--date", "2024-03-31"],
    ):
        done = _daybreak(*command, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]

    assert {"lake", "landing", "serving", "warehouse"} <= {p.name for p in home.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "home"]
    assert (home / "landing" / "purchases" / "2024-03-31" / "sales_2024-03-31.csv").is_file()
    assert sorted(p.name for p in outside.iterdir()) == ["purchases.txt", "purchases.yml"]
    with duckdb.connect(str(home / "serving" / "purchases.duckdb"), read_only=True) as connection:
        rows_in, loaded, quarantined = connection.execute(
            "select sum(rows_in), sum(rows_loaded), sum(rows_quarantined) from monitoring.ingest_runs"
        ).fetchone()
        rules = connection.execute(
            "select rule, detail from monitoring.quarantine where business_date = '2024-03-31' order by source_row"
        ).fetchall()
        forecasts = connection.execute(
            "select series_id, count(*), min(target_date) from predictions.forecasts "
            "where as_of_date = '2024-03-31' group by series_id order by series_id"
        ).fetchall()
        one_location_and_total = connection.execute(
            "select count(*), count(*) filter (where online.revenue = total.revenue) from marts.fct_daily_sales online "
            "join marts.fct_daily_sales total using (sales_date) "
            "where online.series_id = 'location=online' and total.series_id = 'total'"
        ).fetchone()
    assert rows_in == loaded + quarantined == rows_in_file
    assert rules == [
        ("unit_price_not_derivable", "unit_price = amount / units gives inf"),
        ("unit_price_below_min", "unit_price '-5.0' is below the minimum 0"),
    ]
    # one location, and the total every dataset has, which the Overview reads: equal to it on every day
    assert [(series, count) for series, count, _ in forecasts] == [("location=online", 28), ("total", 28)]
    assert all(str(first).startswith("2024-04-01") for *_, first in forecasts)
    assert one_location_and_total == (91, 91)


def test_a_path_that_is_no_yaml_file_is_refused_in_one_line(tmp_path):
    env = {**os.environ, "DAYBREAK_HOME": str(tmp_path / "home"), "DAYBREAK_DATASET": "/some/path/evil"}
    done = _daybreak("simulate", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "daybreak simulate: DAYBREAK_DATASET: dataset '/some/path/evil': no such YAML file (a path must name an existing "
        ".yml or .yaml file; shipped datasets: online_retail, store_item, synthetic)"
    ]
    assert not (tmp_path / "home").exists()
