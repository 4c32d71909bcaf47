"""The command line on bad input: one line naming what is wrong, exit code 2; the traceback only with --debug.
A command the acting user's role does not allow: one line naming the user, role and permission, exit code 3."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from daybreak.core.roles import COMMAND_PERMISSIONS, PermissionDenied
from daybreak.ingest.canonical import IngestError
from jobs.cli import EXIT_REFUSED, main

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


def test_a_registry_request_that_cannot_be_met_is_one_line(home, act_as, capsys):
    act_as("admin")
    assert main(["models", "rollback", "--kind", "forecast", "--model-id", "x"]) == 2
    assert one_line_error(capsys) == "daybreak models: no night has scored forecast models yet; give --date"


ADD = ["override", "add", "--series", "total", "--start", "2024-07-01", "--value", "5000", "--reason", "fair"]
PROMOTE = ["models", "promote", "--kind", "forecast", "--model-id", "total", "--version", "v1", "--date", DAY]
ROLLBACK = ["models", "rollback", "--kind", "forecast", "--model-id", "total"]
# role -> the gated commands it may run (override list and the nightly steps need no permission)
MAY = {
    "viewer": set(),
    "planner": {"override add", "override revoke"},
    "analyst": set(),
    "admin": {"override add", "override revoke", "models promote", "models rollback"},
}


def refusal(capsys) -> str:
    line = one_line_error(capsys)
    assert line.count("refused") == 1
    return line


@pytest.mark.parametrize("role", MAY)
def test_each_role_may_run_exactly_its_commands(home, act_as, capsys, role):
    user = act_as(role)

    added = main(ADD)
    if "override add" in MAY[role]:
        assert added == 0
        override_id = json.loads(capsys.readouterr().out)["added"]["override_id"]
    else:
        assert added == EXIT_REFUSED
        assert refusal(capsys) == (
            f"daybreak override: refused: {user} (role {role}) lacks the permission overrides "
            "(record and revoke forecast overrides); roles with it: planner, admin"
        )
        override_id = "ov-000000000000"
    assert not (home / "overrides" / "synthetic.jsonl").exists() or "override add" in MAY[role]

    revoked = main(["override", "revoke", override_id, "--reason", "cancelled"])
    assert revoked == (0 if "override revoke" in MAY[role] else EXIT_REFUSED)
    if revoked:
        assert "lacks the permission overrides" in refusal(capsys)
    capsys.readouterr()

    assert main(["override", "list", "--all"]) == 0  # every role reads the overrides' log
    capsys.readouterr()

    for command, arguments in (("models promote", PROMOTE), ("models rollback", ROLLBACK)):
        code = main(arguments)
        if command in MAY[role]:
            # allowed: it reaches the registry, which has nothing to promote yet (bad input, exit 2)
            assert code == 2
            assert "refused" not in one_line_error(capsys)
        else:
            assert code == EXIT_REFUSED
            assert refusal(capsys).endswith(
                "lacks the permission registry (change the model registry: promote, roll back); roles with it: admin"
            )


def test_without_a_roles_file_the_command_line_acts_as_a_viewer(home, monkeypatch, capsys):
    monkeypatch.delenv("DAYBREAK_ROLES_FILE", raising=False)
    monkeypatch.setenv("DAYBREAK_USER", "root")

    assert main(ROLLBACK) == EXIT_REFUSED
    assert "root (role viewer) lacks the permission registry" in refusal(capsys)
    with pytest.raises(PermissionDenied):
        main(["--debug", *ROLLBACK])


def test_the_data_homes_roles_file_is_the_default(home, monkeypatch, capsys):
    monkeypatch.delenv("DAYBREAK_ROLES_FILE", raising=False)
    monkeypatch.setenv("DAYBREAK_USER", "pat")
    (home / "roles.yml").write_text("planner: [pat]\n")

    assert main(ADD) == 0


def test_a_broken_roles_file_is_one_line_and_grants_nothing(home, monkeypatch, capsys):
    monkeypatch.setenv("DAYBREAK_USER", "ada")
    (home / "roles.yml").write_text("admin: [ada]\nroot: [ada]\n")

    assert main(ROLLBACK) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"daybreak models: roles file {home / 'roles.yml'}: root: Extra inputs")


@pytest.mark.parametrize("role", MAY)
def test_only_an_admin_may_look_a_customer_up_or_request_an_erasure(home, act_as, capsys, role):
    act_as(role)
    for arguments, permission in (
        (["privacy", "lookup", "--customer", "17850"], "identify"),
        (["privacy", "erase", "--customer", "17850", "--reason", "request 42"], "privacy"),
    ):
        code = main(arguments)
        if role == "admin":
            # allowed: it reaches the link store, which has never seen the customer (bad input, exit 2)
            assert code == 2 and "refused" not in one_line_error(capsys)
        else:
            assert code == EXIT_REFUSED
            assert f"lacks the permission {permission}" in refusal(capsys)
    assert (
        COMMAND_PERMISSIONS.get(("privacy", "run")) is None
    )  # the nightly step carries out what admins requested


def test_load_history_with_nothing_landed_is_one_line(home, capsys):
    assert main(["load-history", "--until", DAY]) == 2
    line = one_line_error(capsys)
    assert line.startswith(
        f"daybreak load-history: nothing landed in {home / 'landing' / 'synthetic'} up to {DAY}"
    )


def test_load_history_says_a_config_name_differs_from_its_file_before_looking_for_exports(
    home, tmp_path, capsys
):
    from daybreak.datasets import dataset_path

    mine = tmp_path / "my_shop.yml"
    mine.write_text(dataset_path("synthetic").read_text().replace("name: synthetic", "name: shop", 1))
    assert main(["--dataset", str(mine), "load-history", "--until", DAY]) == 2
    line = one_line_error(capsys)
    assert line == (
        f"daybreak load-history: {mine}: name 'shop' differs from the file's name 'my_shop'; they must be the same"
    )


def test_status_says_which_nights_the_schedule_runs_and_why_no_later_run_starts(home, capsys):
    for day in ("2024-12-30", "2024-12-31"):
        (home / "landing" / "synthetic" / day).mkdir(parents=True)
    assert main(["status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["landed"] == "2024-12-30..2024-12-31" and status["schedule_ends"] == "2025-01-02"
    assert status["note"].startswith(
        "Exports have landed for 2024-12-30..2024-12-31: the schedule runs those"
    )
    assert "two days after the last export, so no later run is scheduled" in status["note"]


def test_a_night_from_the_command_line_logs_what_the_schedule_covers_first(home, caplog):
    (home / "landing" / "synthetic" / DAY).mkdir(parents=True)
    caplog.set_level(logging.INFO)
    assert main(["night", "--date", DAY]) == 2  # the day's folder is empty: no export
    assert (
        caplog.records[0].getMessage().startswith(f"Exports have landed for {DAY}..{DAY}: the schedule runs")
    )


def test_the_registry_commands_offer_the_registrys_model_kinds_and_steps_are_named_with_dashes(
    home, monkeypatch, capsys
):
    from daybreak.warehouse.registry import MODEL_KINDS
    from jobs import pipeline
    from jobs.cli_parser import MODEL_KINDS as OFFERED

    assert OFFERED == MODEL_KINDS
    called = []
    monkeypatch.setattr(
        pipeline, "step_function", lambda name: lambda *args: called.append((name, *args[:2])) or {}
    )
    assert main(["customer-value", "--date", "2024-03-01"]) == 0
    assert called == [("customer_value", dt.date(2024, 3, 1), "cli__2024-03-01")]
