"""An export's bytes made text: gzip taken off, the encoding found, files that are not text named, the delimiter
sniffed.

Shops' systems export in whatever their locale writes: UTF-8 with or without a byte-order mark, Excel's "Unicode
text" (UTF-16), Windows Latin-1 (cp1252); sometimes a file whose lines were written by different systems, UTF-8
lines beside cp1252 ones, which is read line by line (`decoded`); sometimes gzip-compressed whatever the name,
sometimes a workbook saved where a CSV was expected. Finding this from the bytes themselves, the same way for every reader, lets a file be
read as it arrived instead of refused for its name or its locale.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from dataclasses import dataclass

DELIMITERS = ",;\t|"
SNIFF_CHARS = 8192
# tried in order; latin-1 decodes any byte, for the few bytes cp1252 leaves undefined
ENCODINGS = ("utf-8", "cp1252", "latin-1")
FALLBACK_LINES_SHOWN = 10
# in text decoded with "surrogateescape": a character UTF-8 encoded, and a byte that was not UTF-8
_UTF8_BEYOND_ASCII = re.compile("[\u0080-\ud7ff\ue000-\U0010ffff]")
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
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


def uncompressed(data: bytes) -> bytes:
    """A gzip-compressed export's content, known by its first two bytes (no text export starts with them);
    other bytes as they are."""
    return gzip.decompress(data) if data.startswith(GZIP_MAGIC) else data


@dataclass(frozen=True)
class Decoded:
    """An export's text, the encoding that writes it back (`text.encode(encoding)`), and the lines that were not
    in it: a file mixing UTF-8 lines with cp1252 ones is UTF-8 with those lines read as cp1252."""

    text: str
    encoding: str
    fallback_lines: tuple[int, ...] = ()  # 1-based, counting newlines

    @property
    def label(self) -> str:
        """The encoding as an export records it (`monitoring.ingest_runs.encoding`), naming lines read otherwise."""
        if not self.fallback_lines:
            return self.encoding
        shown = ", ".join(str(n) for n in self.fallback_lines[:FALLBACK_LINES_SHOWN])
        more = ", ..." if len(self.fallback_lines) > FALLBACK_LINES_SHOWN else ""
        return f"{self.encoding}, {ENCODINGS[1]} on line(s) {shown}{more}"


def decode(data: bytes) -> tuple[str, str]:
    """`decoded`'s text and the encoding that writes it back."""
    text = decoded(data)
    return text.text, text.encoding


def decoded(data: bytes) -> Decoded:
    """Decode bytes as the UTF-16 or UTF-32 their byte-order mark names, else UTF-8 (a byte-order mark dropped),
    else, when some lines are UTF-8 (with characters beyond ASCII) and others are not, line by line (UTF-8, else
    cp1252, else Latin-1, those lines recorded), else cp1252, else Latin-1. `text.encode(encoding)` writes it back
    (a scrubbed export), UTF-16 and UTF-32 with this machine's byte order and mark, a mixed file as UTF-8."""
    for mark, encoding in MARKED_ENCODINGS:
        if data.startswith(mark):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError:
                break  # not that encoding after all: bytes that happen to start like its mark
    try:
        return Decoded(data.decode(ENCODINGS[0]).removeprefix("\ufeff"), ENCODINGS[0])
    except UnicodeDecodeError:
        pass
    mixed = _line_by_line(data)
    if mixed is not None:
        return mixed
    for encoding in ENCODINGS[1:]:
        try:
            return Decoded(data.decode(encoding), encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _line_by_line(data: bytes) -> Decoded | None:
    """A file of UTF-8 lines and lines in another encoding, each line decoded on its own; None when no line is
    UTF-8 beyond ASCII (a file in one other encoding)."""
    text = data.decode(ENCODINGS[0], "surrogateescape")  # a byte that is not UTF-8 becomes one lone surrogate
    if not _UTF8_BEYOND_ASCII.search(text):
        return None
    lines, fallback = text.split("\n"), []
    for index, line in enumerate(lines):
        if _NOT_UTF8.search(line):
            fallback.append(index + 1)
            lines[index] = _decode_other(line.encode(ENCODINGS[0], "surrogateescape"))
    return Decoded("\n".join(lines).removeprefix("\ufeff"), ENCODINGS[0], tuple(fallback))


def _decode_other(line: bytes) -> str:
    try:
        return line.decode(ENCODINGS[1])
    except UnicodeDecodeError:
        return line.decode(ENCODINGS[2])


def sniff_delimiter(text: str) -> str:
    """The delimiter among `, ; TAB |` that csv.Sniffer finds in the first few KB; `,` when it cannot tell."""
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","
