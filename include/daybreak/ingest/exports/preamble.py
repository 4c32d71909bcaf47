"""The lines before an export's header: a report's title, an export date, Excel's `sep=;` line.

Exports saved from a spreadsheet or a reporting tool often carry such lines above the header. Finding the header
by the columns the dataset reads (`read_export`'s `header_columns`) lets the file be read as it is, instead of
being refused or read with a title as its header; the lines cut are counted so that line numbers in the
quarantine still point into the file as it arrived.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from daybreak.core.vocabulary import WHITESPACE_DELIMITER
from daybreak.ingest.exports.decoding import DELIMITERS, decode
from daybreak.ingest.exports.delimited import split_whitespace

# Excel's first line naming the delimiter: `sep=;`
SEP_HINT = re.compile(r"sep=(.)")
# where a header is looked for below a preamble (`read_export`'s header_columns)
PREAMBLE_LINES = 50
PREAMBLE_BYTES = 1 << 16


def without_preamble(
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
