"""An export's bytes made text: gzip taken off, the encoding found, files that are not text named, the delimiter
sniffed.

Shops' systems export in whatever their locale writes: UTF-8 with or without a byte-order mark, Excel's "Unicode
text" (UTF-16), Windows Latin-1 (cp1252); sometimes gzip-compressed whatever the name, sometimes a workbook saved
where a CSV was expected. Finding this from the bytes themselves, the same way for every reader, lets a file be
read as it arrived instead of refused for its name or its locale.
"""

from __future__ import annotations

import codecs
import csv
import gzip

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
