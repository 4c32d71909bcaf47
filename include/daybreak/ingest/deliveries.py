"""A night's deliveries: the files found in the landing day folders, and one of them read and checked.

A night looks at its own day's folder and `landing.late_files_lookback_days` back, for files that were not there
when those days were ingested. Reading a delivery turns every way a file can be unusable (unreadable, empty on an
open day, lacking a column, dates that read two ways) into one `IngestError` naming the file and the day, for the
night to refuse it. A column the config gives several names (`columns: {location: [country, Country]}`) is
renamed to its first name here, so the mapping reads every file alike.
"""

from __future__ import annotations

import dataclasses
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
from daybreak.ingest.timestamps import AMBIGUOUS, DAY_FIRST, date_order

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
    modified: float = 0.0  # when the file was written (POSIX seconds): the order of a day's corrections


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
                Delivery(day, str(path), posixpath.basename(str(path)), *lake.size_and_time_of(path))
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
        IngestError: the file cannot be read, lacks a column, is empty although the shop was open that day, or
            has numeric dates that no value says are day-first or month-first, without `landing.timestamp_format`.
    """
    renamed = {other for others in config.other_names.values() for other in others}
    header = tuple(c for c in config.export_columns if c not in config.other_names)  # a name every file has
    try:
        export = read_export(delivery.path, config.landing_format, config.landing.delimiter, header)
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
    if renamed:
        export = _first_names(export, config)
    check_columns(list(export.rows.columns), config, delivery.name, delivery.business_date)
    rows = RawFile(
        export.rows, delivery.name, delivery.business_date, export.rows.index, export.malformed, export.table,
        _day_first(export, config, delivery),
    )  # fmt: skip
    return rows, export


def _first_names(export: Export, config: DatasetConfig) -> Export:
    """The export with each column the config gives several names renamed to its first name, from the first of
    the others it has (a file holding two of them keeps the later ones as unmapped columns)."""
    columns = list(export.rows.columns)
    names = {}
    for first, others in config.other_names.items():
        if first not in columns and (found := next((o for o in others if o in columns), None)):
            names[found] = first
    if not names:
        return export
    table = export.table
    if table is not None:
        table = table.rename_columns([names.get(name, name) for name in table.column_names])
    return dataclasses.replace(export, rows=export.rows.rename(columns=names), table=table)


def _day_first(export: Export, config: DatasetConfig, delivery: Delivery) -> bool | None:
    """Whether the file's numeric `ordered_at` dates are day-first, as its values or its business date settle it
    (`timestamps.date_order`); None when it has none, or a `landing.timestamp_format` says how to read them.

    Raises:
        IngestError: nothing settles it: the file is refused, naming an example and the key that settles it.
    """
    source = config.mapped_columns.get("ordered_at")
    if config.landing.timestamp_format or source is None or source not in export.rows.columns:
        return None
    order, example = date_order(export.rows[source], delivery.business_date)
    if order != AMBIGUOUS:
        return None if order is None else order == DAY_FIRST
    raise IngestError(
        f"export {delivery.path} for business date {delivery.business_date}: its dates ({source!r}, e.g. "
        f"{example!r}) read both as day/month and as month/day, and neither the file's values nor its business "
        "date settle which; set landing.timestamp_format in the dataset config (e.g. '%d/%m/%Y %H:%M' for "
        "day-first, '%m/%d/%Y %H:%M' for month-first)"
    )
