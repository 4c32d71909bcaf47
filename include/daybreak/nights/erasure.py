"""Erasure requests: recorded by `daybreak privacy erase`, carried out by the next night's privacy step.

A request is a line in `DAYBREAK_HOME/privacy/<dataset>.erasures.jsonl`, appended under a lock and written
atomically like the planners' override log (`daybreak.nights.overrides`). It names the customer by pseudonym only (the
source id is in the link store until the night erases it) and is dated in business time: `as_of_date` is the
newest published night when it was made, so the night for business date D carries out the requests made before
D (a rerun or backfill of an earlier night does not). Carrying one out, in this order (each step idempotent, so a
night that fails half-way finishes the job when it is rerun):

1. the retained landed files that held the customer (the lake's landed copy and the landing folder's export, and
   any delivery of the same bytes recorded as a `duplicate`) are rewritten with the id's fields blank;
2. the lake's Parquet lines of the customer keep their revenue but lose their customer id (set to null), and
   so do the warehouse's line-level marts (`LINE_TABLES`);
3. every other warehouse table with a `customer_id` column (features, segments, transitions, customer values,
   dimensions) loses the customer's rows across all as-of dates, and the quarantine's raw values lose the id;
4. every Parquet file under the data home with a `customer_id` column (the monitoring references' samples) loses
   the customer's rows, and every text report or log under the data home that names the pseudonym or the id is
   scrubbed;
5. the link is removed from the link store, then the request is marked done and its pseudonym dropped from the
   log. Each step writes an audit row to `monitoring.privacy_audit`, which never holds the id or pseudonym.

The rows deleted from the warehouse stay in its freed blocks until the job compacts it (`jobs.privacy`,
`carried_out_on`).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.core.files import dumps, locked, write_text_atomic
from daybreak.core.settings import pseudonym_key
from daybreak.ingest import accounting, lake
from daybreak.nights import scrub
from daybreak.privacy.links import LinkStore
from daybreak.privacy.pseudonyms import pseudonym
from daybreak.warehouse import tables
from daybreak.warehouse.schemas.monitoring import INGEST_RUNS, QUARANTINE
from daybreak.warehouse.schemas.monitoring import PRIVACY_AUDIT as AUDIT

if TYPE_CHECKING:
    import duckdb

    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig

LINE_TABLES = ("marts.fct_sales_lines",)
"""Tables of sales lines: a line stays (its revenue counts), only its customer id is cleared."""
TEXT_SUFFIXES = (".html", ".json", ".jsonl", ".csv", ".txt", ".log", ".md", ".yml", ".yaml")
# folders of the data home the erasure handles by format (or that hold no customer data as text); of the landing
# folder only the day folders, the exports, are rewritten by format: other files there (a simulator's truth) are text
SKIPPED_FOLDERS = ("lake", "warehouse", "serving", "secrets", "privacy")


class ErasureError(ValueError):
    """A request that cannot be recorded: no reason, or a customer the link store does not know."""


def log_path(settings: Settings) -> Path:
    return settings.home / "privacy" / f"{settings.dataset_name}.erasures.jsonl"


def read_requests(settings: Settings) -> list[dict]:
    path = log_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def request(
    settings: Settings, source_id: str, reason: str, *, now: dt.datetime, as_of: dt.date | None
) -> dict:
    """Record an erasure request for the customer with source id `source_id`; returns the request (an earlier
    pending request for the same customer, if there is one).

    Raises:
        ErasureError: no reason given, or no link for the id (never ingested, or already erased).
    """
    if not reason.strip():
        raise ErasureError("an erasure request needs a --reason (kept in monitoring.privacy_audit)")
    code = pseudonym(source_id, pseudonym_key())
    if LinkStore.open(settings).source_id(code) != source_id:
        raise ErasureError(
            f"no customer {source_id!r} is linked in dataset {settings.dataset_name!r} "
            "(never ingested, or already erased)"
        )
    path = log_path(settings)
    with locked(path):
        existing = read_requests(settings)
        for record in existing:
            if record["pseudonym"] == code and record["processed_on"] is None:
                return record
        record = {
            "request_id": f"erase_{secrets.token_hex(6)}",
            "pseudonym": code,
            "reason": reason.strip(),
            "requested_at": now.isoformat(timespec="seconds"),
            "as_of_date": as_of.isoformat() if as_of else None,
            "processed_on": None,
        }
        _write_log(path, [*existing, record])
    return record


def pending(settings: Settings, business_date: dt.date) -> list[dict]:
    """The requests the night for `business_date` carries out: not done, made before that night."""
    return [
        r
        for r in read_requests(settings)
        if r["processed_on"] is None
        and (r["as_of_date"] is None or r["as_of_date"] < business_date.isoformat())
    ]


def carried_out_on(settings: Settings, business_date: dt.date) -> list[dict]:
    """The requests the night for `business_date` carried out (its warehouse is compacted afterwards)."""
    return [r for r in read_requests(settings) if r["processed_on"] == business_date.isoformat()]


def carry_out(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    config: DatasetConfig,
    business_date: dt.date,
    run_id: str,
) -> list[dict]:
    """Carry out the night's pending requests (module docstring); returns one summary per request."""
    summaries = []
    for record in pending(settings, business_date):
        code = record["pseudonym"]
        store = LinkStore.open(settings)
        source_id = store.source_id(code)
        audit: list[tuple[str, str, int]] = []
        files = _lake_files_of(connection, settings, code)
        # the landed files first: they are found through the lake's and the quarantine's rows, which a rerun
        # after a failure half-way would no longer find
        if source_id is not None:
            for path in _landed_files(connection, settings, files, [code, source_id]):
                count = scrub.scrub_export(path, config.landing_format, source_id)
                audit.append(("rewrite_landed_file", _relative(settings, path), count))
        for path, _, _ in files:
            audit.append(("unlink_lines", _relative(settings, path), _unlink_lake(path, code)))
        for table in LINE_TABLES:
            if tables.exists(connection, table):
                count = connection.execute(
                    f"update {table} set customer_id = null where customer_id = ?",  # noqa: S608 - declared name
                    [code],
                ).fetchall()[0][0]
                audit.append(("unlink_lines", table, count))
        for table in _customer_tables(connection):
            count = connection.execute(
                f"delete from {table} where customer_id = ?",  # noqa: S608 - a name from the catalogue
                [code],
            ).fetchall()[0][0]
            audit.append(("delete_rows", table, count))
        audit.extend(_scrub_quarantine(connection, code, source_id))
        for path in sorted(settings.home.rglob("*.parquet")):
            if _skipped(settings, path):
                continue
            count = scrub.scrub_parquet_rows(path, "customer_id", code, delete=True)
            audit.append(("delete_rows", _relative(settings, path), count))
        needles = [code] + ([source_id] if source_id else [])
        for path in sorted(settings.home.rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and not _skipped(settings, path):
                audit.append(("scrub_file", _relative(settings, path), scrub.scrub_text(path, needles)))
        if store.remove(code):
            store.save()
            audit.append(("remove_link", str(_relative(settings, store.path)), 1))
        _mark_done(settings, record["request_id"], business_date)
        rows = [
            (business_date, record["request_id"], a, t, n, record["reason"], run_id) for a, t, n in audit if n
        ]
        write_audit(connection, rows)
        summaries.append(
            {"request_id": record["request_id"], "changes": {f"{r[2]} {r[3]}": r[4] for r in rows}}
        )
    return summaries


def write_audit(connection: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """Append audit rows (a rerun's identical row replaces its first)."""
    if not rows:
        return
    tables.ensure(connection, AUDIT)
    frame = AUDIT.conform(pd.DataFrame(rows, columns=list(AUDIT.column_names)))
    connection.register("privacy_audit_rows", frame)
    try:
        connection.execute(
            f"insert or replace into {AUDIT.qualified} by name select * from privacy_audit_rows"  # noqa: S608
        )
    finally:
        connection.unregister("privacy_audit_rows")


def _lake_files_of(connection, settings: Settings, code: str) -> list[tuple[Path, str, str]]:
    """The lake files holding the customer's lines: (path, business date, source file name)."""
    root = settings.lake_dir / lake.LAKE_TABLE
    if not any(root.glob("*/*.parquet")):
        return []
    found = connection.execute(
        "select distinct filename, business_date::varchar, source_file from read_parquet(?, filename = true, "
        "hive_partitioning = true, union_by_name = true) where customer_id = ?",
        [str(root / "*" / "*.parquet"), code],
    ).fetchall()
    return [(Path(name), day, source) for name, day, source in sorted(found)]


def _unlink_lake(path: Path, code: str) -> int:
    return scrub.scrub_parquet_rows(path, "customer_id", code, delete=False)


def _customer_tables(connection) -> list[str]:
    """Every base table with a customer_id column except the line-level ones."""
    found = connection.execute(
        "select c.table_schema || '.' || c.table_name from information_schema.columns c "
        "join information_schema.tables t using (table_catalog, table_schema, table_name) "
        "where c.table_catalog = current_database() and c.column_name = 'customer_id' "
        "and t.table_type = 'BASE TABLE' order by 1"
    ).fetchall()
    return [name for (name,) in found if name not in LINE_TABLES]


def _scrub_quarantine(connection, code: str, source_id: str | None) -> list[tuple[str, str, int]]:
    """Clear the customer from quarantined rows' raw values: its pseudonymised field becomes null, and a
    malformed row's raw text loses the id where it is a whole field (`scrub.field_pattern`: erasing 13047 leaves
    130471 and 13047.5 alone)."""
    if not tables.exists(connection, QUARANTINE.qualified):
        return []
    rows = connection.execute(
        f"select business_date, file_sha256, source_row, raw_values from {QUARANTINE.qualified} "  # noqa: S608
        "where contains(raw_values, ?) or contains(raw_values, ?)",
        [code, source_id or code],
    ).fetchall()
    changed = []
    for day, checksum, row, raw in rows:
        text = raw.replace(json.dumps(code), "null")
        if source_id:
            text = scrub.field_pattern(source_id).sub("", text)
        if text != raw:
            changed.append((text, day, checksum, row))
    if changed:
        connection.executemany(
            f"update {QUARANTINE.qualified} set raw_values = ? "  # noqa: S608
            "where business_date = ? and file_sha256 = ? and source_row = ?",
            changed,
        )
    return [("unlink_lines", QUARANTINE.qualified, len(changed))]


def _landed_files(connection, settings: Settings, files, needles: list[str]) -> list[Path]:
    """The landed copies and landing-folder exports of every file that held the customer: files with lines in
    the lake, and files with quarantined rows naming them."""
    keys = {(day, source) for _, day, source in files}
    if tables.exists(connection, QUARANTINE.qualified):
        for needle in needles:
            keys |= set(
                connection.execute(
                    f"select distinct business_date::varchar, source_file from {QUARANTINE.qualified} "  # noqa: S608
                    "where contains(raw_values, ?)",
                    [needle],
                ).fetchall()
            )
    keys |= _duplicates_of(connection, keys)
    paths = []
    for day, source in sorted(keys):
        paths.extend(
            sorted((settings.lake_dir / lake.LANDED_FOLDER / f"business_date={day}").glob(f"*/{source}"))
        )
        landing = settings.landing_dir / day / source
        if landing.exists():
            paths.append(landing)
    return [p for p in paths if p.exists()]


def _duplicates_of(connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The deliveries recorded as `duplicate` of the given landed files (the same bytes under another name or
    day): they hold the customer too, and stay in the landing folder although they were never loaded."""
    if not keys or not tables.exists(connection, INGEST_RUNS.qualified):
        return set()
    found = connection.execute(
        f"select distinct d.business_date::varchar, d.source_file from {INGEST_RUNS.qualified} d "  # noqa: S608
        f"join {INGEST_RUNS.qualified} l using (file_sha256) "
        "where d.status = ? and list_contains(?, l.business_date::varchar || '/' || l.source_file)",
        [accounting.STATUS_DUPLICATE, [f"{day}/{source}" for day, source in keys]],
    ).fetchall()
    return set(found)


def _mark_done(settings: Settings, request_id: str, business_date: dt.date) -> None:
    path = log_path(settings)
    with locked(path):
        records = read_requests(settings)
        for record in records:
            if record["request_id"] == request_id:
                record.update(processed_on=business_date.isoformat(), pseudonym=None)
        _write_log(path, records)


def _write_log(path: Path, records: list[dict]) -> None:
    write_text_atomic(path, "".join(dumps(r) + "\n" for r in records))


def _skipped(settings: Settings, path: Path) -> bool:
    parts = path.relative_to(settings.home).parts
    if parts and parts[0] == "landing":
        return len(parts) > 3 and _is_date(parts[2])
    return bool(parts) and parts[0] in SKIPPED_FOLDERS


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _relative(settings: Settings, path: Path) -> str:
    try:
        return str(Path(path).relative_to(settings.home))
    except ValueError:
        return str(path)
