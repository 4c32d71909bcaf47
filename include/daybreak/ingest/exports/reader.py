"""Read one export file as text, exactly as it arrived, from a local path or any fsspec URL.

The front door of `daybreak.ingest.exports`: it opens the file, takes off gzip, refuses what is not text, cuts a
preamble above the header, and hands the bytes to the reader of the format; see the package's docstring for what
each format accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import fsspec

from daybreak.core.vocabulary import FORMATS
from daybreak.ingest.exports.decoding import NOT_TEXT, decoded, uncompressed
from daybreak.ingest.exports.delimited import read_delimited
from daybreak.ingest.exports.json_lines import read_jsonl
from daybreak.ingest.exports.parquet import read_parquet
from daybreak.ingest.exports.preamble import without_preamble
from daybreak.ingest.exports.rows import Export, ExportReadError


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
    with fsspec.open(str(path_or_url), "rb") as handle:
        if fmt == "parquet":
            return read_parquet(handle, path_or_url)
        data = handle.read()
    try:
        data = uncompressed(data)
    except (OSError, EOFError) as error:
        raise ExportReadError(f"{path_or_url}: a gzip file that cannot be decompressed ({error})") from error
    for magic, what in NOT_TEXT.items():
        if data.startswith(magic):
            raise ExportReadError(f"{path_or_url}: {what}, not {fmt} text")
    if fmt != "csv":
        text = decoded(data)
        return read_jsonl(text.text, text.label)
    preamble = 0
    if header_columns or data.startswith(b"sep="):
        data, preamble, hinted = without_preamble(data, delimiter, header_columns)
        delimiter = delimiter or hinted
    export = read_delimited(data, delimiter)
    if not preamble:
        return export
    malformed = [replace(m, line_number=m.line_number + preamble) for m in export.malformed]
    return replace(export, malformed=malformed, preamble_lines=preamble)
