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
        command.add_argument("--date", type=_date, required=True, help="business date (YYYY-MM-DD)")
        command.add_argument("--run-id", help="lineage id written with the rows (default cli__<date>)")
        if step == "transform":
            command.add_argument("--full-refresh", action="store_true", help="rebuild incremental marts")

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
    elif args.command in JOB_STEPS:
        from jobs.pipeline import step_function

        kwargs = {"full_refresh": True} if getattr(args, "full_refresh", False) else {}
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
