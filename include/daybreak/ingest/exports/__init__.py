"""Reading a source system's export file as text, exactly as it arrived, from a local path or any fsspec URL.

Three formats: `csv` (the delimiter given by the dataset config's `landing.delimiter`, or sniffed among
`, ; TAB |`; `whitespace` splits on runs of spaces and tabs; quoted fields may hold delimiters and newlines;
UTF-8, UTF-16 or UTF-32 with a byte-order mark, or Windows Latin-1 (cp1252) when the bytes are not valid UTF-8),
`parquet` and `jsonl` (JSON lines, one object per line, or one JSON array of objects). A csv or jsonl export may
arrive gzip-compressed, whatever its name: it is recognised by its first bytes. Every value comes back as a
string, a missing one as `''`, so the ingest job checks one kind of input whatever the format.

A row that cannot be read as a row (a CSV record with a different number of fields than the header, a JSON line
that does not parse or is not an object: typically a truncated last line) does not stop the file: it is returned
beside the good rows, numbered in the same sequence, for the ingest job to quarantine with rule `malformed_row`.

The modules, from the front door down:

- `reader`: `read_export`, one file in any format;
- `listing`: `list_exports`, the files in a landing day folder (local or object storage);
- `preamble`: the lines above a header (a report title, Excel's `sep=;`), found and cut;
- `delimited`, `json_lines`, `parquet`: one reader per format;
- `decoding`: bytes made text (gzip, byte-order marks, cp1252), what is not text, the delimiter sniffed;
- `rows`: what every reader returns (`Export`, `MalformedRow`, `ExportReadError`).
"""
