"""The export files a simulated source writes: one per day, where the landing expects it, written once.

Both sources (the synthetic shop and the replay of a real dataset) write through `write_days`, so they agree on
where a day's file lives, write it atomically (`daybreak.core.files.write_text_atomic`), and skip a day whose
file already exists unless asked to overwrite it: a rerun is cheap and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from daybreak.core.files import write_text_atomic


@dataclass(frozen=True)
class SimulationSummary:
    """What one simulator or replay run did.

    Args:
        days_written: day files written by this run (header-only closed days included).
        days_skipped: days whose file already existed and was left alone.
        lines_written: data rows written (headers not counted).
        first_day: first day of the range (inclusive).
        last_day: last day of the range (inclusive).
        landing_dir: the folder the day folders were written under.
    """

    days_written: int
    days_skipped: int
    lines_written: int
    first_day: dt.date
    last_day: dt.date
    landing_dir: Path


def day_file(landing_dir: Path, day: dt.date) -> Path:
    """Where the export of `day` lives: `<landing_dir>/<YYYY-MM-DD>/sales_<YYYY-MM-DD>.csv`."""
    iso = day.isoformat()
    return Path(landing_dir) / iso / f"sales_{iso}.csv"


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from `start` to `end`, both included; `ValueError` when `end` is before `start`."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def write_days(
    landing_dir: Path, days: list[dt.date], render: Callable[[dt.date], tuple[str, int]], *, overwrite: bool
) -> tuple[int, int, int]:
    """Write each day's export that is not there yet (or every one, with `overwrite`), atomically.

    `render(day)` gives the file's text and its number of lines. Returns (days written, days skipped, lines).
    """
    written = skipped = lines = 0
    for day in days:
        path = day_file(landing_dir, day)
        if path.exists() and not overwrite:
            skipped += 1
            continue
        text, n = render(day)
        write_text_atomic(path, text)
        written += 1
        lines += n
    return written, skipped, lines
