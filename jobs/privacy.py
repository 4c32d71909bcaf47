"""The nightly privacy step, and `daybreak privacy lookup|erase` (`daybreak.privacy`; docs/privacy.md).

The step runs after ingest and before transform, so the night's marts, features and models are built from data
that no longer holds an erased customer: it carries out the erasure requests made before the night's business
date, and removes the landed files past the dataset's `landing.retention_days`, with an audit row for each thing
it did in `monitoring.privacy_audit`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from daybreak.core.settings import Settings, get_settings
from daybreak.datasets import load_dataset_config
from daybreak.nights import erasure, overrides, retention
from daybreak.privacy.links import lookup
from daybreak.warehouse.connection import connect

log = logging.getLogger(__name__)


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Carry out the pending erasure requests and the retention of landed files for `business_date`."""
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    requests = erasure.pending(settings, business_date)
    if not requests and config.retention_days is None:
        return {"erasures": [], "landed_files_removed": 0}
    with connect(settings.warehouse_path) as connection:
        erased = erasure.carry_out(connection, settings, config, business_date, run_id)
        removed = retention.remove_expired(connection, settings, business_date, config.retention_days, run_id)
        erasure.write_audit(connection, removed)
    summary = {"erasures": erased, "landed_files_removed": len(removed)}
    log.debug("privacy %s: %s", business_date, summary)  # the task logs it readably (platform.task_logs)
    return summary


def run_command(args: argparse.Namespace, settings: Settings) -> dict:
    """`daybreak privacy run --date D`, `lookup --customer ID` and `erase --customer ID --reason TEXT`."""
    if args.action == "run":
        return run(args.date, args.run_id or f"cli__{args.date}", settings)
    if args.action == "lookup":
        found = lookup(settings, args.customer)
        if found is None:
            raise erasure.ErasureError(
                f"no customer {args.customer!r} is linked in {settings.dataset_name!r}"
            )
        return found
    record = erasure.request(
        settings,
        args.customer,
        args.reason,
        now=dt.datetime.now(dt.UTC),  # the audit's record time, not pipeline logic
        as_of=overrides.latest_night(settings),
    )
    return {
        "request_id": record["request_id"],
        "as_of_date": record["as_of_date"],
        "carried_out": "by the next night (its privacy step), see monitoring.privacy_audit",
    }
