"""A night's deliveries: the files found in the landing day folders, and one of them read and checked.

A night looks at its own day's folder and `landing.late_files_lookback_days` back, for files that were not there
when those days were ingested. Reading a delivery turns every way a file can be unusable (unreadable, empty on an
open day, lacking a column) into one `IngestError` naming the file and the day, for the night to refuse it.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.datasets.calendar import BusinessCalendar
from daybreak.ingest import lake
from daybreak.ingest.canonical import (
    LOADED_COLUMNS,
    FileResult,
    IngestError,
    MissingExportError,
    RawFile,
    check_columns,
)
from daybreak.ingest.exports.reader import read_export
from daybreak.ingest.exports.rows import Export, ExportReadError

if TYPE_CHECKING:
    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig


@dataclass(frozen=True)
class Delivery:
    """One file found in a landing day folder."""

    business_date: dt.date
    path: str
    name: str
    size: int


def deliveries(
    settings: Settings,
    config: DatasetConfig,
    business_date: dt.date,
    listed: dict[dt.date, list[Delivery]] | None = None,
) -> list[Delivery]:
    """The run date's files, then files in the lookback window's folders, oldest day first.

    Args:
        listed: folders already listed by this run, by day (filled in here): consecutive nights of a bulk load
            share 14 of their 15 folders, so each is listed once.
    """
    listed = {} if listed is None else listed
    days = [
        business_date - dt.timedelta(days=back) for back in range(config.late_files_lookback_days, -1, -1)
    ]
    for day in days:
        if day not in listed:
            listed[day] = [
                Delivery(day, str(path), posixpath.basename(str(path)), lake.size_of(path))
                for path in lake.find_exports(settings, config, day)
            ]
    return [delivery for day in days for delivery in listed[day]]


def missing_export(settings: Settings, config: DatasetConfig, business_date: dt.date, found: list[Delivery]):
    """The error for an open business day without an export of its own, or None."""
    if not BusinessCalendar.from_config(config).is_open(business_date) or any(
        d.business_date == business_date for d in found
    ):
        return None
    day_dir = settings.landing_dir / business_date.isoformat()
    return MissingExportError(
        f"no export for business date {business_date}: expected file(s) matching {day_dir / config.landing_glob}"
    )


def read_delivery(delivery: Delivery, config: DatasetConfig) -> tuple[RawFile | FileResult, Export | None]:
    """Read one file and check it has the columns the config reads; its rows for `to_canonical_many` (an empty
    file's result at once), and the export as read, for its encoding and the lines before its header.

    Raises:
        IngestError: the file cannot be read, lacks a column, or is empty although the shop was open that day.
    """
    try:
        export = read_export(
            delivery.path, config.landing_format, config.landing.delimiter, config.export_columns
        )
    except ExportReadError as error:
        raise IngestError(
            f"export {delivery.path} for business date {delivery.business_date} cannot be read: {error}"
        ) from error
    if export.rows_in == 0 and BusinessCalendar.from_config(config).is_open(delivery.business_date):
        raise IngestError(
            f"export {delivery.path} for business date {delivery.business_date} is empty (the shop was open)"
        )
    if export.rows_in == 0 and export.rows.columns.empty:
        empty = pd.DataFrame(columns=list(LOADED_COLUMNS))
        return FileResult(delivery.name, "", 0, empty, pd.DataFrame()), None
    check_columns(list(export.rows.columns), config, delivery.name, delivery.business_date)
    rows = RawFile(
        export.rows, delivery.name, delivery.business_date, export.rows.index, export.malformed, export.table
    )
    return rows, export
