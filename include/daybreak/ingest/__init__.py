"""Ingest: a shop's nightly export files, read as they arrived, checked line by line, landed in the raw lake.

`jobs.ingest` is the entry point: it opens the warehouse and runs nights through `day.ingest_days`. The package,
in the order a file meets it:

- `exports/`: one export file read as text rows (csv, jsonl, parquet; encodings, gzip, preambles), the rows that
  cannot be split set aside (`exports.reader.read_export`);
- `timestamps`, `number_parsing`: the text of a timestamp and of a number read into values;
- `quarantine_rules`: what a valid sales line is, rule by rule, built in and from the dataset config;
- `canonical`: an export's rows mapped onto Daybreak's canonical sales line, split into loaded and quarantined;
- `pseudonymise`: customer ids replaced by their pseudonyms before a line is written;
- `deliveries`: the files in a night's landing folders, and one of them read and checked;
- `preparation`: a run's new files read, mapped, pseudonymised and staged, across the cores;
- `night_plan`: each delivery sorted against what already landed (new, duplicate, refused);
- `day`: the nights landed and every delivery accounted for (`ingest_days`);
- `lake`: where a landed file's bytes and its valid lines live; `accounting`: one `monitoring.ingest_runs` row
  per delivery, the quarantined rows and the rebuild requests;
- `series_file`: the rules of a series file for a one-off `daybreak forecast --input`, outside the nightly path;
- `simulation/`: a source for development, demos and benchmarks: the synthetic shop, or a real dataset replayed
  night by night.
"""
