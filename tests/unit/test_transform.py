"""The transform job's dbt command: the night's date in the environment, the vars the same every night."""

from __future__ import annotations

import datetime as dt

from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config
from jobs import transform


def test_the_nights_date_reaches_dbt_in_the_environment_not_as_a_var(tmp_path, monkeypatch):
    # given a stale date in the job's own environment
    monkeypatch.setenv("DAYBREAK_REBUILD_FROM", "2020-01-01")
    settings = Settings(home=tmp_path, dataset="synthetic")
    night, late = dt.date(2024, 3, 3), dt.date(2024, 3, 1)

    _, env = transform.dbt_command(settings, ["build"], night, late)
    assert (env["DAYBREAK_RUN_DATE"], env["DAYBREAK_REBUILD_FROM"]) == ("2024-03-03", "2024-03-01")
    # no rebuild: set empty, never inherited
    _, env = transform.dbt_command(settings, ["build"], night)
    assert (env["DAYBREAK_RUN_DATE"], env["DAYBREAK_REBUILD_FROM"]) == ("2024-03-03", "")


def test_the_dbt_vars_are_the_same_every_night(tmp_path):
    """dbt re-parses the whole project when a var changes: nothing in them may depend on the night."""
    variables = transform.dbt_vars(load_dataset_config("synthetic"))
    assert not {"run_date", "rebuild_from"} & set(variables)
    assert variables["series_keys"] == ["location"]


def test_a_night_leaves_the_unit_tests_and_the_tests_of_pythons_tables_to_a_full_refresh(
    tmp_path, monkeypatch
):
    """They check the SQL and what Table.check checks as each job writes: not the night's data."""
    builds = []
    monkeypatch.setattr(transform, "invoke_dbt", lambda settings, args, *_, **__: builds.append(args))
    monkeypatch.setattr(transform, "rebuild_from", lambda *_: None)
    monkeypatch.setattr(transform, "mark_rebuilt", lambda *_: None)
    settings = Settings(home=tmp_path, dataset="synthetic")
    settings.warehouse_path.parent.mkdir(parents=True)

    transform.run(dt.date(2024, 3, 3), "night", settings)
    transform.run(dt.date(2024, 3, 3), "history", settings, full_refresh=True)

    night, history = (" ".join(args) for args in builds)
    assert "--exclude-resource-type unit_test --exclude source:*,test_type:generic" in night
    assert "--exclude" not in history and "--full-refresh" in history
