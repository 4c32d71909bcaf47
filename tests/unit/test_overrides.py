"""Planners' overrides: the append-only log, its state, and how a night applies it to forecasts."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.nights import overrides
from daybreak.warehouse import tables
from jobs.cli import main
from tests.conftest import write_roles_file

NOW = dt.datetime(2024, 6, 30, 18, 0, tzinfo=dt.UTC)
SEEN = dt.date(2024, 6, 29)  # the newest published night the planner was looking at


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", dataset="synthetic")


def add(settings, **changes) -> dict:
    request = {
        "series_id": "total",
        "start_date": dt.date(2024, 7, 1),
        "end_date": dt.date(2024, 7, 3),
        "kind": "percent",
        "amount": 10.0,
        "reason": "summer promotion",
        "author": "ana",
        "now": NOW,
        "as_of_date": SEEN,
    } | changes
    return overrides.add(settings, **request)


def forecasts(days: int = 5, series_id: str = "total") -> pd.DataFrame:
    dates = [dt.date(2024, 7, 1) + dt.timedelta(days=i) for i in range(days)]
    return pd.DataFrame(
        {
            "series_id": series_id,
            "target_date": dates,
            "yhat": 100.0,
            "yhat_lower_80": 90.0,
            "yhat_upper_80": 110.0,
            "yhat_lower_95": 80.0,
            "yhat_upper_95": 120.0,
        }
    )


def test_the_log_is_append_only_lines_outside_the_warehouse(settings):
    first = add(settings)
    overrides.revoke(
        settings, first["override_id"], reason="promotion cancelled", author="ben", now=NOW, as_of_date=SEEN
    )

    path = settings.home / "overrides" / "synthetic.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["add", "revoke"]
    assert first["override_id"].startswith("ov-") and len(first["override_id"]) == 15
    state = overrides.current(settings)
    assert state.loc[0, "status"] == "revoked"
    assert state.loc[0, "revoked_by"] == "ben"
    assert state.loc[0, "revoke_reason"] == "promotion cancelled"
    assert list(state.columns) == list(tables.table("planning.overrides").column_names)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end_date": dt.date(2024, 6, 1)}, "before it starts"),
        ({"kind": "value", "amount": -1.0}, "negative"),
        ({"amount": -100.0}, "above -100%"),
        ({"reason": "  "}, "reason"),
        ({"kind": "double"}, "kind"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_written(settings, changes, message):
    with pytest.raises(overrides.OverrideError, match=message):
        add(settings, **changes)
    assert overrides.read_log(settings) == []


def test_only_an_active_override_can_be_revoked(settings):
    with pytest.raises(overrides.OverrideError, match="no active override"):
        overrides.revoke(settings, "ov-000000000000", reason="x", author="ben", now=NOW, as_of_date=SEEN)


def test_a_percentage_scales_the_point_and_the_bounds_of_the_covered_dates_only(settings):
    record = add(settings)

    applied = overrides.apply(forecasts(), overrides.current(settings))

    assert applied["yhat_statistical"].tolist() == [100.0] * 5
    assert applied["yhat"].round(6).tolist() == [110.0, 110.0, 110.0, 100.0, 100.0]
    assert applied["yhat_upper_95"].round(6).tolist()[:3] == [132.0] * 3
    assert applied["override_id"].tolist() == [record["override_id"]] * 3 + [None, None]


def test_a_value_sets_the_point_and_shifts_the_bounds_never_below_zero(settings):
    add(settings, kind="value", amount=5.0, start_date=dt.date(2024, 7, 2), end_date=dt.date(2024, 7, 2))

    applied = overrides.apply(forecasts(), overrides.current(settings))

    row = applied.iloc[1]
    assert (row["yhat"], row["yhat_statistical"]) == (5.0, 100.0)
    assert (row["yhat_lower_95"], row["yhat_lower_80"], row["yhat_upper_80"]) == (0.0, 0.0, 15.0)


def test_the_override_recorded_last_wins_and_a_revoked_one_does_not_apply(settings):
    add(settings, amount=10.0)
    later = add(settings, kind="value", amount=150.0, reason="store reopening")
    other = add(settings, amount=-50.0, series_id="location=Germany")
    overrides.revoke(
        settings, other["override_id"], reason="wrong series", author="ana", now=NOW, as_of_date=SEEN
    )

    applied = overrides.apply(
        pd.concat([forecasts(), forecasts(series_id="location=Germany")]), overrides.current(settings)
    )

    assert applied["yhat"].tolist()[:3] == [150.0] * 3
    assert set(applied["override_id"].iloc[:3]) == {later["override_id"]}
    assert applied["yhat"].iloc[5:].tolist() == [100.0] * 5
    assert applied["override_id"].iloc[5:].isna().all()


def test_a_night_applies_what_was_recorded_before_it_so_reruns_of_published_nights_do_not_change(settings):
    record = add(settings, as_of_date=SEEN)
    later = add(settings, kind="value", amount=7.0, as_of_date=SEEN + dt.timedelta(days=1))
    overrides.revoke(
        settings,
        record["override_id"],
        reason="ended",
        author="ben",
        now=NOW,
        as_of_date=SEEN + dt.timedelta(days=2),
    )

    def applied(night: dt.date) -> list:
        return overrides.apply(forecasts(), overrides.current(settings, night=night))["override_id"].tolist()

    assert set(applied(SEEN)) == {None}  # the rerun of the night the planner saw
    assert applied(SEEN + dt.timedelta(days=1))[:3] == [record["override_id"]] * 3  # the next night
    assert applied(SEEN + dt.timedelta(days=2))[:3] == [later["override_id"]] * 3
    assert applied(SEEN + dt.timedelta(days=3))[:3] == [later["override_id"]] * 3  # the revoked one is gone
    whole = overrides.current(settings).set_index("override_id")
    assert whole.loc[record["override_id"], "revoked_as_of_date"] == SEEN + dt.timedelta(days=2)


def test_a_line_recorded_before_any_night_applies_to_every_night(settings):
    record = add(settings, as_of_date=None)

    assert (
        overrides.apply(forecasts(), overrides.current(settings, night=dt.date(2000, 1, 1)))[
            "override_id"
        ].tolist()[:3]
        == [record["override_id"]] * 3
    )


def test_without_overrides_the_final_forecast_is_the_statistical_one(settings):
    applied = overrides.apply(forecasts(), overrides.current(settings))

    assert (applied["yhat"] == applied["yhat_statistical"]).all()
    assert applied["override_id"].isna().all()


def test_ingest_replaces_the_audit_table_with_the_log(settings):
    add(settings)
    connection = duckdb.connect()
    overrides.ingest(connection, overrides.current(settings, "run-1"))
    add(settings, reason="second")
    overrides.ingest(connection, overrides.current(settings, "run-2"))

    rows = connection.execute(
        "select reason, run_id from planning.overrides order by created_at, reason"
    ).fetchall()
    assert sorted(rows) == [("second", "run-2"), ("summer promotion", "run-2")]


def test_the_command_line_adds_lists_and_revokes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    monkeypatch.setenv("DAYBREAK_USER", "carla")
    write_roles_file(tmp_path / "home" / "roles.yml", {"planner": "carla"})

    arguments = ["override", "add", "--series", "total", "--start", "2024-07-01", "--value", "5000"]
    assert main([*arguments, "--reason", "trade fair"]) == 0
    added = json.loads(capsys.readouterr().out)["added"]
    assert added["author"] == "carla (local)"
    assert added["end_date"] == "2024-07-01"

    assert main(["override", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)["overrides"]
    assert [(o["override_id"], o["start_date"]) for o in listed] == [(added["override_id"], "2024-07-01")]

    assert main(["override", "revoke", added["override_id"], "--reason", "fair cancelled"]) == 0
    capsys.readouterr()
    assert main(["override", "list"]) == 0
    assert json.loads(capsys.readouterr().out)["overrides"] == []

    assert main(["override", "revoke", added["override_id"], "--reason", "again"]) == 2
    assert "no active override" in capsys.readouterr().err
