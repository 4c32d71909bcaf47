"""Delimited text read into rows: Arrow's CSV reader for a plain file, a careful reader for any other.

A delimited UTF-8 file is parsed by Arrow's CSV reader (in C++, every column as text); only a file Arrow rejects
(a row with another number of fields, a quote left open, bytes that are not UTF-8) is read again line by line by
the careful reader, which sets the bad rows aside with their line numbers and raw text, so one bad row costs that
row and not the file. Both give the same rows for a file both can read, so the fast path changes the speed, not
the outcome. Quoted fields may hold delimiters and newlines; `whitespace` splits on runs of spaces and tabs.
"""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from daybreak.core.vocabulary import WHITESPACE_DELIMITER
from daybreak.ingest.exports.decoding import decoded, sniff_delimiter
from daybreak.ingest.exports.rows import Export, MalformedRow

# a whitespace-separated field: "quoted" (a doubled quote inside is one quote) or a run of non-blank characters
_WHITESPACE_FIELD = re.compile(r'[ \t]*(?:"((?:[^"]|"")*)"(?=[ \t]|$)|([^ \t"][^ \t]*))')


def read_delimited(data: bytes, delimiter: str | None) -> Export:
    """A delimited file's rows: by Arrow when it can read them all, else by the careful (or whitespace) reader."""
    if delimiter != WHITESPACE_DELIMITER and (fast := read_with_arrow(data, delimiter)) is not None:
        return fast
    text = decoded(data)
    if delimiter == WHITESPACE_DELIMITER:
        return read_whitespace(text.text, text.label)
    return read_carefully(text.text, text.label, delimiter)


def read_with_arrow(data: bytes, delimiter: str | None) -> Export | None:
    """A UTF-8 file whose every record has the header's fields, parsed by Arrow; None when Arrow rejects it (or
    the file is not plain enough to be sure of the same reading), for the careful reader to read instead."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("\ufeff"):
        text, data = text[1:], data[len("\ufeff".encode()) :]
    first_line = text[: text.find("\n")].rstrip("\r") if "\n" in text else text
    if not first_line or '"' in first_line or "\r" in first_line:
        return None  # a blank or quoted header line, or old Mac line ends: the careful reader decides
    delimiter = delimiter or sniff_delimiter(text)
    header = unique_names(first_line.split(delimiter))
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char='"', double_quote=True, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    frame = pd.DataFrame(
        {name: table.column(i).to_numpy(zero_copy_only=False) for i, name in enumerate(header)},
        index=pd.RangeIndex(1, table.num_rows + 1).astype("int64"),
        columns=header,
        dtype=object,
    )
    return Export(frame, [], "utf-8", delimiter, table)


def read_carefully(text: str, encoding: str, delimiter: str | None = None) -> Export:
    """The rows of any delimited text, record by record; a record that cannot be split into the header's fields
    is set aside as malformed, with its line number and raw text."""
    delimiter = delimiter or sniff_delimiter(text)
    dialect = {"delimiter": delimiter, "quotechar": '"', "doublequote": True, "strict": False}
    lines = list(io.StringIO(text, newline=""))
    start, header = 0, None
    while header is None:  # the header is the first line with content
        found = _split_records(lines, dialect, start=start)
        if not found:
            return Export(pd.DataFrame(), [], encoding, delimiter)
        _, start, header = found[0]
        header = header or None
    header = unique_names(header)
    width = len(header)
    records = _split_records(lines, dialect, start=start, width=width)

    values: list[list[str]] = []
    numbers: list[int] = []
    malformed: list[MalformedRow] = []
    row = 0
    for first, last, record in records:
        if record == []:
            continue  # a blank line is not a row
        row += 1
        if record is None or len(record) != width:
            raw = "".join(lines[first:last]).rstrip("\r\n")
            malformed.append(MalformedRow(row, first + 1, raw))
        else:
            values.append(record)
            numbers.append(row)
    frame = pd.DataFrame(values, columns=header, index=pd.Index(numbers, dtype="int64"), dtype=object)
    return Export(frame, malformed, encoding, delimiter)


def unique_names(header: list[str]) -> list[str]:
    """Header names as pandas would give them, trimmed (`qty, price` names `price`, as a hand-made or padded
    export writes it): a blank name `Unnamed: <i>`, a repeated one `name.1`, `name.2`."""
    names: list[str] = []
    for i, name in enumerate(header):
        name = name.strip() or f"Unnamed: {i}"
        candidate, n = name, 0
        while candidate in names:
            n += 1
            candidate = f"{name}.{n}"
        names.append(candidate)
    return names


def _split_records(
    lines: list[str], dialect: dict, start: int = 0, width: int | None = None
) -> list[tuple[int, int, list[str] | None]]:
    """Split physical lines into CSV records: (first line index, end line index, fields or None if unreadable).

    A record with the wrong number of fields that spans several lines is usually an unclosed quote swallowing
    the lines after it: only its first line is set aside and reading starts again on the next, so one bad quote
    cannot take the rest of the file with it.
    """
    out: list[tuple[int, int, list[str] | None]] = []
    while start < len(lines):
        reader = csv.reader(iter(lines[start:]), **dialect)
        consumed = 0
        restart = None
        try:
            for record in reader:
                first, last = start + consumed, start + reader.line_num
                consumed = reader.line_num
                if width is not None and len(record) != width and last - first > 1:
                    out.append((first, first + 1, None))
                    restart = first + 1
                    break
                out.append((first, last, record))
                if width is None:
                    return out  # only the header was asked for
        except csv.Error:
            out.append((start + consumed, start + consumed + 1, None))
            restart = start + consumed + 1
        if restart is None:
            break
        start = restart
    return out


def split_whitespace(line: str) -> list[str] | None:
    """The fields of one whitespace-separated line; None when it cannot be split (a quote left open)."""
    fields, position, end = [], 0, len(line.rstrip(" \t"))
    while position < end:
        match = _WHITESPACE_FIELD.match(line, position)
        if match is None or match.end() == position:
            return None
        quoted, plain = match.groups()
        fields.append(plain if quoted is None else quoted.replace('""', '"'))
        position = match.end()
    return fields


def read_whitespace(text: str, encoding: str) -> Export:
    """Fields separated by runs of spaces and tabs, one record per line (a quoted field holds spaces, never a
    line break). A line with another number of fields than the header is set aside as malformed."""
    header: list[str] | None = None
    values: list[list[str]] = []
    numbers: list[int] = []
    malformed: list[MalformedRow] = []
    row = 0
    for index, line in enumerate(io.StringIO(text, newline="")):
        raw = line.rstrip("\r\n")
        if not raw.strip():
            continue
        fields = split_whitespace(raw)
        if header is None:
            header = unique_names(fields or [raw])
            continue
        row += 1
        if fields is None or len(fields) != len(header):
            malformed.append(MalformedRow(row, index + 1, raw))
        else:
            values.append(fields)
            numbers.append(row)
    frame = pd.DataFrame(values, columns=header or [], index=pd.Index(numbers, dtype="int64"), dtype=object)
    return Export(frame, malformed, encoding, WHITESPACE_DELIMITER)
