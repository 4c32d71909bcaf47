"""Every table Daybreak writes outside dbt, declared once: name, columns, DuckDB types, key, partition, meaning.

dbt declares the tables it builds; these are the ones Python writes (the model jobs' predictions, the registry,
ingest's and drift's monitoring). Everything that needs their shape takes it from here, so a column is added in
one place: the writers (`conform` gives a frame exactly the declared columns and types, so a table's types never
depend on the first frame written), `warehouse.replace_partitions` (creates tables from `ddl`), the dbt sources
(`dbt_project/models/sources/_daybreak__sources.yml`, generated from this module by
`python -m daybreak.warehouse.dbt_sources`), the dashboards' test fixtures and docs/architecture.md.

Constraints: a table replaced a partition at a time (delete then insert in one transaction) declares its key for
the dbt tests only; a table without a partition is updated in place row by row (the registry), and DuckDB enforces
its key as a primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass(frozen=True)
class Column:
    """One column: its name, DuckDB type and meaning; `nullable=False` makes it NOT NULL and tested as such."""

    name: str
    type: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    """One table's contract. `key` identifies a row; `partition` is the column a night replaces (None: none)."""

    schema: str
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partition: str | None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        unknown = [c for c in (*self.key, *([self.partition] if self.partition else [])) if c not in names]
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"{self.qualified}: key or partition not a column, or a column twice: {unknown}")

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """The key the warehouse enforces: a partitioned table's rows are replaced by partition instead."""
        return self.key if self.partition is None else ()

    def ddl(self, name: str | None = None) -> str:
        """`create table if not exists` with the declared columns (and the primary key of an unpartitioned one),
        named `name` if given (a rebuild's staging table)."""
        parts = [f'"{c.name}" {c.type}{"" if c.nullable else " not null"}' for c in self.columns]
        if self.primary_key:
            parts.append(f"primary key ({', '.join(self.primary_key)})")
        return f"create table if not exists {name or self.qualified} ({', '.join(parts)})"

    def empty(self) -> pd.DataFrame:
        """No rows, the declared columns and types: what a night with nothing to write writes."""
        import pandas as pd

        return self.conform(pd.DataFrame({name: pd.Series([], dtype=object) for name in self.column_names}))

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` as exactly the declared columns, in order, each cast to its declared type.

        Built through Arrow, so a missing number (NaN, None, pd.NA) is stored as NULL and an empty frame still
        carries DATE, INTEGER and BOOLEAN columns. Extra columns are dropped.

        Raises:
            ValueError: a declared column is missing, or its values do not cast to its type (the message names
                the table and the column).
        """
        import pandas as pd
        import pyarrow as pa

        if missing := [name for name in self.column_names if name not in frame.columns]:
            raise ValueError(f"{self.qualified}: the frame has no column(s) {missing}")
        data = {}
        for column in self.columns:
            constructor, *arguments = _ARROW_TYPES[column.type]
            arrow_type = getattr(pa, constructor)(*arguments)
            values = frame[column.name].reset_index(drop=True)
            try:
                if column.type in ("DATE", "TIMESTAMP") and not isinstance(values.dtype, pd.ArrowDtype):
                    values = pd.to_datetime(values)
                    values = values.dt.date if column.type == "DATE" else values
                array = pa.array(values, from_pandas=True)
                if array.type != arrow_type:
                    array = array.cast(arrow_type)
            except (pa.ArrowException, TypeError, ValueError) as error:
                raise ValueError(
                    f"{self.qualified}.{column.name}: values do not cast to {column.type}: {error}"
                ) from error
            data[column.name] = pd.Series(array, dtype=pd.ArrowDtype(arrow_type))
        return pd.DataFrame(data, columns=list(self.column_names))


# DuckDB type -> the pyarrow type constructor (and its arguments) that `conform` casts to
_ARROW_TYPES = {
    "DATE": ("date32",),
    "VARCHAR": ("string",),
    "INTEGER": ("int32",),
    "BIGINT": ("int64",),
    "DOUBLE": ("float64",),
    "BOOLEAN": ("bool_",),
    "TIMESTAMP": ("timestamp", "us"),
}


def _c(name: str, type_: str, description: str, nullable: bool = True) -> Column:
    return Column(name, type_, description, nullable)


def _key(name: str, type_: str, description: str) -> Column:
    return Column(name, type_, description, nullable=False)


_AS_OF = _key(
    "as_of_date", "DATE", "The night (business date) that wrote the row; the partition a rerun replaces."
)
_RUN_ID = _c(
    "run_id", "VARCHAR", "Lineage: the Airflow run (or CLI run) that wrote the row; reruns ignore it."
)
_SERIES = _key("series_id", "VARCHAR", "The series (`location|product_id`, or as the dataset defines it).")
_MODEL = _c(
    "model",
    "VARCHAR",
    "The model that made the row: seasonal_naive, prophet, auto_ets, ..., global_lgbm or ensemble.",
)
_MODEL_VERSION = _c(
    "model_version", "VARCHAR", "The registry version (registry.model_versions.version) whose model scored."
)
_TARGET_TIME = _c(
    "target_time",
    "TIMESTAMP",
    "The hour forecast, for an hourly series (target_date is its day); null for daily, weekly and monthly ones.",
)
_BUSINESS_DATE = _key("business_date", "DATE", "The business day the file was exported for.")
_SOURCE_FILE = _key("source_file", "VARCHAR", "The landed file's name.")
_SHA = _key("file_sha256", "VARCHAR", "The landed file's SHA-256; identifies the file whatever its name.")

_DECLARED = (
    Table(
        "predictions",
        "forecasts",
        "Every night's forecasts, one row per series and future period; history kept. Bounds nest: the 95% "
        "interval holds the 80% one, which holds yhat.",
        (
            _AS_OF,
            _SERIES,
            _c("target", "VARCHAR", "The forecast measure: revenue or units."),
            _key(
                "target_date",
                "DATE",
                "The period forecast, at the grain of `frequency`: the day (an hourly series: the hour's day, "
                "target_time the hour); the week's last day (the dataset's series.week_ends_on weekday); the "
                "month's first day.",
            ),
            _c("horizon_step", "INTEGER", "Periods ahead of the last complete period: 1 is the next."),
            _c(
                "yhat",
                "DOUBLE",
                "The point forecast people read: the final one, a planner's override where one applies "
                "(override_id), else the model's (then equal to yhat_statistical).",
            ),
            _c("yhat_lower_80", "DOUBLE", "Lower bound of the 80% interval (of the final forecast)."),
            _c("yhat_upper_80", "DOUBLE", "Upper bound of the 80% interval (of the final forecast)."),
            _c("yhat_lower_95", "DOUBLE", "Lower bound of the 95% interval (of the final forecast)."),
            _c("yhat_upper_95", "DOUBLE", "Upper bound of the 95% interval (of the final forecast)."),
            _MODEL,
            _MODEL_VERSION,
            _RUN_ID,
            _c(
                "yhat_statistical",
                "DOUBLE",
                "The model's point forecast, reconciled over the series hierarchy (predictions."
                "forecast_reconciliation), before any planner's override; null in rows written before overrides "
                "existed (read it as yhat).",
            ),
            _c(
                "override_id",
                "VARCHAR",
                "The planner's override applied to this row (planning.overrides); null when the model's stands.",
            ),
            _c(
                "yhat_base",
                "DOUBLE",
                "The series' own model forecast before hierarchical reconciliation (yhat_statistical is after it); "
                "null in rows written before reconciliation existed.",
            ),
            _c(
                "frequency",
                "VARCHAR",
                "The grain of target_date and horizon_step: hourly, daily, weekly or monthly (the dataset's "
                "series.frequency); null in rows written before it was recorded, which are daily.",
            ),
            _TARGET_TIME,
        ),
        ("as_of_date", "series_id", "target_date", "target_time"),
        "as_of_date",
    ),
    Table(
        "predictions",
        "forecast_reconciliation",
        "How each night made its forecasts coherent (every parent series the sum of its children): on a "
        "retraining night every reconciliation method's backtest score, the best chosen; on other nights the "
        "choice in force, reused. No rows when the series form no hierarchy.",
        (
            _AS_OF,
            _key(
                "method",
                "VARCHAR",
                "bottom_up, top_down_forecast_proportions, top_down_average_proportions, min_trace_ols, "
                "min_trace_wls_struct, or base (the unreconciled forecasts, scored for comparison, never chosen).",
            ),
            _c("metric", "VARCHAR", "The dataset's selection metric: mase, smape or rmse."),
            _c(
                "score",
                "DOUBLE",
                "The metric on the backtest folds, averaged over folds and then over the hierarchy's series; "
                "lower is better. On a reused choice, the score it was chosen with.",
            ),
            _c("folds", "INTEGER", "Backtest folds reconciled (covering every series of the hierarchy)."),
            _c("series", "INTEGER", "Series scored."),
            _c("chosen", "BOOLEAN", "Whether the night published this method's forecasts."),
            _c(
                "chosen_on",
                "DATE",
                "The night whose backtest chose the method in force (reused, with its score, until the next).",
            ),
            _c(
                "reason",
                "VARCHAR",
                "Why this method: the backtest of chosen_on chose it, the default before any backtest, or a "
                "fallback to bottom_up when the method failed.",
            ),
            _RUN_ID,
        ),
        ("as_of_date", "method"),
        "as_of_date",
    ),
    Table(
        "predictions",
        "forecast_components",
        "The decomposition of each forecast by Prophet (trend, seasonalities, holidays, regressors) and MSTL "
        "(trend and seasonal parts); other models have no rows.",
        (
            _AS_OF,
            _SERIES,
            _key("target_date", "DATE", "The period forecast (an hourly series: the hour's day)."),
            _key(
                "component", "VARCHAR", "trend, daily, weekly, yearly, holidays, regressors, or MSTL's parts."
            ),
            _c("value", "DOUBLE", "The component's contribution."),
            _c(
                "mode",
                "VARCHAR",
                "additive (target units), multiplicative (a fraction of the trend), log1p_* (on the log1p scale).",
            ),
            _MODEL,
            _MODEL_VERSION,
            _RUN_ID,
            _TARGET_TIME,
        ),
        ("as_of_date", "series_id", "target_date", "target_time", "component"),
        "as_of_date",
    ),
    Table(
        "predictions",
        "backtest_metrics",
        "Rolling-origin backtest scores of every candidate, per fold, on retraining nights.",
        (
            _AS_OF,
            _SERIES,
            _key(
                "candidate", "VARCHAR", "The candidate's label, e.g. prophet(seasonality_mode=additive,...)."
            ),
            _MODEL,
            _key(
                "role",
                "VARCHAR",
                "baseline (seasonal naive), candidate, ensemble, or champion (its own model).",
            ),
            _key("fold", "INTEGER", "The fold, 0 the earliest."),
            _c("cutoff", "DATE", "The last training period of the fold."),
            _c("n_train", "INTEGER", "Training periods of the fold."),
            _c("n_test", "INTEGER", "Test periods of the fold."),
            _c("mase", "DOUBLE", "Mean absolute scaled error (scaled by the in-sample seasonal naive)."),
            _c("smape", "DOUBLE", "Symmetric mean absolute percentage error, percent (0..200)."),
            _c("rmse", "DOUBLE", "Root mean squared error."),
            _c("bias", "DOUBLE", "Mean of forecast minus actual."),
            _c("coverage_80", "DOUBLE", "Share of actuals inside the 80% interval."),
            _c("coverage_95", "DOUBLE", "Share of actuals inside the 95% interval."),
            _c("selected", "BOOLEAN", "Whether this candidate became the night's challenger."),
            _RUN_ID,
        ),
        ("as_of_date", "series_id", "candidate", "role", "fold"),
        "as_of_date",
    ),
    Table(
        "predictions",
        "forecast_selection",
        "One row per night and series: what was trained, what was decided and which model scored.",
        (
            _AS_OF,
            _SERIES,
            _c("retrained", "BOOLEAN", "Whether candidates were backtested tonight."),
            _c("n_history", "INTEGER", "Periods of history the series had."),
            _c("metric", "VARCHAR", "The selection metric: mase, smape or rmse."),
            _c("challenger", "VARCHAR", "The best candidate's label."),
            _c("challenger_model", "VARCHAR", "The best candidate's model."),
            _c("challenger_score", "DOUBLE", "Its mean backtest score."),
            _c("baseline_score", "DOUBLE", "The seasonal naive's mean backtest score."),
            _c("champion_version", "VARCHAR", "The champion going into the night."),
            _c("champion_score", "DOUBLE", "The champion's score on the same folds."),
            _c("decision", "VARCHAR", "promote, reject, or null on a night that does not retrain."),
            _c("decision_reason", "VARCHAR", "The decision in words."),
            _c("scoring_model", "VARCHAR", "The model that made tonight's forecast."),
            _c("scoring_role", "VARCHAR", "challenger, champion or fallback."),
            _MODEL_VERSION,
            _c(
                "fallback_reason",
                "VARCHAR",
                "Why a simpler model scored: too short, all zeros, a failed fit.",
            ),
            _c("skipped", "VARCHAR", "JSON: candidate -> why it was not backtested."),
            _RUN_ID,
        ),
        ("as_of_date", "series_id"),
        "as_of_date",
    ),
    Table(
        "predictions",
        "customer_segments",
        "One row per customer of marts.features_customer_asof on the as-of date, scored by the segmentation "
        "champion as of that date. A segment_id keeps its meaning and name across retrains.",
        (
            _AS_OF,
            _key("customer_id", "VARCHAR", "The customer."),
            _c("segment_id", "INTEGER", "The segment; ids are never reused."),
            _c("segment_name", "VARCHAR", "The segment's name."),
            _c("distance", "DOUBLE", "Distance to the segment's centre in the model's scaled feature space."),
            _c(
                "probability",
                "DOUBLE",
                "Probability of the segment under a Gaussian mixture; null for k-means.",
            ),
            _MODEL_VERSION,
            _RUN_ID,
        ),
        ("as_of_date", "customer_id"),
        "as_of_date",
    ),
    Table(
        "predictions",
        "segment_profiles",
        "Per segment and described feature: size, revenue share, and mean and median against all customers.",
        (
            _AS_OF,
            _MODEL_VERSION,
            _key("segment_id", "INTEGER", "The segment."),
            _c("segment_name", "VARCHAR", "The segment's name."),
            _c("customers", "BIGINT", "Customers in the segment."),
            _c("share_of_customers", "DOUBLE", "Their share of all customers."),
            _c("revenue", "DOUBLE", "The segment's net monetary value."),
            _c("share_of_revenue", "DOUBLE", "Its share of all customers' revenue."),
            _key("feature", "VARCHAR", "The described feature."),
            _c("mean", "DOUBLE", "The feature's mean in the segment."),
            _c("median", "DOUBLE", "The feature's median in the segment."),
            _c("population_mean", "DOUBLE", "The feature's mean over all customers."),
            _c("population_median", "DOUBLE", "The feature's median over all customers."),
            _c("mean_vs_population", "DOUBLE", "mean / population_mean (null when that is 0)."),
            _RUN_ID,
        ),
        ("as_of_date", "segment_id", "feature"),
        "as_of_date",
    ),
    Table(
        "predictions",
        "segment_transitions",
        "Customers per (segment on the latest scored date before the as-of date, segment on the as-of date); "
        "customers sums to the as-of date's customers.",
        (
            _AS_OF,
            _c(
                "previous_as_of_date",
                "DATE",
                "The latest scored date before the as-of date; null on the first.",
            ),
            _c("from_segment_id", "INTEGER", "The segment before; null for customers new since then."),
            _c("from_segment_name", "VARCHAR", "Its name; null for new customers."),
            _key("to_segment_id", "INTEGER", "The segment on the as-of date."),
            _c("to_segment_name", "VARCHAR", "Its name."),
            _c("customers", "BIGINT", "Customers who made this move."),
            _c("share_of_from", "DOUBLE", "Their share of the from-segment's customers still here."),
            _MODEL_VERSION,
            _RUN_ID,
        ),
        ("as_of_date", "from_segment_id", "to_segment_id"),
        "as_of_date",
    ),
    Table(
        "registry",
        "model_versions",
        "The model registry: one row per trained version of every model, with what made it and its status.",
        (
            _key("model_kind", "VARCHAR", "forecast or segmentation."),
            _key("model_id", "VARCHAR", "A series_id, or customers."),
            _key("version", "VARCHAR", "The logical date the version was trained for (ISO)."),
            _key("trained_for_date", "DATE", "The same date, as a DATE."),
            _c("data_start", "DATE", "First day of the training data."),
            _c("data_end", "DATE", "Last day of the training data."),
            _key("model_name", "VARCHAR", "The model (prophet, kmeans, ...)."),
            _c("params", "VARCHAR", "JSON: the concrete specification."),
            _c("code_version", "VARCHAR", "Package version and git commit."),
            _c("metrics", "VARCHAR", "JSON: backtest means, silhouette, stability, ..."),
            _key("status", "VARCHAR", "champion, challenger or retired."),
            _c("artifact_path", "VARCHAR", "Where the fitted model is saved."),
            _RUN_ID,
        ),
        ("model_kind", "model_id", "version"),
        None,
    ),
    Table(
        "registry",
        "model_events",
        "The registry's audit log, appended only: one row per register, promote, reject, rollback or retire.",
        (
            _key("model_kind", "VARCHAR", "forecast or segmentation."),
            _key("model_id", "VARCHAR", "A series_id, or customers."),
            _key(
                "event_seq",
                "BIGINT",
                "Orders one model's events (a rollback can share its date with a promotion); counted per model, "
                "so nights whose tasks finish in another order write the same numbers.",
            ),
            _key("version", "VARCHAR", "The version changed."),
            _key("action", "VARCHAR", "register, promote, reject, rollback or retire."),
            _c("from_status", "VARCHAR", "Status before."),
            _c("to_status", "VARCHAR", "Status after."),
            _c("reason", "VARCHAR", "Why, in words."),
            _c("logical_date", "DATE", "The night the change counts from (answers 'champion as of D')."),
            _c("actor", "VARCHAR", "pipeline, or the engineer."),
            _RUN_ID,
        ),
        ("model_kind", "model_id", "event_seq"),
        None,
    ),
    Table(
        "monitoring",
        "ingest_runs",
        "One row per landed export file (loaded), per repeated delivery of one (duplicate, 0 rows) and per file "
        "refused (refused, with the reason); rows_in = rows_loaded + rows_quarantined and revenue_in = "
        "revenue_loaded + revenue_quarantined.",
        (
            _BUSINESS_DATE,
            _SOURCE_FILE,
            _c("source_path", "VARCHAR", "Where the file was found."),
            _SHA,
            _c("file_bytes", "BIGINT", "The file's size."),
            _c("status", "VARCHAR", "loaded, duplicate (its bytes landed before) or refused."),
            _c("duplicate_of", "VARCHAR", "For a duplicate: <date>/<file> of the first delivery."),
            _c("rows_in", "BIGINT", "Rows in the file (well-formed and malformed)."),
            _c("rows_loaded", "BIGINT", "Rows that reached the lake."),
            _c("rows_quarantined", "BIGINT", "Rows in monitoring.quarantine."),
            _c(
                "revenue_in",
                "DOUBLE",
                "quantity * unit_price over the file's rows whose two numbers are finite.",
            ),
            _c("revenue_loaded", "DOUBLE", "The same over the loaded rows."),
            _c("revenue_quarantined", "DOUBLE", "The same over the quarantined rows."),
            _c("encoding", "VARCHAR", "The file's text encoding when it was not UTF-8."),
            _c("unexpected_columns", "VARCHAR", "JSON list of the export's columns the config does not map."),
            _c(
                "landed_by_run_date", "DATE", "The night whose ingest landed the file; later for a late file."
            ),
            _c(
                "ingested_at",
                "TIMESTAMP",
                "Wall-clock time (UTC) the file landed; for freshness checks only.",
            ),
            _c("reason", "VARCHAR", "For a refused file: why, in one line."),
            _RUN_ID,
        ),
        ("business_date", "source_file", "file_sha256"),
        "business_date",
    ),
    Table(
        "monitoring",
        "quarantine",
        "Every row ingest did not load, with the file, row, the first rule it broke, a detail and the raw values.",
        (
            _BUSINESS_DATE,
            _c("source_file", "VARCHAR", "The landed file's name."),
            _SHA,
            _key("source_row", "BIGINT", "1-based data row within the file."),
            _c("rule", "VARCHAR", "The first rule the row broke."),
            _c("detail", "VARCHAR", "What is wrong, in words."),
            _c("raw_values", "VARCHAR", "JSON text of the row as it arrived."),
            _c("revenue", "DOUBLE", "quantity * unit_price when both are finite numbers, else 0."),
            _RUN_ID,
        ),
        ("business_date", "file_sha256", "source_row"),
        "business_date",
    ),
    Table(
        "monitoring",
        "rebuild_requests",
        "Files that landed after later days had landed: their business_date and every later day must be "
        "rebuilt; the transform job rebuilds from the earliest pending one and sets done_by_run_date.",
        (
            _BUSINESS_DATE,
            _c("source_file", "VARCHAR", "The late file's name."),
            _SHA,
            _c("requested_by_run_date", "DATE", "The night that landed the late file."),
            _c(
                "done_by_run_date", "DATE", "The night whose transform rebuilt the marts; null while pending."
            ),
            _RUN_ID,
        ),
        ("business_date", "file_sha256"),
        "business_date",
    ),
    Table(
        "monitoring",
        "drift_summary",
        "One row per night: the drift of the current window's sales lines against the reference window's.",
        (
            _AS_OF,
            _c("reference_start", "DATE", "First day of the reference window."),
            _c("reference_end", "DATE", "Last day of the reference window."),
            _c("current_start", "DATE", "First day of the current window."),
            _c("current_end", "DATE", "Last day of the current window (the as-of date)."),
            _c("n_columns", "INTEGER", "Columns compared (0 when a window was empty)."),
            _c("n_drifted_columns", "INTEGER", "Columns that drifted."),
            _c("share_drifted", "DOUBLE", "n_drifted_columns / n_columns; null when nothing was compared."),
            _c("dataset_drift", "BOOLEAN", "Whether the share crossed Evidently's dataset drift threshold."),
            _c("report_path", "VARCHAR", "The Evidently HTML report; null when nothing was compared."),
            _RUN_ID,
        ),
        ("as_of_date",),
        "as_of_date",
    ),
    Table(
        "planning",
        "overrides",
        "Planners' forecast overrides and their audit: who changed which series' forecast for which dates, by "
        "how much and why, and who revoked it. A copy of the append-only log outside the warehouse "
        "(`DAYBREAK_HOME/overrides/<dataset>.jsonl`, written by the Review page and `daybreak override`), "
        "replaced whole by every forecast night; the night for business date D applies those active as of a date "
        "before D.",
        (
            _key("override_id", "VARCHAR", "The override's id (ov-<12 hex>), stable for its life."),
            _c("series_id", "VARCHAR", "The series whose forecast is overridden."),
            _c("start_date", "DATE", "First target date overridden."),
            _c("end_date", "DATE", "Last target date overridden (inclusive)."),
            _c(
                "kind",
                "VARCHAR",
                "value (the forecast per period is set to amount) or percent (yhat * (1 + amount/100)).",
            ),
            _c("amount", "DOUBLE", "The value per period, or the percentage change."),
            _c("reason", "VARCHAR", "Why, in the planner's words."),
            _c(
                "author",
                "VARCHAR",
                "Who: the signed-in user (OIDC) or, in the demo, the labelled local fallback.",
            ),
            _c("created_at", "TIMESTAMP", "Wall-clock time (UTC) the override was recorded; audit only."),
            _c(
                "as_of_date",
                "DATE",
                "The business date of the newest published forecasts when it was recorded: the nights after it "
                "apply it (null: recorded before any night, so every night does).",
            ),
            _c("status", "VARCHAR", "active or revoked."),
            _c("revoked_by", "VARCHAR", "Who revoked it; null while active."),
            _c("revoked_at", "TIMESTAMP", "When it was revoked (UTC); null while active."),
            _c(
                "revoked_as_of_date",
                "DATE",
                "The business date of the newest published forecasts when it was revoked: the nights after it no "
                "longer apply it.",
            ),
            _c("revoke_reason", "VARCHAR", "Why it was revoked."),
            _RUN_ID,
        ),
        ("override_id",),
        None,
    ),
    Table(
        "monitoring",
        "model_references",
        "The sample of data each promoted champion was trained on, stored once at its promotion and compared with "
        "every later night's data (include/daybreak/nights/references.py); one row per model version.",
        (
            _key("model_kind", "VARCHAR", "forecast or segmentation."),
            _key("model_id", "VARCHAR", "The series (forecast) or `customers` (segmentation)."),
            _key("version", "VARCHAR", "The champion's registry version."),
            _c("reference_start", "DATE", "First day of the data the sample was drawn from."),
            _c("reference_end", "DATE", "Last day of the data the sample was drawn from."),
            _c(
                "sampling_rule",
                "VARCHAR",
                "How the rows were chosen, seed included, so the sample can be redrawn.",
            ),
            _c("source_rows", "BIGINT", "Rows the sample was drawn from."),
            _c("sample_rows", "BIGINT", "Rows in the sample."),
            _c(
                "path",
                "VARCHAR",
                "The Parquet file under DAYBREAK_HOME holding the sample (column model_id).",
            ),
            _c("promoted_on", "DATE", "The night the version was promoted and its reference stored."),
            _RUN_ID,
        ),
        ("model_kind", "model_id", "version"),
        None,
    ),
    Table(
        "monitoring",
        "drift_metrics",
        "One row per night, model and feature: the feature's drift from the serving champion's reference, by the "
        "named test; inputs (customer and series features) and predictions (segment mix, forecast level, width).",
        (
            _AS_OF,
            _key("model_kind", "VARCHAR", "forecast or segmentation."),
            _c("model_version", "VARCHAR", "The champion version whose reference was compared."),
            _c("reference_start", "DATE", "First day of the reference window."),
            _c("reference_end", "DATE", "Last day of the reference window."),
            _key("scope", "VARCHAR", "inputs or predictions."),
            _key("feature", "VARCHAR", "The feature (for series: `<series_id>:<column>`)."),
            _c("test", "VARCHAR", "Evidently's test: wasserstein (numbers) or jensenshannon (categories)."),
            _c("statistic", "DOUBLE", "The test's distance."),
            _c(
                "threshold",
                "DOUBLE",
                "The distance from which the feature counts as drifted (dataset config).",
            ),
            _c("drifted", "BOOLEAN", "statistic >= threshold."),
            _c("reference_rows", "BIGINT", "Reference rows compared."),
            _c("current_rows", "BIGINT", "Current rows compared."),
            _RUN_ID,
        ),
        ("as_of_date", "model_kind", "scope", "feature"),
        "as_of_date",
    ),
    Table(
        "monitoring",
        "data_quality",
        "One row per night and check of the day's sales lines: missing values per column, values outside the "
        "reference window's range, and categories (locations, products) never seen before the day.",
        (
            _AS_OF,
            _key("check_name", "VARCHAR", "missing_share, out_of_range_share or new_categories."),
            _key("column_name", "VARCHAR", "The sales-line column checked."),
            _c("value", "DOUBLE", "The share (missing, out of range) or the count of new categories."),
            _c("threshold", "DOUBLE", "The value above which the check fails."),
            _c("passed", "BOOLEAN", "value <= threshold."),
            _c("detail", "VARCHAR", "The range compared, or the new categories (first 20)."),
            _c(
                "reference_start", "DATE", "First day of the window the range and known categories come from."
            ),
            _c("reference_end", "DATE", "Last day of that window."),
            _RUN_ID,
        ),
        ("as_of_date", "check_name", "column_name"),
        "as_of_date",
    ),
    Table(
        "monitoring",
        "reports",
        "The nightly Evidently HTML reports under DAYBREAK_HOME, one row per night and report, for dashboards "
        "to link; each names the model version and reference window it compared with.",
        (
            _AS_OF,
            _key(
                "report",
                "VARCHAR",
                "segmentation_inputs, forecast_inputs, segmentation_predictions, forecast_predictions or "
                "data_quality.",
            ),
            _c("model_kind", "VARCHAR", "forecast or segmentation; null for data quality."),
            _c("model_version", "VARCHAR", "The champion version(s) compared with (comma-separated)."),
            _c("reference_start", "DATE", "First day of the reference window."),
            _c("reference_end", "DATE", "Last day of the reference window."),
            _c("path", "VARCHAR", "The HTML file."),
            _RUN_ID,
        ),
        ("as_of_date", "report"),
        "as_of_date",
    ),
    Table(
        "monitoring",
        "retrain_decisions",
        "One row per night and model kind: whether the retraining policy (dataset config `retraining:`) retrains "
        "it tonight and why; the forecast and segment jobs read it, the registry records the reason.",
        (
            _AS_OF,
            _key("model_kind", "VARCHAR", "forecast or segmentation."),
            _c("retrain", "BOOLEAN", "Whether tonight retrains this kind."),
            _c("trigger", "VARCHAR", "drift, degradation, schedule, or none."),
            _c("reason", "VARCHAR", "The policy's reason in words (what drifted or degraded, how much)."),
            _c("share_drifted", "DOUBLE", "Share of the kind's input features that drifted."),
            _c("error_ratio", "DOUBLE", "Rolling error of landed actuals / the champions' backtest error."),
            _c("alerted", "BOOLEAN", "Whether an alert was sent."),
            _RUN_ID,
        ),
        ("as_of_date", "model_kind"),
        "as_of_date",
    ),
    Table(
        "monitoring",
        "privacy_audit",
        "What the nightly privacy step did (include/daybreak/privacy/): per erasure request, the link removed, the "
        "lines unlinked, the customer-level rows deleted and the files rewritten or scrubbed; per landed file past "
        "`landing.retention_days`, its removal. Never holds a customer id or pseudonym. Appended, never replaced.",
        (
            _AS_OF,
            _key("request_id", "VARCHAR", "The erasure request (daybreak privacy erase), or `retention`."),
            _key(
                "action",
                "VARCHAR",
                "remove_link, unlink_lines, delete_rows, rewrite_landed_file, scrub_file or remove_landed_file.",
            ),
            _key("target", "VARCHAR", "The table, or the file's path under DAYBREAK_HOME."),
            _c("rows_affected", "BIGINT", "Rows (or fields, in a landed file) changed, deleted or removed."),
            _c("reason", "VARCHAR", "The request's reason, or the retention rule applied."),
            _RUN_ID,
        ),
        ("as_of_date", "request_id", "action", "target"),
        None,
    ),
    Table(
        "reference",
        "calendar_days",
        "The dataset's business calendar (include/daybreak/datasets/calendar.py), one row per day from the lake's first "
        "business day to 400 days past the run date, replaced by every transform run before dbt: the shop's "
        "closed days (config calendar:) and the public holidays of series.holidays_country.",
        (
            _key("date_day", "DATE", "The day."),
            _c(
                "is_closed",
                "BOOLEAN",
                "The shop is closed: its sales are zero and every forecast of it is zero.",
                False,
            ),
            _c("is_holiday", "BOOLEAN", "A public holiday of series.holidays_country.", False),
            _c("holiday_name", "VARCHAR", "The holiday's name (several joined by '; '); null on other days."),
            _RUN_ID,
        ),
        ("date_day",),
        None,
    ),
)

TABLES: dict[str, Table] = {t.qualified: t for t in _DECLARED}


def table(qualified: str) -> Table:
    """The declaration of `schema.name`.

    Raises:
        KeyError: not a table Daybreak writes outside dbt (the message lists those that are).
    """
    try:
        return TABLES[qualified]
    except KeyError:
        raise KeyError(f"{qualified!r} is not a declared table; declared: {sorted(TABLES)}") from None


def ensure(connection: duckdb.DuckDBPyConnection, *tables: Table) -> None:
    """Create the tables' schemas and tables, add the declared columns an older warehouse's tables lack, and
    rebuild a table whose primary key changed (DuckDB cannot alter a key in place)."""
    if not tables:
        return
    present: dict[str, set[str]] = {}
    for schema, name, column in connection.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database()"
    ).fetchall():
        present.setdefault(f"{schema}.{name}", set()).add(column)
    keys = {
        f"{schema}.{name}": tuple(columns)
        for schema, name, columns in connection.execute(
            "select schema_name, table_name, constraint_column_names from duckdb_constraints() "
            "where database_name = current_database() and constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    }
    for declared in tables:
        existing = present.get(declared.qualified)
        if existing is None:
            connection.execute(f"create schema if not exists {declared.schema}")
            connection.execute(declared.ddl())
            continue
        for column in declared.columns:
            if column.name not in existing:
                connection.execute(
                    f'alter table {declared.qualified} add column "{column.name}" {column.type}'  # noqa: S608
                )
        if keys.get(declared.qualified, ()) != declared.primary_key:
            _rebuild(connection, declared)


def _rebuild(connection: duckdb.DuckDBPyConnection, declared: Table) -> None:
    """Copy a table into its declared shape in one transaction: all its rows, or (on any error) nothing changed."""
    from daybreak.warehouse.connection import transaction

    staged = f"{declared.schema}._rebuild_{declared.name}"
    columns = ", ".join(f'"{name}"' for name in declared.column_names)
    with transaction(connection):
        connection.execute(f"drop table if exists {staged}")
        connection.execute(declared.ddl(staged))
        connection.execute(
            f"insert into {staged} ({columns}) select {columns} from {declared.qualified}"  # noqa: S608
        )
        connection.execute(f"drop table {declared.qualified}")
        connection.execute(f'alter table {staged} rename to "{declared.name}"')


def exists(connection: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether the warehouse has the table or view `schema.name` (the one place that asks the catalogue)."""
    schema, name = qualified.split(".")
    (count,) = connection.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return count > 0
