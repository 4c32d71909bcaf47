"""The Model health page's queries: the registry's versions and audit log, the backtest scores, the drift of the
sales lines, the planners' forecast value added (dbt's view `predictions.forecast_value_added`) and the
customer-value model's calibration check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import serving
from .relations import Relation

CUSTOMER_VALUE_KIND = "customer_value"
"""The registry's `model_kind` of the customer-value model."""

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd


def model_versions(model_kind: str = "forecast") -> pd.DataFrame:
    """The registry's versions of one kind, champions first: `model_id, version, model_name, status, metrics,
    trained_for_date`."""
    frame = serving.read(
        """
        select model_id, version, model_name, status, metrics, trained_for_date
        from {MODEL_VERSIONS}
        where model_kind = ? and status in ('champion', 'challenger')
        order by model_id <> 'total', model_id, status, version desc
        """,
        (model_kind,),
    )
    return serving.as_dates(frame, "trained_for_date")


def backtest_scores(as_of_date: dt.date | None = None) -> pd.DataFrame:
    """Mean backtest scores per series and candidate on the latest retraining night (or `as_of_date`):
    `as_of_date, series_id, candidate, model, role, mase, smape, coverage_80, selected`; empty before the first
    retraining night published them."""
    if serving.missing_tables(Relation.BACKTEST_METRICS):
        return serving.empty(
            {
                "as_of_date": "object",
                "series_id": "object",
                "candidate": "object",
                "model": "object",
                "role": "object",
                "mase": "float64",
                "smape": "float64",
                "coverage_80": "float64",
                "selected": "bool",
            }
        )
    frame = serving.read(
        """
        with night as (
            select coalesce(?::date, max(as_of_date)) as as_of_date from {BACKTEST_METRICS}
        )
        select as_of_date, series_id, candidate, any_value(model) as model, role,
            avg(mase) as mase, avg(smape) as smape, avg(coverage_80) as coverage_80, bool_or(selected) as selected
        from {BACKTEST_METRICS} join night using (as_of_date)
        group by as_of_date, series_id, candidate, role
        order by series_id <> 'total', series_id, mase
        """,
        (as_of_date,),
    )
    return serving.as_dates(frame, "as_of_date")


def model_events(limit: int = 200) -> pd.DataFrame:
    """The registry's audit log, newest night first, each model's events in their order: `event_seq, logical_date,
    model_kind, model_id, version, action, from_status, to_status, reason, actor`."""
    frame = serving.read(
        """
        select event_seq, logical_date, model_kind, model_id, version, action, from_status, to_status, reason,
            actor
        from {MODEL_EVENTS}
        order by logical_date desc, model_kind, model_id, event_seq desc
        limit ?
        """,
        (limit,),
    )
    return serving.as_dates(frame, "logical_date")


def drift_summary() -> pd.DataFrame:
    """The nightly drift of the sales lines: `as_of_date, share_drifted, n_drifted_columns, n_columns,
    drifted_columns` (comma-separated names), `dataset_drift, report_path`, oldest first."""
    frame = serving.read(
        """
        select as_of_date, share_drifted, n_drifted_columns, n_columns, drifted_columns, dataset_drift,
            report_path
        from {DRIFT_SUMMARY}
        order by as_of_date
        """
    )
    return serving.as_dates(frame, "as_of_date")


def drift_metrics(top: int = 8) -> pd.DataFrame:
    """The `top` features that came nearest their drift threshold on any night, each over every night:
    `as_of_date, feature` (`<model kind> <scope>: <feature>`), `statistic`, `threshold`, `drifted` and
    `relative` (statistic / threshold: 1 or more is drift). Tests differ in scale (a Wasserstein distance, a
    Jensen-Shannon one), so the chart compares each against its own threshold; a night with 500 series has
    thousands of features, so only the ones that matter are read."""
    if serving.missing_tables(Relation.DRIFT_METRICS):
        return serving.empty(
            {
                "as_of_date": "object",
                "feature": "object",
                "statistic": "float64",
                "threshold": "float64",
                "drifted": "bool",
                "relative": "float64",
            }
        )
    frame = serving.read(
        """
        with named as (
            select as_of_date, model_kind || ' ' || scope || ': ' || feature as feature,
                statistic, threshold, drifted, statistic / nullif(threshold, 0) as relative
            from {DRIFT_METRICS}
        ),
        nearest as (
            select feature from named group by feature
            order by max(relative) desc nulls last, feature limit ?
        )
        select named.* from named join nearest using (feature) order by as_of_date, feature
        """,
        (top,),
    )
    return serving.as_dates(frame, "as_of_date")


def forecast_value_added() -> pd.DataFrame:
    """Scored overrides from dbt's view `predictions.forecast_value_added`; empty before any is scored."""
    if serving.missing_tables(Relation.FORECAST_VALUE_ADDED):
        return serving.empty(
            {
                "override_id": "object",
                "author": "object",
                "reason": "object",
                "scored_periods": "int64",
                "final_abs_error": "float64",
                "statistical_abs_error": "float64",
                "value_added": "float64",
            }
        )
    return serving.read(
        """
        select override_id, series_id, author, reason, kind, amount, status, scored_periods, final_abs_error,
            statistical_abs_error, value_added, final_wape, statistical_wape
        from {FORECAST_VALUE_ADDED}
        order by author, reason
        """
    )


def customer_value_calibration() -> pd.DataFrame:
    """The calibration check of the customer-value version trained last (the latest night that trained; of two
    versions trained that night, the later): `as_of_date, model_version, status` (its status in the registry now:
    champion, challenger, retired; None when the registry has no row for it), `calibration_purchases, customers,
    predicted_purchases, actual_purchases`, by calibration purchases; empty before any version was trained."""
    columns = {
        "as_of_date": "object",
        "model_version": "object",
        "status": "object",
        "calibration_purchases": "int64",
        "customers": "int64",
        "predicted_purchases": "float64",
        "actual_purchases": "float64",
    }
    if serving.missing_tables(Relation.CUSTOMER_VALUE_CALIBRATION):
        return serving.empty(columns)
    frame = serving.read(
        """
        with trained as (
            select as_of_date, model_version from {CUSTOMER_VALUE_CALIBRATION}
            order by as_of_date desc, model_version desc
            limit 1
        )
        select c.as_of_date, c.model_version, v.status, c.calibration_purchases, c.customers, c.predicted_purchases,
            c.actual_purchases
        from {CUSTOMER_VALUE_CALIBRATION} c
        join trained using (as_of_date, model_version)
        left join {MODEL_VERSIONS} v on v.model_kind = ? and v.version = c.model_version
        order by c.calibration_purchases
        """,
        (CUSTOMER_VALUE_KIND,),
    )
    return serving.as_dates(frame, "as_of_date")[list(columns)]
