"""The tables of schema `predictions`: what the model nights write each night (forecasts, their reconciliation,
components, backtests and selection; customer segments, their profiles and transitions; customer value and its calibration), one partition per as-of
date."""

from __future__ import annotations

from daybreak.core.vocabulary import DEFAULT_FREQUENCY
from daybreak.warehouse.declaration import AS_OF, RUN_ID, Table, column, key

_SERIES = key("series_id", "VARCHAR", "The series (`location|product_id`, or as the dataset defines it).")
_MODEL = column(
    "model",
    "VARCHAR",
    "The model that made the row: seasonal_naive, prophet, auto_ets, ..., global_lgbm or ensemble.",
)
_MODEL_VERSION = column(
    "model_version", "VARCHAR", "The registry version (registry.model_versions.version) whose model scored."
)
_TARGET_TIME = column(
    "target_time",
    "TIMESTAMP",
    "The hour forecast, for an hourly series (target_date is its day); null for daily, weekly and monthly ones.",
)


FORECASTS = Table(
    "predictions",
    "forecasts",
    "Every night's forecasts, one row per series and future period; history kept. Bounds nest: the 95% "
    "interval holds the 80% one, which holds yhat.",
    (
        AS_OF,
        _SERIES,
        column("target", "VARCHAR", "The forecast measure: revenue or units."),
        key(
            "target_date",
            "DATE",
            "The period forecast, at the grain of `frequency`: the day (an hourly series: the hour's day, "
            "target_time the hour); the week's last day (the dataset's series.week_ends_on weekday); the "
            "month's first day.",
        ),
        column("horizon_step", "INTEGER", "Periods ahead of the last complete period: 1 is the next."),
        column(
            "yhat",
            "DOUBLE",
            "The point forecast people read: the final one, a planner's override where one applies "
            "(override_id), else the model's (then equal to yhat_statistical).",
        ),
        column("yhat_lower_80", "DOUBLE", "Lower bound of the 80% interval (of the final forecast)."),
        column("yhat_upper_80", "DOUBLE", "Upper bound of the 80% interval (of the final forecast)."),
        column("yhat_lower_95", "DOUBLE", "Lower bound of the 95% interval (of the final forecast)."),
        column("yhat_upper_95", "DOUBLE", "Upper bound of the 95% interval (of the final forecast)."),
        _MODEL,
        _MODEL_VERSION,
        RUN_ID,
        column(
            "yhat_statistical",
            "DOUBLE",
            "The model's point forecast, reconciled over the series hierarchy (predictions."
            "forecast_reconciliation), before any planner's override; rows written before overrides existed "
            "hold yhat.",
            backfill="yhat",
        ),
        column(
            "override_id",
            "VARCHAR",
            "The planner's override applied to this row (planning.overrides); null when the model's stands.",
        ),
        column(
            "yhat_base",
            "DOUBLE",
            "The series' own model forecast before hierarchical reconciliation (yhat_statistical is after it); "
            "rows written before reconciliation existed hold yhat_statistical (they were published as their own "
            "model forecast them).",
            backfill="coalesce(yhat_statistical, yhat)",
        ),
        column(
            "frequency",
            "VARCHAR",
            "The grain of target_date and horizon_step: hourly, daily, weekly or monthly (the dataset's "
            "series.frequency); rows written before it was recorded are daily (only daily datasets were "
            "forecast then).",
            backfill=f"'{DEFAULT_FREQUENCY}'",
        ),
        _TARGET_TIME,
    ),
    ("as_of_date", "series_id", "target_date", "target_time"),
    "as_of_date",
)

FORECAST_RECONCILIATION = Table(
    "predictions",
    "forecast_reconciliation",
    "How each night made its forecasts coherent (every parent series the sum of its children): on a "
    "retraining night every reconciliation method's backtest score, the best chosen; on other nights the "
    "choice in force, reused. No rows when the series form no hierarchy.",
    (
        AS_OF,
        key(
            "method",
            "VARCHAR",
            "bottom_up, top_down_forecast_proportions, top_down_average_proportions, min_trace_ols, "
            "min_trace_wls_struct, or base (the unreconciled forecasts, scored for comparison, never chosen).",
        ),
        column("metric", "VARCHAR", "The dataset's selection metric: mase, smape or rmse."),
        column(
            "score",
            "DOUBLE",
            "The metric on the backtest folds, averaged over folds and then over the hierarchy's series; "
            "lower is better. On a reused choice, the score it was chosen with.",
        ),
        column("folds", "INTEGER", "Backtest folds reconciled (covering every series of the hierarchy)."),
        column("series", "INTEGER", "Series scored."),
        column("chosen", "BOOLEAN", "Whether the night published this method's forecasts."),
        column(
            "chosen_on",
            "DATE",
            "The night whose backtest chose the method in force (reused, with its score, until the next).",
        ),
        column(
            "reason",
            "VARCHAR",
            "Why this method: the backtest of chosen_on chose it, the default before any backtest, or a "
            "fallback to bottom_up when the method failed.",
        ),
        RUN_ID,
    ),
    ("as_of_date", "method"),
    "as_of_date",
)

FORECAST_COMPONENTS = Table(
    "predictions",
    "forecast_components",
    "The decomposition of each forecast by Prophet (trend, seasonalities, holidays, regressors) and MSTL "
    "(trend and seasonal parts); other models have no rows.",
    (
        AS_OF,
        _SERIES,
        key("target_date", "DATE", "The period forecast (an hourly series: the hour's day)."),
        key("component", "VARCHAR", "trend, daily, weekly, yearly, holidays, regressors, or MSTL's parts."),
        column("value", "DOUBLE", "The component's contribution."),
        column(
            "mode",
            "VARCHAR",
            "additive (target units), multiplicative (a fraction of the trend), log1p_* (on the log1p scale).",
        ),
        _MODEL,
        _MODEL_VERSION,
        RUN_ID,
        _TARGET_TIME,
    ),
    ("as_of_date", "series_id", "target_date", "target_time", "component"),
    "as_of_date",
)

BACKTEST_METRICS = Table(
    "predictions",
    "backtest_metrics",
    "Rolling-origin backtest scores of every candidate, per fold, on retraining nights.",
    (
        AS_OF,
        _SERIES,
        key("candidate", "VARCHAR", "The candidate's label, e.g. prophet(seasonality_mode=additive,...)."),
        _MODEL,
        key(
            "role",
            "VARCHAR",
            "baseline (seasonal naive), candidate, ensemble, or champion (its own model).",
        ),
        key("fold", "INTEGER", "The fold, 0 the earliest."),
        column("cutoff", "DATE", "The last training period of the fold."),
        column("n_train", "INTEGER", "Training periods of the fold."),
        column("n_test", "INTEGER", "Test periods of the fold."),
        column("mase", "DOUBLE", "Mean absolute scaled error (scaled by the in-sample seasonal naive)."),
        column("smape", "DOUBLE", "Symmetric mean absolute percentage error, percent (0..200)."),
        column("rmse", "DOUBLE", "Root mean squared error."),
        column("bias", "DOUBLE", "Mean of forecast minus actual."),
        column("coverage_80", "DOUBLE", "Share of actuals inside the 80% interval."),
        column("coverage_95", "DOUBLE", "Share of actuals inside the 95% interval."),
        column("selected", "BOOLEAN", "Whether this candidate became the night's challenger."),
        RUN_ID,
    ),
    ("as_of_date", "series_id", "candidate", "role", "fold"),
    "as_of_date",
)

FORECAST_SELECTION = Table(
    "predictions",
    "forecast_selection",
    "One row per night and series: what was trained, what was decided and which model scored.",
    (
        AS_OF,
        _SERIES,
        column("retrained", "BOOLEAN", "Whether candidates were backtested tonight."),
        column("n_history", "INTEGER", "Periods of history the series had."),
        column("metric", "VARCHAR", "The selection metric: mase, smape or rmse."),
        column("challenger", "VARCHAR", "The best candidate's label."),
        column("challenger_model", "VARCHAR", "The best candidate's model."),
        column("challenger_score", "DOUBLE", "Its mean backtest score."),
        column("baseline_score", "DOUBLE", "The seasonal naive's mean backtest score."),
        column("champion_version", "VARCHAR", "The champion going into the night."),
        column("champion_score", "DOUBLE", "The champion's score on the same folds."),
        column("decision", "VARCHAR", "promote, reject, or null on a night that does not retrain."),
        column("decision_reason", "VARCHAR", "The decision in words."),
        column("scoring_model", "VARCHAR", "The model that made tonight's forecast."),
        column("scoring_role", "VARCHAR", "challenger, champion or fallback."),
        _MODEL_VERSION,
        column(
            "fallback_reason",
            "VARCHAR",
            "Why a simpler model scored: too short, all zeros, a failed fit.",
        ),
        column("skipped", "VARCHAR", "JSON: candidate -> why it was not backtested."),
        RUN_ID,
    ),
    ("as_of_date", "series_id"),
    "as_of_date",
)

CUSTOMER_SEGMENTS = Table(
    "predictions",
    "customer_segments",
    "One row per customer of marts.features_customer_asof on the as-of date, scored by the segmentation "
    "champion as of that date. A segment_id keeps its meaning and name across retrains.",
    (
        AS_OF,
        key("customer_id", "VARCHAR", "The customer."),
        column("segment_id", "INTEGER", "The segment; ids are never reused."),
        column("segment_name", "VARCHAR", "The segment's name."),
        column("distance", "DOUBLE", "Distance to the segment's centre in the model's scaled feature space."),
        column(
            "probability",
            "DOUBLE",
            "Probability of the segment under a Gaussian mixture; null for k-means.",
        ),
        _MODEL_VERSION,
        RUN_ID,
    ),
    ("as_of_date", "customer_id"),
    "as_of_date",
)

SEGMENT_PROFILES = Table(
    "predictions",
    "segment_profiles",
    "Per segment and described feature: size, revenue share, and mean and median against all customers.",
    (
        AS_OF,
        _MODEL_VERSION,
        key("segment_id", "INTEGER", "The segment."),
        column("segment_name", "VARCHAR", "The segment's name."),
        column("customers", "BIGINT", "Customers in the segment."),
        column("share_of_customers", "DOUBLE", "Their share of all customers."),
        column("revenue", "DOUBLE", "The segment's net monetary value."),
        column("share_of_revenue", "DOUBLE", "Its share of all customers' revenue."),
        key("feature", "VARCHAR", "The described feature."),
        column("mean", "DOUBLE", "The feature's mean in the segment."),
        column("median", "DOUBLE", "The feature's median in the segment."),
        column("population_mean", "DOUBLE", "The feature's mean over all customers."),
        column("population_median", "DOUBLE", "The feature's median over all customers."),
        column("mean_vs_population", "DOUBLE", "mean / population_mean (null when that is 0)."),
        RUN_ID,
    ),
    ("as_of_date", "segment_id", "feature"),
    "as_of_date",
)

SEGMENT_TRANSITIONS = Table(
    "predictions",
    "segment_transitions",
    "Customers per (segment on the latest scored date before the as-of date, segment on the as-of date); "
    "customers sums to the as-of date's customers.",
    (
        AS_OF,
        column(
            "previous_as_of_date",
            "DATE",
            "The latest scored date before the as-of date; null on the first.",
        ),
        column("from_segment_id", "INTEGER", "The segment before; null for customers new since then."),
        column("from_segment_name", "VARCHAR", "Its name; null for new customers."),
        key("to_segment_id", "INTEGER", "The segment on the as-of date."),
        column("to_segment_name", "VARCHAR", "Its name."),
        column("customers", "BIGINT", "Customers who made this move."),
        column("share_of_from", "DOUBLE", "Their share of the from-segment's customers still here."),
        _MODEL_VERSION,
        RUN_ID,
    ),
    ("as_of_date", "from_segment_id", "to_segment_id"),
    "as_of_date",
)

_HORIZON = column(
    "horizon_days",
    "INTEGER",
    "The days ahead the expectations cover (the dataset's customer_value.horizon_days).",
)

CUSTOMER_VALUE = Table(
    "predictions",
    "customer_value",
    "One row per customer of marts.features_customer_asof on the as-of date, scored by the customer-value "
    "champion (BG/NBD purchases, Gamma-Gamma spend) as of that date: whether the customer is still active and what "
    "they will buy over the next horizon_days. Every night is its own version; history kept.",
    (
        AS_OF,
        key("customer_id", "VARCHAR", "The customer (pseudonym); erased customers leave this table too."),
        _HORIZON,
        column(
            "probability_active",
            "DOUBLE",
            "Probability the customer is still a customer (alive) on the as-of date.",
        ),
        column("expected_purchases", "DOUBLE", "Expected purchases (days with an order) over the horizon."),
        column("purchases_lower_80", "DOUBLE", "Lower bound of the 80% interval of the purchases."),
        column("purchases_upper_80", "DOUBLE", "Upper bound of the 80% interval of the purchases."),
        column(
            "expected_revenue", "DOUBLE", "Expected revenue over the horizon: purchases times expected spend."
        ),
        column("revenue_lower_80", "DOUBLE", "Lower bound of the 80% interval of the revenue."),
        column("revenue_upper_80", "DOUBLE", "Upper bound of the 80% interval of the revenue."),
        column(
            "model",
            "VARCHAR",
            "The model that scored: bg_nbd+gamma_gamma, or bg_nbd+observed_spend where Gamma-Gamma has no finite mean "
            "and each customer's own mean spend stands in.",
        ),
        _MODEL_VERSION,
        RUN_ID,
    ),
    ("as_of_date", "customer_id"),
    "as_of_date",
)

CUSTOMER_VALUE_CALIBRATION = Table(
    "predictions",
    "customer_value_calibration",
    "The calibration check of each customer-value model trained: fitted on the calibration part of the history, "
    "the mean predicted against the mean actual purchases in the holdout, by the customers' purchases in the "
    "calibration part. Written on the nights that train.",
    (
        AS_OF,
        key("model_version", "VARCHAR", "The registry version trained (champion or challenger)."),
        key(
            "calibration_purchases",
            "INTEGER",
            "Repeat purchases in the calibration part (the last bucket: that many or more).",
        ),
        column("customers", "BIGINT", "Customers in the bucket."),
        column("predicted_purchases", "DOUBLE", "Their mean predicted purchases over the holdout."),
        column("actual_purchases", "DOUBLE", "Their mean actual purchases over the holdout."),
        RUN_ID,
    ),
    ("as_of_date", "model_version", "calibration_purchases"),
    "as_of_date",
)

TABLES = (
    FORECASTS,
    FORECAST_RECONCILIATION,
    FORECAST_COMPONENTS,
    BACKTEST_METRICS,
    FORECAST_SELECTION,
    CUSTOMER_SEGMENTS,
    SEGMENT_PROFILES,
    SEGMENT_TRANSITIONS,
    CUSTOMER_VALUE,
    CUSTOMER_VALUE_CALIBRATION,
)
"""In declaration order."""
