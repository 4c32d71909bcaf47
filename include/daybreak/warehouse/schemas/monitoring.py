"""The tables of schema `monitoring`: ingest's accounting and quarantine, rebuild requests for late files, drift,
data quality, model references, reports, retrain decisions and the privacy step's audit."""

from __future__ import annotations

from daybreak.warehouse.declaration import AS_OF, RUN_ID, Table, column, key

_BUSINESS_DATE = key("business_date", "DATE", "The business day the file was exported for.")
_SOURCE_FILE = key("source_file", "VARCHAR", "The landed file's name.")
_SHA = key("file_sha256", "VARCHAR", "The landed file's SHA-256; identifies the file whatever its name.")


INGEST_RUNS = Table(
    "monitoring",
    "ingest_runs",
    "One row per landed export file (loaded, or replaced by a later delivery for its day), per repeated delivery "
    "of one (duplicate, 0 rows) and per file refused (refused, with the reason); rows_in = rows_loaded + "
    "rows_quarantined + rows_replaced and revenue_in = revenue_loaded + revenue_quarantined + revenue_replaced.",
    (
        _BUSINESS_DATE,
        _SOURCE_FILE,
        column("source_path", "VARCHAR", "Where the file was found."),
        _SHA,
        column("file_bytes", "BIGINT", "The file's size."),
        column(
            "status",
            "VARCHAR",
            "loaded, replaced (loaded, then replaced by a later delivery for its day under the dataset's "
            "`landing.corrections: replace`), duplicate (its bytes landed before) or refused; files recorded "
            "before statuses were are loaded.",
            backfill="'loaded'",
        ),
        column("duplicate_of", "VARCHAR", "For a duplicate: <date>/<file> of the first delivery."),
        column("rows_in", "BIGINT", "Rows in the file (well-formed and malformed)."),
        column("rows_loaded", "BIGINT", "Rows that reached the lake."),
        column("rows_quarantined", "BIGINT", "Rows in monitoring.quarantine."),
        column(
            "rows_replaced",
            "BIGINT",
            "For a replaced file: the rows it had loaded, which left the lake when a later delivery replaced it.",
            backfill="0",
        ),
        column(
            "revenue_in",
            "DOUBLE",
            "Revenue (quantity * unit_price; an aggregated row's own revenue) over the file's rows where it is "
            "a finite number.",
        ),
        column("revenue_loaded", "DOUBLE", "The same over the loaded rows."),
        column("revenue_quarantined", "DOUBLE", "The same over the quarantined rows."),
        column("revenue_replaced", "DOUBLE", "The same over the replaced rows.", backfill="0"),
        column("encoding", "VARCHAR", "The file's text encoding when it was not UTF-8."),
        column("unexpected_columns", "VARCHAR", "JSON list of the export's columns the config does not map."),
        column(
            "landed_by_run_date",
            "DATE",
            "The night whose ingest landed the file; later for a late file. Files recorded before it was are "
            "taken as landed on their business date.",
            backfill="business_date",
        ),
        column(
            "ingested_at",
            "TIMESTAMP",
            "Wall-clock time (UTC) the file landed; for freshness checks only.",
        ),
        column("reason", "VARCHAR", "For a refused file: why, in one line."),
        column(
            "replaced_by", "VARCHAR", "For a replaced file: <date>/<file> of the delivery that replaced it."
        ),
        column("replaced_by_run_date", "DATE", "For a replaced file: the night that replaced it."),
        RUN_ID,
    ),
    ("business_date", "source_file", "file_sha256"),
    "business_date",
)

QUARANTINE = Table(
    "monitoring",
    "quarantine",
    "Every row ingest did not load, with the file, row, the first rule it broke, a detail and the raw values.",
    (
        _BUSINESS_DATE,
        column("source_file", "VARCHAR", "The landed file's name."),
        _SHA,
        key("source_row", "BIGINT", "1-based data row within the file."),
        column("rule", "VARCHAR", "The first rule the row broke."),
        column("detail", "VARCHAR", "What is wrong, in words."),
        column("raw_values", "VARCHAR", "JSON text of the row as it arrived."),
        column(
            "revenue",
            "DOUBLE",
            "quantity * unit_price (an aggregated row's revenue) when it is a finite number.",
        ),
        RUN_ID,
    ),
    ("business_date", "file_sha256", "source_row"),
    "business_date",
)

REBUILD_REQUESTS = Table(
    "monitoring",
    "rebuild_requests",
    "Files that landed after later days had landed: their business_date and every later day must be "
    "rebuilt; the transform job rebuilds from the earliest pending one and sets done_by_run_date.",
    (
        _BUSINESS_DATE,
        column("source_file", "VARCHAR", "The late file's name."),
        _SHA,
        column("requested_by_run_date", "DATE", "The night that landed the late file."),
        column(
            "done_by_run_date", "DATE", "The night whose transform rebuilt the marts; null while pending."
        ),
        RUN_ID,
    ),
    ("business_date", "file_sha256"),
    "business_date",
)

DRIFT_SUMMARY = Table(
    "monitoring",
    "drift_summary",
    "One row per night: the drift of the current window's sales lines against the reference window's.",
    (
        AS_OF,
        column("reference_start", "DATE", "First day of the reference window."),
        column("reference_end", "DATE", "Last day of the reference window."),
        column("current_start", "DATE", "First day of the current window."),
        column("current_end", "DATE", "Last day of the current window (the as-of date)."),
        column("n_columns", "INTEGER", "Columns compared (0 when a window was empty)."),
        column("n_drifted_columns", "INTEGER", "Columns that drifted."),
        column(
            "drifted_columns",
            "VARCHAR",
            "The columns that drifted, comma-separated (empty when none did; null when nothing was compared).",
        ),
        column("share_drifted", "DOUBLE", "n_drifted_columns / n_columns; null when nothing was compared."),
        column("dataset_drift", "BOOLEAN", "Whether the share crossed Evidently's dataset drift threshold."),
        column("report_path", "VARCHAR", "The Evidently HTML report; null when nothing was compared."),
        RUN_ID,
    ),
    ("as_of_date",),
    "as_of_date",
)

MODEL_REFERENCES = Table(
    "monitoring",
    "model_references",
    "The sample of data each promoted champion was trained on, stored once at its promotion and compared with "
    "every later night's data (include/daybreak/nights/references.py); one row per model version.",
    (
        key("model_kind", "VARCHAR", "forecast or segmentation."),
        key("model_id", "VARCHAR", "The series (forecast) or `customers` (segmentation)."),
        key("version", "VARCHAR", "The champion's registry version."),
        column("reference_start", "DATE", "First day of the data the sample was drawn from."),
        column("reference_end", "DATE", "Last day of the data the sample was drawn from."),
        column(
            "sampling_rule",
            "VARCHAR",
            "How the rows were chosen, seed included, so the sample can be redrawn.",
        ),
        column("source_rows", "BIGINT", "Rows the sample was drawn from."),
        column("sample_rows", "BIGINT", "Rows in the sample."),
        column(
            "path",
            "VARCHAR",
            "The Parquet file under DAYBREAK_HOME holding the sample (column model_id).",
        ),
        column("promoted_on", "DATE", "The night the version was promoted and its reference stored."),
        RUN_ID,
    ),
    ("model_kind", "model_id", "version"),
    None,
)

DRIFT_METRICS = Table(
    "monitoring",
    "drift_metrics",
    "One row per night, model and feature: the feature's drift from the serving champion's reference, by the "
    "named test; inputs (customer and series features) and predictions (segment mix, forecast level, width).",
    (
        AS_OF,
        key("model_kind", "VARCHAR", "forecast or segmentation."),
        column("model_version", "VARCHAR", "The champion version whose reference was compared."),
        column("reference_start", "DATE", "First day of the reference window."),
        column("reference_end", "DATE", "Last day of the reference window."),
        key("scope", "VARCHAR", "inputs or predictions."),
        key("feature", "VARCHAR", "The feature (for series: `<series_id>:<column>`)."),
        column("test", "VARCHAR", "Evidently's test: wasserstein (numbers) or jensenshannon (categories)."),
        column("statistic", "DOUBLE", "The test's distance."),
        column(
            "threshold",
            "DOUBLE",
            "The distance from which the feature counts as drifted (dataset config).",
        ),
        column("drifted", "BOOLEAN", "statistic >= threshold."),
        column("reference_rows", "BIGINT", "Reference rows compared."),
        column("current_rows", "BIGINT", "Current rows compared."),
        RUN_ID,
    ),
    ("as_of_date", "model_kind", "scope", "feature"),
    "as_of_date",
)

DATA_QUALITY = Table(
    "monitoring",
    "data_quality",
    "One row per night and check of the day's sales lines: missing values per column, values outside the "
    "reference window's range, and categories (locations, products) never seen before the day.",
    (
        AS_OF,
        key("check_name", "VARCHAR", "missing_share, out_of_range_share or new_categories."),
        key("column_name", "VARCHAR", "The sales-line column checked."),
        column("value", "DOUBLE", "The share (missing, out of range) or the count of new categories."),
        column("threshold", "DOUBLE", "The value above which the check fails."),
        column("passed", "BOOLEAN", "value <= threshold."),
        column("detail", "VARCHAR", "The range compared, or the new categories (first 20)."),
        column(
            "reference_start", "DATE", "First day of the window the range and known categories come from."
        ),
        column("reference_end", "DATE", "Last day of that window."),
        RUN_ID,
    ),
    ("as_of_date", "check_name", "column_name"),
    "as_of_date",
)

REPORTS = Table(
    "monitoring",
    "reports",
    "The night's Evidently HTML reports under DAYBREAK_HOME, one row per night and report, for dashboards "
    "to link; each names the model version and reference window it compared with. The night writes the rows; "
    "a report's HTML is rendered when asked for (daybreak.nights.monitoring.write_reports).",
    (
        AS_OF,
        key(
            "report",
            "VARCHAR",
            "segmentation_inputs, forecast_inputs, segmentation_predictions, forecast_predictions or "
            "data_quality.",
        ),
        column("model_kind", "VARCHAR", "forecast or segmentation; null for data quality."),
        column("model_version", "VARCHAR", "The champion version(s) compared with (comma-separated)."),
        column("reference_start", "DATE", "First day of the reference window."),
        column("reference_end", "DATE", "Last day of the reference window."),
        column("path", "VARCHAR", "Where the HTML file is written when the report is asked for."),
        RUN_ID,
    ),
    ("as_of_date", "report"),
    "as_of_date",
)

RETRAIN_DECISIONS = Table(
    "monitoring",
    "retrain_decisions",
    "One row per night and model kind: whether the retraining policy (dataset config `retraining:`) retrains "
    "it tonight and why; the forecast and segment jobs read it, the registry records the reason.",
    (
        AS_OF,
        key("model_kind", "VARCHAR", "forecast or segmentation."),
        column("retrain", "BOOLEAN", "Whether tonight retrains this kind."),
        column("trigger", "VARCHAR", "drift, degradation, schedule, or none."),
        column("reason", "VARCHAR", "The policy's reason in words (what drifted or degraded, how much)."),
        column("share_drifted", "DOUBLE", "Share of the kind's input features that drifted."),
        column("error_ratio", "DOUBLE", "Rolling error of landed actuals / the champions' backtest error."),
        column("alerted", "BOOLEAN", "Whether an alert was sent."),
        RUN_ID,
    ),
    ("as_of_date", "model_kind"),
    "as_of_date",
)

PRIVACY_AUDIT = Table(
    "monitoring",
    "privacy_audit",
    "What the nightly privacy step did (include/daybreak/privacy/): per erasure request, the link removed, the "
    "lines unlinked, the customer-level rows deleted and the files rewritten or scrubbed; per landed file past "
    "`landing.retention_days`, its removal. Never holds a customer id or pseudonym. Appended, never replaced.",
    (
        AS_OF,
        key("request_id", "VARCHAR", "The erasure request (daybreak privacy erase), or `retention`."),
        key(
            "action",
            "VARCHAR",
            "remove_link, unlink_lines, delete_rows, rewrite_landed_file, scrub_file or remove_landed_file.",
        ),
        key("target", "VARCHAR", "The table, or the file's path under DAYBREAK_HOME."),
        column("rows_affected", "BIGINT", "Rows (or fields, in a landed file) changed, deleted or removed."),
        column("reason", "VARCHAR", "The request's reason, or the retention rule applied."),
        RUN_ID,
    ),
    ("as_of_date", "request_id", "action", "target"),
    None,
)

TABLES = (
    INGEST_RUNS,
    QUARANTINE,
    REBUILD_REQUESTS,
    DRIFT_SUMMARY,
    MODEL_REFERENCES,
    DRIFT_METRICS,
    DATA_QUALITY,
    REPORTS,
    RETRAIN_DECISIONS,
    PRIVACY_AUDIT,
)
"""In declaration order."""
