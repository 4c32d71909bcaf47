"""A night's promote-or-reject decision on the version it just trained, recorded once and in history order.

The gate (`daybreak.models.promotion`, or a model family's own) says whether a challenger should serve; the
registry records what was decided. Between them sits the nights' policy, the same for every model kind trained as
one model (segmentation, customer value): a rerun keeps the decision already recorded, and a backfill of a night
before the model's latest decision leaves the champion history after it alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daybreak.warehouse import registry

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    import duckdb


def decide(
    connection: duckdb.DuckDBPyConnection,
    model_kind: str,
    model_id: str,
    version: str,
    *,
    gate: Callable[[], tuple[bool, str]],
    logical_date: dt.date,
    run_id: str,
) -> tuple[bool, str]:
    """Record the pipeline's promote-or-reject decision on a version it just registered, once and in history order.

    A rerun of the night finds its decision recorded and keeps it; a backfill of a night before this model's latest
    decision leaves the champion history after it alone. Only otherwise is `gate` asked (promote?, why).

    Returns:
        whether the version was promoted now, and what happened in words.
    """
    if registry.decided(connection, model_kind, model_id, version):
        return False, "already decided (rerun): the recorded decision stands"
    latest = registry.latest_decision_date(connection, model_kind).get(model_id)
    if latest is not None and latest > logical_date:
        return False, f"not decided: a backfill before the decision of {latest} leaves that history alone"
    promoted, why = gate()
    (registry.promote if promoted else registry.reject)(
        connection,
        model_kind,
        model_id,
        version,
        reason=why,
        actor="pipeline",
        logical_date=logical_date,
        run_id=run_id,
    )
    return promoted, ("promoted: " if promoted else "rejected: ") + why
