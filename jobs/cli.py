"""`daybreak`: every job and the demo from a terminal, the same code the Airflow tasks call.

Options fall back to environment variables (`DAYBREAK_HOME`, `DAYBREAK_DATASET`, ...), so the same command works
in a shell, in docker-compose and under Airflow.

Commands that change what the business plans with, or reach customers, need a permission of the acting user's
role (`daybreak.core.roles`; the user is `DAYBREAK_USER` or the OS user, the role from the roles file):
`daybreak.core.roles.COMMAND_PERMISSIONS` lists them, and `dispatch` checks it before anything runs. A refused command prints one line naming the user,
the role and the permission, and exits 3 (2 stays "bad input"). The nightly steps need none: the scheduler runs
them, and they print counts, never customer rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys

from jobs.cli_config import check_config
from jobs.cli_parser import build_parser
from jobs.pipeline import STEPS

EXIT_REFUSED = 3


def user_errors() -> tuple[type[Exception], ...]:
    """The errors that mean bad input (a config, a file, a date, a registry request): each says in one line what
    is wrong and where, so the command prints that line instead of a traceback. Every `PermanentError` (an error
    a person must fix, `daybreak.core.failures`) is one of them."""
    from daybreak.core.failures import PermanentError
    from daybreak.core.roles import RolesFileError
    from daybreak.ingest.canonical import IngestError
    from daybreak.ingest.exports.rows import ExportReadError
    from daybreak.ingest.series_file import InputFileError
    from daybreak.models.forecasting.spec import CandidateError
    from daybreak.nights.erasure import ErasureError
    from daybreak.nights.overrides import OverrideError
    from daybreak.privacy.links import LinkStoreError
    from daybreak.warehouse.registry import RegistryError
    from jobs.transform import TransformError

    return (
        CandidateError,
        ErasureError,
        ExportReadError,
        IngestError,
        InputFileError,
        LinkStoreError,
        OverrideError,
        PermanentError,
        RegistryError,
        RolesFileError,
        TransformError,
    )


def main(argv: list[str] | None = None) -> int:
    """Run one command; on bad input print `daybreak <command>: <what is wrong>` and exit 2 (`--debug`: raise)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.home:
        os.environ["DAYBREAK_HOME"] = args.home
    if args.dataset:
        os.environ["DAYBREAK_DATASET"] = args.dataset
    from daybreak.core.files import private_files
    from daybreak.core.roles import PermissionDenied

    try:
        with private_files():
            return dispatch(args)
    except PermissionDenied as error:
        if args.debug:
            raise
        print(f"daybreak {args.command}: refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except user_errors() as error:
        if args.debug:
            raise
        message = " ".join(str(error).split())  # one line, whatever the error's own layout
        print(f"daybreak {args.command}: {message}", file=sys.stderr)
        return 2


def dispatch(args: argparse.Namespace) -> int:
    from daybreak.core import roles
    from daybreak.core.settings import get_settings

    if args.command == "config":
        return check_config(args.file, args.sample, args.date)
    settings = get_settings()
    roles.authorize_command(args.command, getattr(args, "action", None), settings)
    if args.command == "simulate":
        result = simulate(args, settings)
    elif args.command == "forecast" and (args.input or args.output):
        from jobs.forecast_file import run_command

        result = run_command(args)
    elif args.command == "models":
        from jobs.models import run_command

        result = run_command(args, settings)
    elif args.command == "override":
        from jobs.override import run_command

        result = run_command(args, settings)
    elif args.command == "privacy":
        from jobs.privacy import run_command

        result = run_command(args, settings)
    elif (step := args.command.replace("-", "_")) in STEPS:  # `daybreak customer-value`: job customer_value
        if args.date is None:
            raise SystemExit(
                "daybreak forecast: give --date (the nightly job) or --input and --output (a file)"
            )
        from jobs.pipeline import step_function

        kwargs = {"full_refresh": True} if getattr(args, "full_refresh", False) else {}
        if getattr(args, "retrain", False):
            kwargs["retrain"] = True

        result = step_function(step)(args.date, args.run_id or f"cli__{args.date}", settings, **kwargs)
    elif args.command == "night":
        from jobs.pipeline import run_night

        result = run_night(args.date, args.run_id, settings)
    elif args.command == "load-history":
        from jobs.pipeline import load_history

        result = load_history(args.until, settings)
    elif args.command == "status":
        from daybreak.platform.schedule import status

        result = status(settings)
    elif args.command == "docs":
        from jobs.docs import run_command

        if (result := run_command(args, settings)) is None:  # served until stopped
            return 0
    elif args.command == "freshness":
        from jobs.transform import check_freshness

        output = check_freshness(settings)
        result = {"freshness": [line for line in output.splitlines() if "freshness of" in line]}
    elif args.command == "airflow-init":
        from daybreak.platform.deployment import init_deployment

        result = init_deployment()
    elif args.command == "demo":
        from jobs.demo import run_demo

        serve = not args.no_serve and os.environ.get("SERVE", "1") != "0"
        return run_demo(settings, nights=args.nights, serve=serve)
    else:  # pragma: no cover - argparse rejects unknown commands
        raise AssertionError(args.command)
    print(json.dumps(result, indent=2, default=str))
    return 0


def simulate(args: argparse.Namespace, settings) -> dict:
    """`daybreak simulate`: the dataset's nightly exports (`daybreak.ingest.simulation.simulate_dataset`)."""
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation import simulate_dataset

    summary = simulate_dataset(
        load_dataset_config(settings.dataset),
        settings.landing_dir,
        start=args.start,
        end=args.end,
        seed=args.seed,
        customers=args.customers,
        products=args.products,
        locations=args.locations,
        orders_per_day=args.orders_per_day,
        source=args.source,
        overwrite=args.overwrite,
    )
    return dataclasses.asdict(summary)


if __name__ == "__main__":
    sys.exit(main())
