"""Removing one customer from files: landed exports, the lake's Parquet, other Parquet samples, text reports.

Each rewrite is atomic (`daybreak.core.files.write_atomic`) and deterministic: the same bytes in give the same bytes
out, so a landing folder's export and the lake's landed copy of it, scrubbed apart, stay identical (ingest
recognises a scrubbed delivery by comparing it with its landed copy: `daybreak.ingest.night_plan.plan`).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from daybreak.core.files import write_atomic
from daybreak.ingest.exports.decoding import GZIP_MAGIC, decode, uncompressed
from daybreak.privacy.pseudonyms import canonical_id

ERASED = "[erased]"
# a field boundary in any delimited export: a delimiter Daybreak reads (`, ; TAB |`, runs of blanks), a quote,
# or the line's start or end
_NOT_BOUNDARY = r"""[^,;\t| \r\n"]"""


def field_pattern(source_id: str) -> re.Pattern[str]:
    """The id as a whole field of a delimited or JSON line: quoted or not, a float's `.0` suffix included."""
    return re.compile(rf"(?<!{_NOT_BOUNDARY}){re.escape(source_id)}(?:\.0+)?(?!{_NOT_BOUNDARY})")


def scrub_export(path: Path, fmt: str, source_id: str) -> int:
    """Blank every field of an export file that holds the id (the line stays: its sale is not the customer's
    to take back); returns the fields blanked. Read-only files stay read-only. A gzip-compressed export is
    written back compressed, with no timestamp in its header, so the same bytes in still give the same bytes out."""
    data = path.read_bytes()
    if fmt == "parquet":
        return _scrub_parquet_export(path, source_id)
    text, encoding = decode(uncompressed(data))
    pattern = field_pattern(source_id)
    if fmt == "jsonl":  # a JSON string or number value: "id" -> "", 17850.0 -> null
        quoted = re.compile(rf'"{re.escape(source_id)}(?:\.0+)?"')
        text, strings = quoted.subn('""', text)
        number = re.compile(rf"(?<=:)(\s*){re.escape(source_id)}(?:\.0+)?(?=\s*[,}}])")
        text, numbers = number.subn(r"\1null", text)
        count = strings + numbers
    else:
        text, count = pattern.subn("", text)
    if count:
        scrubbed = text.encode(encoding)
        _rewrite(path, gzip.compress(scrubbed, mtime=0) if data.startswith(GZIP_MAGIC) else scrubbed)
    return count


def _scrub_parquet_export(path: Path, source_id: str) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    count = 0
    for index, name in enumerate(table.column_names):
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            hit = [canonical_id(value) == source_id for value in column.to_pylist()]
        elif pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            try:
                number = float(source_id)
            except ValueError:
                continue
            hit = [value == number for value in column.to_pylist()]
        else:
            continue
        if any(hit):
            count += sum(hit)
            cleared = pc.if_else(pa.array(hit), pa.nulls(len(column), column.type), column)
            table = table.set_column(index, name, cleared)
    if count:
        _rewrite_with(path, lambda staging: pq.write_table(table, staging))
    return count


def scrub_parquet_rows(path: Path, column: str, value: str, *, delete: bool) -> int:
    """Delete the rows of a Parquet file whose `column` equals `value`, or (delete=False) set it to null there,
    keeping the file's schema; returns the rows touched."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if column not in table.column_names:
        return 0
    hit = pc.fill_null(pc.equal(table.column(column), pa.scalar(value)), False)
    count = pc.sum(hit).as_py() or 0
    if not count:
        return 0
    if delete:
        table = table.filter(pc.invert(hit))
    else:
        index = table.column_names.index(column)
        kept = pc.if_else(hit, pa.nulls(len(table), table.schema.field(column).type), table.column(column))
        table = table.set_column(index, table.schema.field(column), kept)
    _rewrite_with(path, lambda staging: pq.write_table(table, staging, compression="zstd"))
    return int(count)


def value_pattern(value: str) -> re.Pattern[str]:
    """`value` as a whole value in free text (a report, a log): not inside a longer word or number, a float's
    `.0` suffix included. Erasing `13047` leaves `13047173`, `113047` and `13047.5` alone, but takes
    `customer 13047`, `mediumvioletred:13047` and `"13047.0"`."""
    escaped = re.escape(value)
    return re.compile(rf"(?<![0-9A-Za-z])(?<!\d\.){escaped}(?:\.0+)?(?![0-9A-Za-z])(?!\.\d)")


def scrub_text(path: Path, needles: list[str]) -> int:
    """Replace every whole-value occurrence of the needles (`value_pattern`) in a text file (a report, a log)
    with `[erased]`; returns the replacements."""
    data = path.read_bytes()
    if not any(needle.encode() in data for needle in needles):
        return 0
    text, encoding = decode(data)
    count = 0
    for needle in needles:
        text, found = value_pattern(needle).subn(ERASED, text)
        count += found
    if count:
        _rewrite(path, text.encode(encoding))
    return count


def _rewrite(path: Path, data: bytes) -> None:
    _rewrite_with(path, lambda staging: staging.write_bytes(data))


def _rewrite_with(path: Path, write) -> None:
    mode = path.stat().st_mode & 0o777

    def written(staging: Path) -> None:
        write(staging)
        staging.chmod(mode)

    write_atomic(path, written)
