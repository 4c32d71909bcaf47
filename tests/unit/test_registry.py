"""The model registry: register/promote/reject/rollback against a real DuckDB file."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from daybreak.warehouse import registry, registry_store
from daybreak.warehouse.connection import connect, table_checksums

D1, D2, D3, D4 = (dt.date(2024, 3, d) for d in (1, 8, 15, 22))


def _register(connection, version: str, day: dt.date, model_id: str = "total", **overrides) -> None:
    fields = {
        "model_kind": "forecast",
        "model_id": model_id,
        "version": version,
        "trained_for_date": day,
        "data_start": dt.date(2023, 1, 1),
        "data_end": day,
        "model_name": "auto_ets",
        "params": {"season_length": 7},
        "metrics": {"mase": 0.8},
        "artifact_path": f"/models/forecast/{version}/{model_id}.json",
        "run_id": f"run-{version}",
    }
    registry.register(connection, **{**fields, **overrides})


@pytest.fixture
def connection(tmp_path):
    with connect(tmp_path / "w.duckdb") as connection:
        yield connection


def _statuses(connection, model_id: str = "total") -> dict[str, str]:
    frame = registry.list_versions(connection, "forecast", model_id)
    return dict(zip(frame["version"], frame["status"], strict=True))


def _actions(connection) -> list[tuple[str, str, str | None, str | None]]:
    frame = registry.list_events(connection)
    return list(frame[["version", "action", "from_status", "to_status"]].itertuples(index=False, name=None))


def test_a_registered_version_is_a_challenger_with_its_lineage(connection):
    _register(connection, "v1", D1)

    (row,) = registry.list_versions(connection).to_dict("records")
    assert row["status"] == "challenger"
    assert row["trained_for_date"].date() == D1 and row["data_end"].date() == D1
    assert row["code_version"].startswith("0.1.0")
    assert registry.champion(connection, "forecast", "total") is None
    assert _actions(connection) == [("v1", "register", None, "challenger")]


def test_promote_retires_the_old_champion_and_audits_both(connection):
    _register(connection, "v1", D1)
    registry.promote(
        connection, "forecast", "total", "v1", reason="first", actor="pipeline", logical_date=D1, run_id="r1"
    )
    _register(connection, "v2", D2)
    registry.promote(
        connection, "forecast", "total", "v2", reason="better", actor="pipeline", logical_date=D2, run_id="r2"
    )

    assert _statuses(connection) == {"v1": "retired", "v2": "champion"}
    champion = registry.champion(connection, "forecast", "total")
    assert champion["version"] == "v2" and champion["params"] == {"season_length": 7}
    assert champion["metrics"] == {"mase": 0.8}
    assert _actions(connection)[-2:] == [
        ("v1", "retire", "champion", "retired"),
        ("v2", "promote", "challenger", "champion"),
    ]
    events = registry.list_events(connection)
    assert events["event_seq"].tolist() == list(range(1, len(events) + 1))
    assert set(events["actor"]) == {"pipeline"}


def test_reject_keeps_the_champion_and_records_why(connection):
    _register(connection, "v1", D1)
    registry.promote(
        connection, "forecast", "total", "v1", reason="first", actor="pipeline", logical_date=D1, run_id="r1"
    )
    _register(connection, "v2", D2)
    registry.reject(
        connection, "forecast", "total", "v2", reason="worse", actor="pipeline", logical_date=D2, run_id="r2"
    )

    assert _statuses(connection) == {"v1": "champion", "v2": "challenger"}
    last = registry.list_events(connection).iloc[-1]
    assert (last["action"], last["reason"], last["version"]) == ("reject", "worse", "v2")
    assert registry.decided(connection, "forecast", "total", "v2")


def test_rollback_restores_the_previous_champion(connection):
    for version, day in (("v1", D1), ("v2", D2), ("v3", D3)):
        _register(connection, version, day)
        registry.promote(
            connection,
            "forecast",
            "total",
            version,
            reason="ok",
            actor="pipeline",
            logical_date=day,
            run_id="r",
        )

    restored = registry.rollback(
        connection, "forecast", "total", actor="alice", logical_date=D3, run_id="cli"
    )

    assert restored["version"] == "v2"
    assert _statuses(connection) == {"v1": "retired", "v2": "champion", "v3": "retired"}
    assert _actions(connection)[-2:] == [
        ("v3", "rollback", "champion", "retired"),
        ("v2", "rollback", "retired", "champion"),
    ]
    assert registry.list_events(connection).iloc[-1]["actor"] == "alice"
    # a second rollback goes back past v2 (the most recent champion before it) to v3, the one most recently demoted
    again = registry.rollback(connection, "forecast", "total", actor="alice", logical_date=D3, run_id="cli")
    assert again["version"] == "v3"


def test_rollback_without_history_is_refused(connection):
    with pytest.raises(registry.RegistryError, match="no champion"):
        registry.rollback(connection, "forecast", "total", actor="a", logical_date=D1, run_id="r")
    _register(connection, "v1", D1)
    registry.promote(
        connection, "forecast", "total", "v1", reason="first", actor="a", logical_date=D1, run_id="r"
    )
    with pytest.raises(registry.RegistryError, match="no earlier champion"):
        registry.rollback(connection, "forecast", "total", actor="a", logical_date=D1, run_id="r")
    assert _statuses(connection) == {"v1": "champion"}


def test_promoting_an_unknown_version_changes_nothing(connection):
    _register(connection, "v1", D1)
    before = table_checksums(connection)
    with pytest.raises(registry.RegistryError, match="v9"):
        registry.promote(
            connection, "forecast", "total", "v9", reason="x", actor="a", logical_date=D1, run_id="r"
        )
    assert table_checksums(connection) == before


def test_rerunning_a_registration_is_idempotent_and_keeps_the_status(connection):
    _register(connection, "v1", D1)
    registry.promote(
        connection, "forecast", "total", "v1", reason="first", actor="pipeline", logical_date=D1, run_id="r1"
    )
    before = table_checksums(connection, ignore_columns=("run_id",))

    _register(connection, "v1", D1, run_id="rerun")  # the same night again
    registry.promote(
        connection, "forecast", "total", "v1", reason="first", actor="pipeline", logical_date=D1, run_id="r1"
    )

    assert table_checksums(connection, ignore_columns=("run_id",)) == before
    assert _statuses(connection) == {"v1": "champion"}
    # a retrain whose content differs is replaced in place, status kept, and audited
    _register(connection, "v1", D1, metrics={"mase": 0.7})
    assert _statuses(connection) == {"v1": "champion"}
    assert registry.champion(connection, "forecast", "total")["metrics"] == {"mase": 0.7}
    assert _actions(connection)[-1] == ("v1", "register", "champion", "champion")


def test_another_models_versions_are_untouched(connection):
    _register(connection, "v1", D1, model_id="location=France")
    _register(connection, "v1", D1, model_id="total")
    registry.promote(
        connection, "forecast", "total", "v1", reason="x", actor="a", logical_date=D1, run_id="r"
    )

    assert _statuses(connection, "location=France") == {"v1": "challenger"}
    assert set(registry.champions(connection, "forecast")) == {"total"}
    assert len(registry.list_versions(connection, model_kind="forecast")) == 2
    assert registry.list_versions(connection, model_kind="segmentation").empty


def test_champion_as_of_a_date_follows_the_audit_log(connection):
    _register(connection, "v1", D1)
    registry.promote(
        connection, "forecast", "total", "v1", reason="x", actor="p", logical_date=D1, run_id="r"
    )
    _register(connection, "v2", D3)
    registry.promote(
        connection, "forecast", "total", "v2", reason="x", actor="p", logical_date=D3, run_id="r"
    )

    assert registry.champion(connection, "forecast", "total", as_of=D1 - dt.timedelta(days=1)) is None
    assert registry.champion(connection, "forecast", "total", as_of=D2)["version"] == "v1"
    assert registry.champion(connection, "forecast", "total", as_of=D3)["version"] == "v2"
    assert registry.champions(connection, "forecast", as_of=D2)["total"]["version"] == "v1"
    assert registry.champions(connection, "forecast", as_of=D4)["total"]["version"] == "v2"

    registry.rollback(connection, "forecast", "total", actor="bob", logical_date=D4, run_id="cli")
    assert registry.champion(connection, "forecast", "total", as_of=D3)["version"] == "v2"
    assert registry.champion(connection, "forecast", "total", as_of=D4)["version"] == "v1"
    assert registry.latest_decision_date(connection, "forecast") == {"total": D4}


def test_reads_on_a_warehouse_without_a_registry(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    with connect(path, read_only=True) as connection:
        assert registry.champion(connection, "forecast", "total") is None
        assert registry.champions(connection, "forecast") == {}
        assert registry.list_versions(connection).empty
        assert list(registry.list_events(connection).columns) == list(registry_store.EVENT_COLUMNS)
        assert not registry.decided(connection, "forecast", "total", "v1")


def test_unknown_model_kind_is_refused(connection):
    with pytest.raises(registry.RegistryError, match="model_kind"):
        _register(connection, "v1", D1, model_kind="churn")
