"""JSON exports read into rows: JSON lines (one object per line), or one JSON array of objects.

Many APIs export one of the two; each object is a row, its keys the columns (a key one object lacks is an empty
field), its values as the text a CSV export would carry (`as_text`). A line or element that does not parse or is
not an object (typically a truncated last line) is set aside as malformed, numbered like the good rows, so a file
cut short still gives every row before the cut.
"""

from __future__ import annotations

import io
import json

import pandas as pd

from daybreak.ingest.exports.rows import Export, MalformedRow, as_text


def read_jsonl(text: str, encoding: str) -> Export:
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
