"""What a night of monitoring found, each finding naming the champion and the reference window it compared with.

A drift row or a report that does not say which model version and which window it was measured against cannot be
acted on, so every part of the night (inputs, predictions, data quality) stamps its findings the same way here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class Night:
    """What one night of monitoring found: rows per table, each report's inputs and metadata (rendered on demand,
    `daybreak.nights.monitoring.write_reports`), the alerts to send."""

    drift: list[pd.DataFrame] = field(default_factory=list)
    quality: pd.DataFrame | None = None
    reports: dict[str, tuple[Any, dict]] = field(default_factory=dict)
    decisions: list[dict] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)


def stamp(frame: pd.DataFrame, kind: str, scope: str, version: str, start, end) -> pd.DataFrame:
    """Drift rows naming the model kind, the scope (inputs or predictions), the champion and the window compared."""
    return frame.assign(
        model_kind=kind, scope=scope, model_version=version, reference_start=start, reference_end=end
    )


def versions(versions: pd.Series) -> str:
    """The champion versions compared, in one field: the version, or `first..last (n versions)`."""
    distinct = sorted(set(versions))
    return distinct[0] if len(distinct) == 1 else f"{distinct[0]}..{distinct[-1]} ({len(distinct)} versions)"


def meta(kind: str, version: str, start, end) -> dict[str, str]:
    """A report's metadata: the model kind, the champion and the window, shown in its heading (`report_html`)."""
    return {
        "model_kind": kind,
        "model_version": str(version),
        "reference_window": f"{start}..{end}",
    }
