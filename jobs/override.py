"""`daybreak override add|list|revoke`: planners' forecast overrides from the command line (`daybreak.nights.overrides`).

The same log the Review page writes; the next forecast night applies what is active. The author is the local
planner (`DAYBREAK_USER` or the OS user, labelled "(local)"), or `--author` for a script acting for someone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from daybreak.core.settings import Settings
from daybreak.nights import overrides


def run_command(args: argparse.Namespace, settings: Settings) -> dict:
    """Dispatch one `daybreak override` action; returns what to print."""
    author = (args.author or overrides.local_planner(settings)) if args.action != "list" else ""
    now = dt.datetime.now(dt.UTC)  # the audit's record time, not pipeline logic
    as_of = overrides.latest_night(settings)  # nights after the newest published one apply the change
    if args.action == "add":
        if (args.value is None) == (args.percent is None):
            raise overrides.OverrideError("give exactly one of --value and --percent")
        record = overrides.add(
            settings,
            series_id=args.series,
            start_date=args.start,
            end_date=args.end or args.start,
            kind="value" if args.value is not None else "percent",
            amount=args.value if args.value is not None else args.percent,
            reason=args.reason,
            author=author,
            now=now,
            as_of_date=as_of,
        )
        return {"added": record, "log": str(overrides.log_path(settings))}
    if args.action == "revoke":
        return {
            "revoked": overrides.revoke(
                settings, args.override_id, reason=args.reason, author=author, now=now, as_of_date=as_of
            )
        }
    frame = overrides.current(settings)
    if not args.all:
        frame = frame[frame["status"] == "active"]
    records = json.loads(
        frame.drop(columns=["run_id", "start_date", "end_date"]).to_json(orient="records", date_format="iso")
    )
    for record, start, end in zip(records, frame["start_date"], frame["end_date"], strict=True):
        record.update(start_date=start.isoformat(), end_date=end.isoformat())
    return {"overrides": records}
