"""Every relation the dashboards read, named once; queries refer to them as `{NAME}` (`serving.read`).

The pages read dbt's views and marts (`dbt_project/models/marts/`: the schema is the folder's in
`dbt_project.yml`, the name the model's file) wherever one exposes what they show: the forecasts through
`predictions.forecast_versions`, never the table the forecast job writes. What no dbt model exposes is read from
the table a Python job writes, named by its declaration (`daybreak.warehouse.tables`): the components, segments,
customer-value, registry and monitoring tables, and the backtest scores (their staging model leaves out
`coverage_80`).
"""

from __future__ import annotations

from enum import StrEnum

from daybreak.warehouse import tables


def _declared(qualified: str) -> str:
    """A Python job's table, checked against its declaration (a `KeyError` at import for a name nobody writes)."""
    return tables.table(qualified).qualified


class Relation(StrEnum):
    """A relation the dashboards read; its value is the qualified name in the serving copy."""

    # dbt's models
    DAILY_SALES = "marts.fct_daily_sales"
    CALENDAR = "marts.dim_calendar"
    HOURLY_SALES = "marts.features_series_hourly"
    FORECASTS = "predictions.forecast_versions"
    FORECAST_ACCURACY = "predictions.forecast_accuracy"
    FORECAST_VALUE_ADDED = "predictions.forecast_value_added"
    # the Python jobs' tables
    FORECAST_COMPONENTS = _declared("predictions.forecast_components")
    BACKTEST_METRICS = _declared("predictions.backtest_metrics")
    CUSTOMER_SEGMENTS = _declared("predictions.customer_segments")
    SEGMENT_PROFILES = _declared("predictions.segment_profiles")
    CUSTOMER_VALUE = _declared("predictions.customer_value")
    CUSTOMER_VALUE_CALIBRATION = _declared("predictions.customer_value_calibration")
    MODEL_VERSIONS = _declared("registry.model_versions")
    MODEL_EVENTS = _declared("registry.model_events")
    INGEST_RUNS = _declared("monitoring.ingest_runs")
    QUARANTINE = _declared("monitoring.quarantine")
    DRIFT_SUMMARY = _declared("monitoring.drift_summary")
    DRIFT_METRICS = _declared("monitoring.drift_metrics")

    @property
    def is_dbt_model(self) -> bool:
        """Whether dbt builds it (else a Python job writes it)."""
        return self.value not in tables.TABLES


NAMES = {relation.name: relation.value for relation in Relation}
"""`{NAME}` -> qualified name: what `serving.read` puts into a query's text, and nothing else."""
