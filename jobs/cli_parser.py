"""The `daybreak` command line's grammar: its commands, their options and the defaults they fall back to."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from daybreak.core.environment import VARIABLES
from jobs.cli_config import add_config_parser
from jobs.pipeline import STEPS

# jobs.forecast_file.ADHOC_CANDIDATES by name, for --help (that module takes seconds to import; a test keeps them equal)
ADHOC_DEFAULTS = "seasonal_naive, prophet, auto_ets, theta, mstl"
# daybreak.warehouse.registry.MODEL_KINDS, by name (that module imports pandas and DuckDB; a test keeps them equal)
MODEL_KINDS = ("forecast", "segmentation", "customer_value")
DESCRIPTION = "`daybreak`: every job and the demo from a terminal, the same code the Airflow tasks call."


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daybreak", description=DESCRIPTION)
    parser.add_argument(
        "--home", help=f"data home (env DAYBREAK_HOME, default {VARIABLES['DAYBREAK_HOME'].default})"
    )
    parser.add_argument(
        "--dataset",
        help="a shipped dataset's name or a dataset YAML's path "
        f"(env DAYBREAK_DATASET, default {VARIABLES['DAYBREAK_DATASET'].default})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error instead of its one-line message"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="write daily export files into the landing folder")
    simulate.add_argument("--start", type=_date, help="first business day (default: the dataset's)")
    simulate.add_argument("--end", type=_date, help="last business day (default: the dataset's)")
    simulate.add_argument("--seed", type=int, default=42)
    simulate.add_argument("--customers", type=int)
    simulate.add_argument("--products", type=int)
    simulate.add_argument("--locations", type=int)
    simulate.add_argument(
        "--orders-per-day", type=float, help="synthetic volume (default derived from customers)"
    )
    simulate.add_argument(
        "--source", help="replay: path or URL of the original file (overrides the env variable)"
    )
    simulate.add_argument("--overwrite", action="store_true", help="rewrite days that already have a file")

    for step in STEPS:
        if step == "privacy":  # `daybreak privacy run --date`, beside lookup and erase
            continue
        command = commands.add_parser(step.replace("_", "-"), help=f"run the {step} job for a business date")
        command.add_argument(
            "--date", type=_date, required=step != "forecast", help="business date (YYYY-MM-DD)"
        )
        command.add_argument("--run-id", help="lineage id written with the rows (default cli__<date>)")
        if step == "transform":
            command.add_argument("--full-refresh", action="store_true", help="rebuild incremental marts")
        if step == "forecast":
            _forecast_options(command)

    _models_parser(commands)
    _override_parser(commands)
    _privacy_parser(commands)

    night = commands.add_parser("night", help="run the whole nightly pipeline for one date, without Airflow")
    night.add_argument("--date", type=_date, required=True)
    night.add_argument("--run-id")

    commands.add_parser(
        "status", help="the landed exports, the nights the schedule runs, and why no later run is scheduled"
    )

    history = commands.add_parser("load-history", help="initial bulk load of every landed day up to a date")
    history.add_argument("--until", type=_date, required=True)

    docs = commands.add_parser(
        "docs", help="generate dbt's documentation site for the marts; --serve also serves it (jobs/docs.py)"
    )
    docs.add_argument(
        "--date",
        type=_date,
        help="run date the models are compiled for (default: the newest published night)",
    )
    docs.add_argument("--serve", action="store_true", help="serve the site and print its address")
    docs.add_argument("--port", type=int, default=0, help="the port to serve on (default: a free one)")

    commands.add_parser(
        "freshness",
        help="dbt source freshness: warn when ingest landed nothing for 26 h, fail after 50 h (wall clock)",
    )

    add_config_parser(commands, _date)

    commands.add_parser(
        "airflow-init",
        help="deployment init: check the secrets, migrate Airflow's metadata, create the writer pool and the "
        "admin and dashboard credentials (docker-compose.yml's airflow-init service)",
    )

    demo = commands.add_parser(
        "demo", help="simulate, load history, run the last nights through Airflow, serve"
    )
    demo.add_argument("--nights", type=int, default=7, help="nightly runs through Airflow after the history")
    demo.add_argument("--no-serve", action="store_true", help="stop after the runs (env SERVE=0)")
    return parser


def _forecast_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--retrain",
        action="store_true",
        help="retrain every series tonight whatever the schedule (on demand)",
    )
    adhoc = command.add_argument_group("forecast a file instead (no warehouse, no registry)")
    adhoc.add_argument("--input", type=Path, help="long-format CSV or Parquet: columns id, timestamp, value")
    for role in ("id", "timestamp", "value"):
        adhoc.add_argument(f"--{role}-column", help=f"the input's column holding the {role} (default {role})")
    adhoc.add_argument("--output", type=Path, help="where to write the forecasts (.csv or .parquet)")
    adhoc.add_argument("--freq", default="D", help="H, D, W or M (default D)")
    adhoc.add_argument("--horizon", type=int, default=28, help="periods to forecast (default 28)")
    adhoc.add_argument(
        "--candidates",
        help=f"comma-separated models to compete, by their names in docs/model-families.md (default: {ADHOC_DEFAULTS})",
    )


def _models_parser(commands) -> None:
    models = commands.add_parser("models", help="the model registry: list versions, promote, roll back")
    actions = models.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="registered versions (and, with --events, the audit log)")
    listing.add_argument("--kind", choices=MODEL_KINDS)
    listing.add_argument("--model-id")
    listing.add_argument("--events", action="store_true", help="show the audit log instead")
    for name, text in (
        ("promote", "make a version the champion"),
        ("rollback", "restore the previous champion"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--kind", choices=MODEL_KINDS, required=True)
        action.add_argument("--model-id", required=True)
        if name == "promote":
            action.add_argument("--version", required=True)
        action.add_argument("--reason", default=f"manual {name}")
        action.add_argument(
            "--date",
            type=_date,
            help="logical date the change is recorded for; nights after it use the new champion "
            "(default: the latest night scored)",
        )


def _override_parser(commands) -> None:
    override = commands.add_parser("override", help="planners' forecast overrides: add, list, revoke")
    actions = override.add_subparsers(dest="action", required=True)
    add = actions.add_parser(
        "add", help="set a series' forecast for a date range (applied by the next night)"
    )
    add.add_argument("--series", required=True, help="the series_id, e.g. total or location=Germany")
    add.add_argument("--start", type=_date, required=True, help="first target date (YYYY-MM-DD)")
    add.add_argument("--end", type=_date, help="last target date, inclusive (default: --start)")
    amount = add.add_mutually_exclusive_group(required=True)
    amount.add_argument("--value", type=float, help="the forecast per period")
    amount.add_argument("--percent", type=float, help="change the model's forecast by this percentage")
    add.add_argument("--reason", required=True, help="why (kept in the audit)")
    add.add_argument("--author", help="who (default: DAYBREAK_USER or the OS user, labelled local)")
    listing = actions.add_parser("list", help="active overrides (with --all, revoked ones too)")
    listing.add_argument("--all", action="store_true")
    revoke = actions.add_parser("revoke", help="stop applying an override from the next night")
    revoke.add_argument("override_id")
    revoke.add_argument("--reason", required=True)
    revoke.add_argument("--author")


def _privacy_parser(commands) -> None:
    privacy = commands.add_parser(
        "privacy",
        help="customer privacy: look a customer up, request an erasure, run the nightly privacy step",
    )
    actions = privacy.add_subparsers(dest="action", required=True)
    run = actions.add_parser(
        "run", help="the nightly step: carry out erasure requests and landed-file retention"
    )
    run.add_argument("--date", type=_date, required=True, help="business date (YYYY-MM-DD)")
    run.add_argument("--run-id", help="lineage id written with the audit rows (default cli__<date>)")
    lookup = actions.add_parser("lookup", help="print a customer's pseudonym (from the encrypted link store)")
    lookup.add_argument("--customer", required=True, help="the customer's id in the source system")
    erase = actions.add_parser("erase", help="request an erasure, carried out by the next night")
    erase.add_argument("--customer", required=True, help="the customer's id in the source system")
    erase.add_argument("--reason", required=True, help="why (kept in monitoring.privacy_audit)")
