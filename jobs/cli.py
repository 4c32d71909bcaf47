"""`daybreak`: every job and the demo from a terminal, the same code the Airflow tasks call.

Options fall back to environment variables (`DAYBREAK_HOME`, `DAYBREAK_DATASET`, ...), so the same command works
in a shell, in docker-compose and under Airflow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

JOB_STEPS = ("ingest", "transform", "forecast", "segment", "drift", "publish")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daybreak", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data home (env DAYBREAK_HOME, default ./.daybreak)")
    parser.add_argument("--dataset", help="dataset config name (env DAYBREAK_DATASET, default synthetic)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
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

    for step in JOB_STEPS:
        command = commands.add_parser(step, help=f"run the {step} job for one business date")
        command.add_argument(
            "--date", type=_date, required=step != "forecast", help="business date (YYYY-MM-DD)"
        )
        command.add_argument("--run-id", help="lineage id written with the rows (default cli__<date>)")
        if step == "transform":
            command.add_argument("--full-refresh", action="store_true", help="rebuild incremental marts")
        if step == "forecast":
            _forecast_options(command)

    _models_parser(commands)

    night = commands.add_parser("night", help="run the whole nightly pipeline for one date, without Airflow")
    night.add_argument("--date", type=_date, required=True)
    night.add_argument("--run-id")

    history = commands.add_parser("load-history", help="initial bulk load of every landed day up to a date")
    history.add_argument("--until", type=_date, required=True)

    docs = commands.add_parser(
        "docs", help="generate dbt's documentation site for the marts (dbt docs generate)"
    )
    docs.add_argument("--date", type=_date, required=True, help="run date the models are compiled for")

    commands.add_parser(
        "freshness",
        help="dbt source freshness: warn when ingest landed nothing for 26 h, fail after 50 h (wall clock)",
    )

    demo = commands.add_parser(
        "demo", help="simulate, load history, run the last nights through Airflow, serve"
    )
    demo.add_argument("--nights", type=int, default=7, help="nightly runs through Airflow after the history")
    demo.add_argument("--no-serve", action="store_true", help="stop after the runs (env SERVE=0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.home:
        os.environ["DAYBREAK_HOME"] = args.home
    if args.dataset:
        os.environ["DAYBREAK_DATASET"] = args.dataset

    from daybreak.settings import get_settings

    settings = get_settings()
    if args.command == "simulate":
        result = simulate(args, settings)
    elif args.command == "forecast" and (args.input or args.output):
        result = forecast_file(args)
    elif args.command == "models":
        result = models(args, settings)
    elif args.command in JOB_STEPS:
        if args.date is None:
            raise SystemExit(
                "daybreak forecast: give --date (the nightly job) or --input and --output (a file)"
            )
        from jobs.pipeline import step_function

        kwargs = {"full_refresh": True} if getattr(args, "full_refresh", False) else {}
        if getattr(args, "retrain", False):
            kwargs["retrain"] = True

        result = step_function(args.command)(
            args.date, args.run_id or f"cli__{args.date}", settings, **kwargs
        )
    elif args.command == "night":
        from jobs.pipeline import run_night

        result = run_night(args.date, args.run_id, settings)
    elif args.command == "load-history":
        from jobs.pipeline import load_history

        result = load_history(args.until, settings)
    elif args.command == "docs":
        from jobs.transform import generate_docs

        index = generate_docs(args.date, settings)
        result = {"index": str(index), "serve": f"dbt docs serve --target-path {index.parent} --port 8081"}
    elif args.command == "freshness":
        from jobs.transform import check_freshness

        output = check_freshness(settings)
        result = {"freshness": [line for line in output.splitlines() if "freshness of" in line]}
    elif args.command == "demo":
        from jobs.demo import run_demo

        serve = not args.no_serve and os.environ.get("SERVE", "1") != "0"
        return run_demo(settings, nights=args.nights, serve=serve)
    else:  # pragma: no cover - argparse rejects unknown commands
        raise AssertionError(args.command)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _forecast_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--retrain",
        action="store_true",
        help="retrain every series tonight whatever the schedule (on demand)",
    )
    adhoc = command.add_argument_group("forecast a file instead (no warehouse, no registry)")
    adhoc.add_argument("--input", type=Path, help="long-format CSV or Parquet: columns id, timestamp, value")
    adhoc.add_argument("--output", type=Path, help="where to write the forecasts (.csv or .parquet)")
    adhoc.add_argument("--freq", default="D", help="H, D, W or M (default D)")
    adhoc.add_argument("--horizon", type=int, default=28, help="periods to forecast (default 28)")
    adhoc.add_argument(
        "--candidates", help="comma-separated models to compete (default: naive, prophet, ets, theta)"
    )


def forecast_file(args: argparse.Namespace) -> dict:
    from jobs.forecast_file import InputFileError
    from jobs.forecast_file import forecast_file as run_file

    if not (args.input and args.output):
        raise SystemExit("daybreak forecast: --input and --output go together")
    candidates = [c.strip() for c in args.candidates.split(",")] if args.candidates else None
    try:
        return run_file(args.input, args.output, freq=args.freq, horizon=args.horizon, candidates=candidates)
    except InputFileError as error:  # bad input, like a bad option: one line, exit 2
        print(f"daybreak forecast: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _models_parser(commands) -> None:
    models = commands.add_parser("models", help="the model registry: list versions, promote, roll back")
    actions = models.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="registered versions (and, with --events, the audit log)")
    listing.add_argument("--kind", choices=("forecast", "segmentation"))
    listing.add_argument("--model-id")
    listing.add_argument("--events", action="store_true", help="show the audit log instead")
    for name, text in (
        ("promote", "make a version the champion"),
        ("rollback", "restore the previous champion"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--kind", choices=("forecast", "segmentation"), required=True)
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


def models(args: argparse.Namespace, settings) -> dict:
    """`daybreak models list|promote|rollback`: read or change the registry, with an audit row per change."""
    import getpass

    from daybreak import registry
    from daybreak.warehouse import connect

    if args.action == "list":
        if not settings.warehouse_path.exists():
            return {"versions": []}
        with connect(settings.warehouse_path, read_only=True) as connection:
            frame = (registry.list_events if args.events else registry.list_versions)(
                connection, args.kind, args.model_id
            )
        return {
            "events" if args.events else "versions": json.loads(
                frame.to_json(orient="records", date_format="iso")
            )
        }
    actor = os.environ.get("USER") or getpass.getuser()
    with connect(settings.warehouse_path) as connection:
        logical_date = args.date or _latest_night(connection, args.kind)
        try:
            if args.action == "promote":
                registry.promote(
                    connection,
                    args.kind,
                    args.model_id,
                    args.version,
                    reason=args.reason,
                    actor=actor,
                    logical_date=logical_date,
                    run_id=f"cli__{args.action}",
                )
                restored = registry.champion(connection, args.kind, args.model_id)
            else:
                restored = registry.rollback(
                    connection,
                    args.kind,
                    args.model_id,
                    actor=actor,
                    logical_date=logical_date,
                    run_id=f"cli__{args.action}",
                    reason=args.reason,
                )
        except registry.RegistryError as error:
            raise SystemExit(f"daybreak models {args.action}: {error}") from None
    return {
        "champion": restored["version"],
        "model_id": args.model_id,
        "logical_date": str(logical_date),
        "actor": actor,
    }


def _latest_night(connection, kind: str) -> dt.date:
    """The last night that scored with this kind of model: a manual change applies from the night after it."""
    table = "predictions.forecasts" if kind == "forecast" else "predictions.customer_segments"
    schema, name = table.split(".")
    exists = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0]
    latest = connection.execute(f"select max(as_of_date) from {table}").fetchone()[0] if exists else None  # noqa: S608
    if latest is None:
        raise SystemExit(f"daybreak models: no night has scored {kind} models yet; give --date")
    return latest


def simulate(args: argparse.Namespace, settings) -> dict:
    from dataclasses import asdict

    from daybreak.datasets import load_dataset_config
    from daybreak.simulate import replay_dataset, simulate_synthetic

    config = load_dataset_config(settings.dataset)
    if config.source.get("kind") == "simulator":
        defaults = config.simulation
        summary = simulate_synthetic(
            settings.landing_dir,
            start=args.start or dt.date.fromisoformat(str(defaults["start"])),
            end=args.end or dt.date.fromisoformat(str(defaults["end"])),
            seed=args.seed,
            customers=args.customers or defaults.get("customers", 2000),
            products=args.products or defaults.get("products", 300),
            locations=args.locations or defaults.get("locations", 8),
            orders_per_day=args.orders_per_day,
            overwrite=args.overwrite,
        )
    else:
        summary = replay_dataset(
            config,
            settings.landing_dir,
            source=args.source,
            start=args.start,
            end=args.end,
            overwrite=args.overwrite,
        )
    return asdict(summary)


if __name__ == "__main__":
    sys.exit(main())
