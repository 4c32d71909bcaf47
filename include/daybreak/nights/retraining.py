"""The retraining policy: whether tonight retrains a model kind, and why (dataset config `retraining:`).

Monitoring runs before the models each night. For each model kind it applies `policy` to what it measured (the
share of the kind's input features that drifted from the champions' references; for forecasts also the rolling
error of landed actuals against the champions' own backtest error) and the kind's schedule, and writes one
`monitoring.retrain_decisions` row. The forecast and segment jobs read it with `triggered`, retrain when it says
so, and hand its reason to the registry; the promotion gate still decides whether the retrained version serves.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from daybreak.warehouse import tables
from daybreak.warehouse.schemas.monitoring import RETRAIN_DECISIONS as TABLE

if TYPE_CHECKING:
    import duckdb

    from daybreak.datasets.monitoring import Retraining


def policy(
    model_kind: str,
    config: Retraining,
    *,
    share_drifted: float | None,
    drifted: list[str],
    error_ratio: float | None,
    scheduled: bool,
) -> dict[str, Any]:
    """Decide one kind's retrain (pure).

    Args:
        share_drifted: drifted input features / features compared; None when nothing was compared.
        drifted: the drifted features' names, for the reason.
        error_ratio: rolling error of landed actuals / the champions' backtest error; None when too few landed.
        scheduled: whether tonight is the kind's scheduled retrain night.

    Returns:
        `retrain`, `trigger` (drift, degradation, schedule or none) and `reason` in words.
    """
    reasons, trigger = [], "none"
    if share_drifted is not None and share_drifted > config.drift_share:
        trigger = "drift"
        reasons.append(
            f"{model_kind} input drift: {len(drifted)} feature(s) drifted ({share_drifted:.0%} > "
            f"{config.drift_share:.0%}): {', '.join(drifted[:8])}{' ...' if len(drifted) > 8 else ''}"
        )
    if error_ratio is not None and error_ratio > 1 + config.error_margin:
        trigger = "degradation" if trigger == "none" else trigger
        reasons.append(
            f"{model_kind} degradation: rolling error {error_ratio:.2f} x the backtest error "
            f"(> {1 + config.error_margin:.2f})"
        )
    if scheduled and trigger == "none":
        return {"retrain": True, "trigger": "schedule", "reason": "scheduled retrain"}
    if trigger == "none":
        return {
            "retrain": False,
            "trigger": "none",
            "reason": "no drift or degradation past the policy's limits",
        }
    return {"retrain": True, "trigger": trigger, "reason": "; ".join(reasons)}


def triggered(
    connection: duckdb.DuckDBPyConnection,
    model_kind: str,
    business_date: dt.date,
    since: dt.date | None = None,
) -> str | None:
    """The reason monitoring decided to retrain `model_kind` tonight for drift or degradation, or None.

    Args:
        since: also the decisions of the nights from this date on (the latest stands): a weekly forecast acts on
            the decisions of the nights since its previous week closed.
    """
    if not tables.exists(connection, TABLE.qualified):
        return None
    row = connection.execute(
        f"select reason from {TABLE.qualified} where as_of_date between ? and ? and model_kind = ? "  # noqa: S608
        "and retrain and trigger in ('drift', 'degradation') order by as_of_date desc limit 1",
        [since or business_date, business_date, model_kind],
    ).fetchone()
    return row[0] if row else None


def decisions(connection: duckdb.DuckDBPyConnection, business_date: dt.date) -> list[dict]:
    """Tonight's decisions, one per model kind (what the DAG branches on)."""
    if not tables.exists(connection, TABLE.qualified):
        return []
    frame = connection.execute(
        f"select model_kind, retrain, trigger, reason from {TABLE.qualified} "  # noqa: S608
        "where as_of_date = ? order by model_kind",
        [business_date],
    ).df()
    return frame.to_dict(orient="records")
