"""A large delimited export read in batches of rows, so reading it holds one batch in memory, not the file.

The whole-file reader (`reader.read_export`) holds the file's bytes, its text and every row as a Python string at
once: a 5-million-line export took 6.8 GB. A plain UTF-8 delimited file (the kind Arrow's CSV reader reads whole in
`delimited.read_with_arrow`) is read here by Arrow's streaming CSV reader instead, a block of bytes at a time, each
block's rows handed on as they come, numbered as the whole-file reader numbers them. The rows are the same as the
whole-file reader's: the same header (a preamble and Excel's `sep=` line found in the first bytes as
`preamble.without_preamble` finds them), the same delimiter, the same parse options. A file this reader cannot be
sure of (another encoding, a quoted header, old Mac line ends, a row Arrow rejects, even at the end) raises
`NotStreamable`, and the caller reads it whole, by the careful reader that sets bad rows aside.
"""

from __future__ import annotations

import codecs
import gzip
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from daybreak.core.vocabulary import WHITESPACE_DELIMITER
from daybreak.ingest.exports.decoding import GZIP_MAGIC, NOT_TEXT, SNIFF_CHARS, sniff_delimiter
from daybreak.ingest.exports.delimited import unique_names
from daybreak.ingest.exports.preamble import PREAMBLE_BYTES, without_preamble

_BOM = "\ufeff".encode()


class NotStreamable(Exception):
    """The file is not one the batch reader can read exactly as the whole-file reader does: read it whole."""


@dataclass(frozen=True)
class Batch:
    """One batch of a file's rows: every value a `str`, the index the 1-based data row (as `Export.rows`), and
    the same rows as the Arrow table they were parsed into (as `Export.table`)."""

    rows: pd.DataFrame
    table: pa.Table


@dataclass(frozen=True)
class BatchedExport:
    """A delimited export opened for reading in batches: its header, delimiter and preamble are known before the
    first batch is read; `batches()` reads it (once)."""

    columns: list[str]
    delimiter: str
    preamble_lines: int
    reader: pacsv.CSVStreamingReader
    handle: io.BufferedIOBase

    def batches(self) -> Iterator[Batch]:
        """The batches in file order. Raises `NotStreamable` where Arrow rejects a row (the whole-file path then
        sets it aside), so a caller must not keep what earlier batches gave until the last one is read."""
        first = 1
        try:
            while True:
                try:
                    record_batch = self.reader.read_next_batch()
                except StopIteration:
                    return
                except (
                    pa.ArrowInvalid,
                    UnicodeDecodeError,
                    OSError,
                    EOFError,
                ) as error:  # a bad row, a bad gzip
                    raise NotStreamable(str(error)) from error
                if record_batch.num_rows == 0:
                    continue
                table = pa.Table.from_batches([record_batch])
                rows = pd.DataFrame(
                    {
                        name: table.column(i).to_numpy(zero_copy_only=False)
                        for i, name in enumerate(self.columns)
                    },
                    index=pd.RangeIndex(first, first + table.num_rows).astype("int64"),
                    columns=self.columns,
                    dtype=object,
                )
                first += table.num_rows
                yield Batch(rows, table)
        finally:
            self.handle.close()


def open_batches(
    path_or_url: str, delimiter: str | None, header_columns: Sequence[str], batch_bytes: int
) -> BatchedExport:
    """Open a delimited export for reading in batches (`BatchedExport.batches`) of about `batch_bytes` of the file
    each; `delimiter` and `header_columns` as `read_export`'s.

    Raises:
        NotStreamable: the file is not plain UTF-8 delimited text whose header Arrow reads as the whole-file
            reader does (its reader says what is wrong with it, or reads it).
    """
    if delimiter == WHITESPACE_DELIMITER:
        raise NotStreamable("whitespace-separated")
    handle = fsspec.open(str(path_or_url), "rb").open()
    try:
        stream = _uncompressed(handle)
        head = stream.read(PREAMBLE_BYTES)
        whole = len(head) < PREAMBLE_BYTES
        if not whole:
            if b"\n" not in head:
                raise NotStreamable("a first line longer than the bytes looked at")
            cut = head.rindex(b"\n") + 1  # whole lines only: the first bytes are decoded on their own
            head, stream = head[:cut], _joined(head[cut:], stream)
        head, preamble, delimiter = _header_part(head, delimiter, header_columns)
        text = head.decode("utf-8")
        if not whole and len(text) <= SNIFF_CHARS:
            raise NotStreamable(
                "too few characters to sniff the delimiter from as the whole-file reader does"
            )
        first_line = text[: text.find("\n")].rstrip("\r") if "\n" in text else text
        if not first_line or '"' in first_line or "\r" in first_line:
            raise NotStreamable("a blank or quoted header line, or old Mac line ends")
        delimiter = delimiter or sniff_delimiter(text)
        columns = unique_names(first_line.split(delimiter))
        reader = pacsv.open_csv(
            pa.PythonFile(_joined(head, stream), mode="r"),
            read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=batch_bytes),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char='"', double_quote=True, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (NotStreamable, UnicodeDecodeError, pa.ArrowInvalid, OSError, EOFError) as error:
        handle.close()
        raise NotStreamable(str(error)) from error
    except BaseException:
        handle.close()
        raise
    return BatchedExport(columns, delimiter, preamble, reader, handle)


def _uncompressed(handle) -> io.BufferedIOBase:
    """The file's bytes, gzip taken off when its first bytes say so (as `decoding.uncompressed`)."""
    start = handle.read(len(GZIP_MAGIC))
    joined = _joined(start, handle)
    return gzip.GzipFile(fileobj=joined) if start == GZIP_MAGIC else joined


def _header_part(
    head: bytes, delimiter: str | None, header_columns: Sequence[str]
) -> tuple[bytes, int, str | None]:
    """The first bytes from the header line on, the lines before it and the delimiter, as `read_export` finds
    them (`without_preamble`), for a UTF-8 file; `NotStreamable` for any other."""
    for magic in NOT_TEXT:
        if head.startswith(magic):
            raise NotStreamable("not text")
    codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # UnicodeDecodeError: not UTF-8
    look_for_preamble = bool(header_columns) or head.startswith(
        b"sep="
    )  # as read_export, before the mark goes
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    preamble = 0
    if look_for_preamble:
        head, preamble, hinted = without_preamble(head, delimiter, header_columns)
        delimiter = delimiter or hinted
    return head, preamble, delimiter


def _joined(first: bytes, rest) -> io.BufferedReader:
    """`_Joined`, buffered: its `read(n)` gives n bytes until the end, as Arrow and the header's look expect."""
    return io.BufferedReader(_Joined(first, rest), buffer_size=1 << 20)


class _Joined(io.RawIOBase):
    """Some bytes already read, then the rest of a stream: a file read from where its first bytes were looked at."""

    def __init__(self, first: bytes, rest) -> None:
        self._first = memoryview(first)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._first.nbytes:
            n = min(len(buffer), self._first.nbytes)
            buffer[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()
