"""Run the dbt project for one business date: staging views, then marts incremental on that date.

dbt runs as a subprocess of the same environment so that each invocation starts clean (dbt keeps global state
between in-process invocations) and its log streams into the task log. The dataset config becomes dbt vars, so the
SQL never needs to know which dataset it is building.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from daybreak.datasets import DatasetConfig, load_dataset_config
from daybreak.settings import Settings, get_settings

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    """dbt build failed; the message carries dbt's own summary of what failed."""


def dbt_vars(config: DatasetConfig, business_date: dt.date) -> dict:
    return {
        "run_date": business_date.isoformat(),
        "series_keys": list(config.series.keys),
        "series_include": {key: list(values) for key, values in config.series.include.items()},
        "series_include_total": config.series.include_total,
        "holidays_country": config.series.holidays_country,
    }


def dbt_command(settings: Settings, args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The dbt command line and environment for this settings' warehouse and target folder."""
    executable = Path(sys.executable).with_name("dbt")
    command = [
        str(executable),
        *args,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(settings.dbt_target_dir),
        "--log-path",
        str(settings.dbt_target_dir.parent / "logs"),
    ]
    env = {
        **os.environ,
        "DAYBREAK_WAREHOUSE_PATH": str(settings.warehouse_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return command, env


def invoke_dbt(settings: Settings, args: list[str], business_date: dt.date) -> str:
    """Run one dbt command; returns its output. Raises TransformError with dbt's failures when it fails."""
    command, env = dbt_command(settings, args)
    log.info("running %s", " ".join(command))
    process = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    output = process.stdout + process.stderr
    for line in output.splitlines():
        log.info("dbt | %s", line)
    if process.returncode != 0:
        failures = [line for line in output.splitlines() if "ERROR" in line or "FAIL" in line]
        tail = "\n".join(failures or output.splitlines()[-20:])[-4000:]
        raise TransformError(
            f"dbt {args[0]} for run_date {business_date} failed (exit {process.returncode}):\n{tail}"
        )
    return output


def generate_docs(business_date: dt.date, settings: Settings | None = None) -> Path:
    """`dbt docs generate` against the warehouse: the static site lands in the dbt target folder.

    Serve it with `dbt docs serve --target-path <that folder>` or open its index.html; the README says how.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    invoke_dbt(
        settings, ["docs", "generate", "--vars", json.dumps(dbt_vars(config, business_date))], business_date
    )
    return settings.dbt_target_dir / "index.html"


def run(
    business_date: dt.date, run_id: str, settings: Settings | None = None, *, full_refresh: bool = False
) -> dict:
    """`dbt build` with `run_date = business_date`; `full_refresh` rebuilds the incremental marts from all history.

    Raises:
        TransformError: a model or test failed (dbt's output is in the log above the error).
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    args = ["build", "--vars", json.dumps(dbt_vars(config, business_date))]
    if full_refresh:
        args.append("--full-refresh")
    invoke_dbt(settings, args, business_date)
    return {"business_date": business_date.isoformat(), "full_refresh": full_refresh, "run_id": run_id}
