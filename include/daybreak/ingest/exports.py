"""Read a source system's export file as text, exactly as it arrived, from a local path or any fsspec URL.

Three formats: `csv` (the delimiter given by the dataset config's `landing.delimiter`, or sniffed among
`, ; TAB |`; `whitespace` splits on runs of spaces and tabs; quoted fields may hold delimiters and newlines;
UTF-8, UTF-16 or UTF-32 with a byte-order mark, or Windows Latin-1 (cp1252) when the bytes are not valid UTF-8),
`parquet` and `jsonl` (JSON lines, one object per line, or one JSON array of objects). A csv or jsonl export may
arrive gzip-compressed, whatever its name: it is recognised by its first bytes. Every value comes back as a
string, a missing one as `''`, so the ingest job checks one kind of input whatever the format.

A row that cannot be read as a row (a CSV record with a different number of fields than the header, a JSON line
that does not parse or is not an object: typically a truncated last line) does not stop the file: it is returned
beside the good rows, numbered in the same sequence, for the ingest job to quarantine with rule `malformed_row`.

A delimited UTF-8 file is parsed by Arrow's CSV reader (in C++, every column as text); only a file Arrow rejects
(a row with another number of fields, a quote left open, bytes that are not UTF-8) is read again line by line by
the careful reader below, which sets the bad rows aside with their line numbers and raw text. Both give the same
rows for a file both can read, so the fast path changes the speed, not the outcome.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from daybreak.core.vocabulary import FORMATS, WHITESPACE_DELIMITER

# a whitespace-separated field: "quoted" (a doubled quote inside is one quote) or a run of non-blank characters
_WHITESPACE_FIELD = re.compile(r'[ \t]*(?:"((?:[^"]|"")*)"(?=[ \t]|$)|([^ \t"][^ \t]*))')
MALFORMED_ROW = "malformed_row"
DELIMITERS = ",;\t|"
SNIFF_CHARS = 8192
# tried in order; latin-1 decodes any byte, for the few bytes cp1252 leaves undefined
ENCODINGS = ("utf-8", "cp1252", "latin-1")
# a byte-order mark names its encoding (Excel's "Unicode text" is UTF-16); UTF-32's marks are looked for first,
# as the little-endian one begins with UTF-16's
MARKED_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
GZIP_MAGIC = b"\x1f\x8b"
# files that arrive where text was expected, by their first bytes: said plainly instead of read as garbled text
NOT_TEXT = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook?); save it as CSV, or land the file inside it",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook (or another OLE2 file); save it as CSV",
    b"PAR1": "a Parquet file; set landing.format: parquet in the dataset config",
}
PANDAS_INDEX_COLUMN = re.compile(r"__index_level_\d+__")
# Excel's first line naming the delimiter: `sep=;`
SEP_HINT = re.compile(r"sep=(.)")
# where a header is looked for below a preamble (`read_export`'s header_columns)
PREAMBLE_LINES = 50
PREAMBLE_BYTES = 1 << 16


class ExportReadError(ValueError):
    """The file cannot be read at all in the given format (not just some of its rows)."""


@dataclass(frozen=True)
class MalformedRow:
    """A row that could not be split into the header's fields.

    Attributes:
        source_row: 1-based data row, in the same numbering as the good rows (`Export.rows.index`).
        line_number: 1-based physical line in the file where the row starts (the CSV header is line 1).
        raw_text: the row's text as it arrived.
        rule: why it was set aside (`malformed_row`).
    """

    source_row: int
    line_number: int
    raw_text: str
    rule: str = MALFORMED_ROW


@dataclass(frozen=True)
class Export:
    """One export file read as text.

    Attributes:
        rows: the well-formed rows, every value a `str`; the index is the 1-based data row.
        malformed: rows set aside, numbered in the same sequence as `rows`.
        encoding: the text encoding used (`None` for Parquet).
        delimiter: the CSV delimiter found (`None` for other formats).
        table: the same rows as the Arrow table Arrow's CSV reader parsed (`None` from the other readers), so
            the ingest can work on the text in Arrow without converting every value from Python again.
        preamble_lines: lines before the header that were not read (see `read_export`).
    """

    rows: pd.DataFrame
    malformed: list[MalformedRow] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    table: Any = None
    preamble_lines: int = 0

    @property
    def rows_in(self) -> int:
        return len(self.rows) + len(self.malformed)


def read_export(
    path_or_url: str, fmt: str, delimiter: str | None = None, header_columns: Sequence[str] = ()
) -> Export:
    """Read one export file.

    Args:
        path_or_url: a local path or an fsspec URL (`file://`, `memory://`, `s3://`, ...).
        fmt: `csv`, `parquet` or `jsonl`.
        delimiter: csv only: one character, `whitespace` (runs of spaces and tabs), or None to sniff it.
        header_columns: csv only: columns the header holds. When the first line does not hold them all, the
            header is the first of the next lines that does (`Export.preamble_lines` counts the lines before
            it: a report's title, an export date). Excel's `sep=;` first line is skipped either way, its
            delimiter used unless `delimiter` is given.

    Returns:
        the rows as strings, the malformed rows set aside, and the encoding (and delimiter) used.

    Raises:
        ExportReadError: unknown format, or a file that is not readable as that format at all.
    """
    if fmt not in FORMATS:
        raise ExportReadError(f"{path_or_url}: unknown export format {fmt!r}; supported: {list(FORMATS)}")
    import fsspec

    with fsspec.open(str(path_or_url), "rb") as handle:
        if fmt == "parquet":
            return _read_parquet(handle, path_or_url)
        data = handle.read()
    try:
        data = uncompressed(data)
    except (OSError, EOFError) as error:
        raise ExportReadError(f"{path_or_url}: a gzip file that cannot be decompressed ({error})") from error
    for magic, what in NOT_TEXT.items():
        if data.startswith(magic):
            raise ExportReadError(f"{path_or_url}: {what}, not {fmt} text")
    if fmt != "csv":
        return _read_jsonl(*decode(data))
    preamble = 0
    if header_columns or data.startswith(b"sep="):
        data, preamble, hinted = _without_preamble(data, delimiter, header_columns)
        delimiter = delimiter or hinted
    export = _read_csv_any(data, delimiter)
    if not preamble:
        return export
    malformed = [replace(m, line_number=m.line_number + preamble) for m in export.malformed]
    return replace(export, malformed=malformed, preamble_lines=preamble)


def _read_csv_any(data: bytes, delimiter: str | None) -> Export:
    if delimiter != WHITESPACE_DELIMITER and (fast := _read_csv_arrow(data, delimiter)) is not None:
        return fast
    text, encoding = decode(data)
    if delimiter == WHITESPACE_DELIMITER:
        return _read_whitespace(text, encoding)
    return _read_csv(text, encoding, delimiter)


def _without_preamble(
    data: bytes, delimiter: str | None, header_columns: Sequence[str]
) -> tuple[bytes, int, str | None]:
    """The file from its header line on, the lines before it, and the delimiter a `sep=` line names.

    Only the first `PREAMBLE_LINES` lines are looked at; when none of them holds every header column, the file is
    read from its first line as it is (and the ingest names the missing columns). Lines are counted as the careful
    reader counts them, so its line numbers move by exactly the lines cut."""
    lines = _first_lines(decode(data[:PREAMBLE_BYTES])[0])
    hinted = None
    first = 0
    if lines and (hint := SEP_HINT.fullmatch(lines[0].rstrip("\r\n"))):
        hinted, first = hint.group(1), 1
    wanted = set(header_columns)
    header = first
    if wanted and not _holds(lines[first] if first < len(lines) else "", wanted, delimiter or hinted):
        header = next(
            (i for i in range(first + 1, len(lines)) if _holds(lines[i], wanted, delimiter or hinted)), first
        )
    if header == 0:
        return data, 0, hinted
    text, encoding = decode(data)
    cut = sum(len(line) for line in _first_lines(text)[:header])
    return text[cut:].encode(encoding), header, hinted


def _first_lines(text: str) -> list[str]:
    lines = []
    for line in io.StringIO(text, newline=""):
        lines.append(line)
        if len(lines) == PREAMBLE_LINES:
            break
    return lines


def _holds(line: str, wanted: set[str], delimiter: str | None) -> bool:
    """Whether a line, split by the delimiter (or by each one Daybreak sniffs for), has every wanted name."""
    line = line.rstrip("\r\n")
    if delimiter == WHITESPACE_DELIMITER:
        splits = [split_whitespace(line) or []]
    else:
        splits = [line.split(d) for d in ([delimiter] if delimiter else DELIMITERS)]
    return any(wanted <= {field.strip().strip('"').strip() for field in fields} for fields in splits)


def list_exports(day_url_or_dir: str, glob: str) -> list[str]:
    """The export files in one landing day folder matching `glob`, sorted; `[]` when the folder does not exist.

    Works for a local folder and for object storage (`s3://bucket/landing/ds/2024-03-05`): the results keep the
    URL's protocol so they can be handed to `read_export`.
    """
    import fsspec

    location = str(day_url_or_dir)
    if "://" not in location:  # a local folder: pathlib, so the folder's own name is never read as a pattern
        folder = Path(location)
        return sorted(str(p) for p in folder.glob(glob) if p.is_file()) if folder.is_dir() else []
    fs, root = fsspec.core.url_to_fs(location)
    if not fs.isdir(root):
        return []
    return [fs.unstrip_protocol(p) for p in sorted(fs.glob(f"{root.rstrip('/')}/{glob}")) if fs.isfile(p)]


def uncompressed(data: bytes) -> bytes:
    """A gzip-compressed export's content, known by its first two bytes (no text export starts with them);
    other bytes as they are."""
    return gzip.decompress(data) if data.startswith(GZIP_MAGIC) else data


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes as the UTF-16 or UTF-32 their byte-order mark names, else UTF-8 (a byte-order mark dropped),
    else cp1252, else Latin-1; returns (text, encoding). `text.encode(encoding)` writes it back in the same
    encoding (a scrubbed export), UTF-16 and UTF-32 with this machine's byte order and mark."""
    for mark, encoding in MARKED_ENCODINGS:
        if data.startswith(mark):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                break  # not that encoding after all: bytes that happen to start like its mark
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.removeprefix("\ufeff"), encoding
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def sniff_delimiter(text: str) -> str:
    """The delimiter among `, ; TAB |` that csv.Sniffer finds in the first few KB; `,` when it cannot tell."""
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _read_csv_arrow(data: bytes, delimiter: str | None) -> Export | None:
    """A UTF-8 file whose every record has the header's fields, parsed by Arrow; None when Arrow rejects it (or
    the file is not plain enough to be sure of the same reading), for the careful reader to read instead."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

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


def _read_csv(text: str, encoding: str, delimiter: str | None = None) -> Export:
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


def _read_whitespace(text: str, encoding: str) -> Export:
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


def _read_jsonl(text: str, encoding: str) -> Export:
    """JSON lines; or, when the text opens with `[`, one JSON array of objects (what many APIs export), each
    element a row numbered from 1 and placed at the line it starts on."""
    records: list[dict[str, str]] = []
    numbers: list[int] = []
    malformed: list[MalformedRow] = []
    columns: dict[str, None] = {}
    items = _array_items(text) if text.lstrip().startswith("[") else _line_items(text)
    for row, (line_number, raw, value) in enumerate(items, start=1):
        if not isinstance(value, dict):
            malformed.append(MalformedRow(row, line_number, raw))
            continue
        records.append({key: as_text(item) for key, item in value.items()})
        columns.update(dict.fromkeys(value))
        numbers.append(row)
    frame = pd.DataFrame(records, columns=list(columns), index=pd.Index(numbers, dtype="int64"))
    frame = frame.astype(object).where(frame.notna(), "")  # a key one line lacks is an empty field
    return Export(frame, malformed, encoding, None)


def _line_items(text: str):
    """(line number, raw text, parsed value or None) of each non-blank line."""
    for index, line in enumerate(io.StringIO(text, newline="")):
        raw = line.rstrip("\r\n")
        if raw.strip():
            try:
                yield index + 1, raw, json.loads(raw)
            except ValueError:
                yield index + 1, raw, None


def _array_items(text: str):
    """(line number, raw text, parsed value) of each element of a JSON array, read one element at a time, so a
    file cut short still gives every element before the cut; what cannot be read from there on is one item with
    value None."""
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    line, counted = 1, 0  # the line `position` is on, counted up to `counted`

    def line_at(offset: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, offset)
        counted = offset
        return line

    while True:
        position = _skip_blanks(text, position)
        if text.startswith("]", position):
            return
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            break
        yield line_at(position), text[position:end], value
        position = _skip_blanks(text, end)
        if text.startswith(",", position):
            position += 1
        elif not text.startswith("]", position):  # no comma between two elements: the rest cannot be trusted
            break
    if rest := text[position:].rstrip():
        yield line_at(position), rest, None


def _skip_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _read_parquet(handle, path_or_url: str) -> Export:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(handle)
    except Exception as error:  # pyarrow raises several types for a corrupt or non-Parquet file
        raise ExportReadError(f"{path_or_url}: not a readable Parquet file ({error})") from error
    names = [n for n in table.column_names if not PANDAS_INDEX_COLUMN.fullmatch(n)]
    index = pd.RangeIndex(1, table.num_rows + 1)
    frame = pd.DataFrame(
        {name: [as_text(v) for v in table.column(name).to_pylist()] for name in names},
        index=index,
        dtype=object,
    )
    return Export(frame, [], None, None)


def as_text(value) -> str:
    """A value as the text a CSV export would carry: null -> '', numbers and timestamps as Python prints them
    (`3.5`, `2024-03-05 09:15:00`), booleans as `true`/`false`, nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
