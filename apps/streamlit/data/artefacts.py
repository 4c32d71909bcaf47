"""What the pages read beside the serving copy: the files a night leaves in the data home (dbt's run results and
docs, the Evidently reports) and where the Airflow UI is, all from the settings (`daybreak.core.settings`)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import identity
import pandas as pd

from daybreak.core.roles import Permission
from daybreak.core.settings import get_settings

from . import serving


def dbt_results() -> pd.DataFrame:
    """The last dbt invocation's node results from `run_results.json` under the data home's dbt target:
    `unique_id, kind, name, status, execution_time, message`; empty when dbt has not run here."""
    path = get_settings().dbt_target_dir / "run_results.json"
    try:
        results = json.loads(path.read_text())["results"]
    except (FileNotFoundError, KeyError, ValueError):
        return serving.empty(
            {
                "unique_id": "object",
                "kind": "object",
                "name": "object",
                "status": "object",
                "execution_time": "float64",
                "message": "object",
            }
        )
    return pd.DataFrame(
        [
            {
                "unique_id": result.get("unique_id", ""),
                "kind": result.get("unique_id", "").split(".")[0],
                "name": result.get("unique_id", "").split(".")[-1]
                if "." in result.get("unique_id", "")
                else "",
                "status": str(result.get("status", "")),
                "execution_time": float(result.get("execution_time") or 0.0),
                "message": result.get("message") or "",
            }
            for result in results
        ]
    )


def dbt_docs_url() -> str | None:
    """Where `daybreak docs --serve` serves dbt's docs site, when it is serving and answers (a server killed
    without tidying up leaves its record behind: asking tells the two apart)."""
    try:
        url = json.loads(get_settings().dbt_docs_served_path.read_text())["url"]
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - the address our own command recorded
            return url
    except (OSError, KeyError, TypeError, ValueError):
        return None


def airflow_url() -> str:
    """Where the Airflow UI is (`Settings.airflow_url`)."""
    return get_settings().airflow_url


def report_html(report_path: str) -> str | None:
    """The text of an Evidently report the drift job wrote, or None when the file is gone or unreadable.

    Only files under the data home's reports directory are read, so a path in the warehouse cannot make the
    dashboard read anything else on the server. Customer-level: the reports profile every column of the sales
    lines and customer features, the customer's id among them (its most frequent values).
    """
    identity.require(Permission.CUSTOMERS)
    reports = get_settings().reports_dir.resolve()
    path = Path(report_path).resolve()
    if not path.is_relative_to(reports):
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
