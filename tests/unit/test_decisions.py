"""A night's promotion decision recorded once and in history order (`daybreak.nights.decisions`)."""

from __future__ import annotations

import datetime as dt

import pytest

from daybreak.nights import decisions
from daybreak.warehouse.connection import connect
from tests.unit.test_registry import D1, D2, D3, _register, _statuses


@pytest.fixture
def connection(tmp_path):
    with connect(tmp_path / "w.duckdb") as connection:
        yield connection


def test_decide_asks_the_gate_once_and_leaves_later_history_to_a_backfill(connection):
    asked = []

    def gate(promote: bool):
        return lambda: asked.append(promote) or (promote, "gate says so")

    def decide(version: str, day: dt.date, promote: bool = True):
        return decisions.decide(
            connection,
            "forecast",
            "total",
            version,
            gate=gate(promote),
            logical_date=day,
            run_id=f"r-{version}",
        )

    _register(connection, "v2", D2)
    assert decide("v2", D2) == (True, "promoted: gate says so")
    assert decide("v2", D2, promote=False) == (False, "already decided (rerun): the recorded decision stands")
    _register(connection, "v1", D1)  # a backfill of an earlier night, after D2's decision
    promoted, why = decide("v1", D1)
    assert not promoted and why.startswith("not decided: a backfill before the decision of 2024-03-08")
    _register(connection, "v3", D3)
    assert decide("v3", D3, promote=False) == (False, "rejected: gate says so")
    assert asked == [True, False]
    assert _statuses(connection) == {"v1": "challenger", "v2": "champion", "v3": "challenger"}
