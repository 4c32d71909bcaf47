"""Customer segmentation night by night: when to retrain, the promotion gate applied, the rows each night writes.

`jobs.segment` reads the night's inputs, calls these and writes what they return; the model itself (fitting,
stable segment ids, profiles, transitions) is pure and lives in the `daybreak.models.segmentation` package. See
the job's docstring for the night as a whole.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import joblib

from daybreak.core.files import write_atomic
from daybreak.models import DEFAULT_SEED
from daybreak.models.segmentation import NAMING_COLUMNS, SegmentModel
from daybreak.models.segmentation.fitting import fit_segments
from daybreak.models.segmentation.gate import promotion_gate, silhouettes, stability
from daybreak.models.segmentation.scoring import profile_segments, segment_transitions
from daybreak.nights import decisions, references
from daybreak.warehouse import registry, tables
from daybreak.warehouse.schemas.predictions import CUSTOMER_SEGMENTS as SEGMENTS
from daybreak.warehouse.schemas.predictions import SEGMENT_PROFILES as PROFILES
from daybreak.warehouse.schemas.predictions import SEGMENT_TRANSITIONS as TRANSITIONS

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pandas as pd

    from daybreak.datasets import SegmentationConfig
    from daybreak.warehouse.declaration import Table

log = logging.getLogger(__name__)

MART = "marts.features_customer_asof"
MODEL_KIND, MODEL_ID = "segmentation", "customers"


def retrain_reason(
    spec: SegmentationConfig, day: dt.date, champion: SegmentModel | None, triggered: str | None = None
) -> str | None:
    """Why night `day` trains a challenger, or None when the champion just scores.

    Args:
        triggered: the retraining policy's reason when monitoring decided to retrain tonight
            (`daybreak.nights.retraining.decision`).
    """
    if champion is None:
        return "no champion yet"
    if tuple(champion.features) != tuple(spec.features) or champion.algorithm != spec.algorithm:
        return "the configured features or algorithm differ from the champion's"
    if spec.is_retrain_day(day):
        return f"scheduled ({spec.retrain} retrain)" + (f"; {triggered}" if triggered else "")
    return triggered


def train(
    connection: duckdb.DuckDBPyConnection,
    models_dir: Path,
    spec: SegmentationConfig,
    features: pd.DataFrame,
    business_date: dt.date,
    run_id: str,
    reference: dict | None,
    reference_model: SegmentModel | None,
    reason: str,
    monitoring=None,
    references_dir: Path | None = None,
) -> dict:
    """Fit a challenger against the reference champion, save and register it, and take the promotion decision."""
    version = business_date.isoformat()
    challenger, report = fit_segments(features, spec, DEFAULT_SEED, previous=reference_model)
    assigned = challenger.assign(features, spec.score_batch_size)
    labelings = {"challenger": assigned}
    stable = None
    if reference_model is not None:
        labelings["champion"] = reference_model.assign(features, spec.score_batch_size)
        stable = stability(labelings["champion"], assigned)
    scores = silhouettes(challenger, features, labelings, spec.selection_sample, DEFAULT_SEED)
    metrics = {
        "customers": len(features),
        "k": report.k,
        "silhouette": scores["challenger"],
        "champion_silhouette": scores.get("champion"),
        "champion_version": reference["version"] if reference else None,
        "stability": stable,
        "k_selection": challenger.selection.to_dict(orient="records"),
        "matched": {str(k): v for k, v in report.matched.items()},
        "new_segments": list(report.new),
        "vanished_segments": list(report.vanished),
        "segments": {challenger.names[i]: int(n) for i, n in challenger.profile["customers"].items()},
    }
    params = {
        "algorithm": spec.algorithm,
        "features": list(spec.features),
        "log_features": list(spec.log_features),
        "min_segments": spec.min_segments,
        "max_segments": spec.max_segments,
        "selection_sample": spec.selection_sample,
        "minibatch": len(features) > spec.minibatch_above and spec.algorithm == "kmeans",
        "seed": DEFAULT_SEED,
        "names": {str(i): name for i, name in challenger.names.items()},
    }
    artifact = save_model(challenger, models_dir / MODEL_KIND / version)
    registry.register(
        connection,
        model_kind=MODEL_KIND,
        model_id=MODEL_ID,
        version=version,
        trained_for_date=business_date,
        data_start=business_date - dt.timedelta(days=int(features["tenure_days"].max())),
        data_end=business_date,
        model_name=spec.algorithm,
        params=params,
        metrics=metrics,
        artifact_path=str(artifact),
        run_id=run_id,
        reason=reason,
    )
    result = {
        "reason": reason,
        "version": version,
        "k": report.k,
        "silhouette": round(scores["challenger"], 4),
        "stability": None if stable is None else round(stable, 4),
        "new_segments": list(report.new),
        "vanished_segments": list(report.vanished),
    }
    if report.note:
        result["note"] = report.note
    if reference_model is not None and (report.new or report.vanished):
        log.warning(
            "segment %s: retrained segments, new %s, vanished %s", business_date, report.new, report.vanished
        )
    promoted, result["decision"] = decisions.decide(
        connection,
        MODEL_KIND,
        MODEL_ID,
        version,
        gate=lambda: promotion_gate(scores["challenger"], scores.get("champion"), stable, spec),
        logical_date=business_date,
        run_id=run_id,
    )
    if promoted and monitoring is not None and references_dir is not None:
        store_reference(
            connection, references_dir, spec, features, business_date, version, run_id, monitoring
        )
    return result


def store_reference(
    connection: duckdb.DuckDBPyConnection,
    directory: Path,
    spec: SegmentationConfig,
    features: pd.DataFrame,
    business_date: dt.date,
    version: str,
    run_id: str,
    monitoring,
) -> int:
    """Store a sample of the customers the promoted version was trained on as its reference."""
    sampled = references.sample(features, monitoring.reference_rows, "customer_id")
    frame = sampled.loc[:, ["customer_id", *spec.features]].assign(model_id=MODEL_ID)
    return references.store(
        connection,
        directory,
        model_kind=MODEL_KIND,
        version=version,
        frame=frame,
        window=(business_date, business_date),
        rule=references.sampling_rule(monitoring.reference_rows, "customer_id")
        + f" of the customers in marts.features_customer_asof as of {business_date}",
        source_rows=len(features),
        promoted_on=business_date,
        run_id=run_id,
    )


def save_model(model: SegmentModel, directory: Path) -> str:
    """Write the fitted model atomically; returns its path."""
    path = write_atomic(directory / "model.joblib", lambda staging: joblib.dump(model, staging))
    return str(path)


def load_model(row: dict | None) -> SegmentModel | None:
    """The fitted model of a registry row (None for none)."""
    if row is None:
        return None
    return joblib.load(row["artifact_path"])


def scoring_version(connection: duckdb.DuckDBPyConnection, business_date: dt.date) -> dict:
    """The registry row of the model that scores night D: the champion as of D, or (a backfill before the first
    decision) the version D itself trained."""
    scoring = registry.champion(connection, MODEL_KIND, MODEL_ID, as_of=business_date)
    if scoring is None:
        versions = registry.list_versions(connection, MODEL_KIND, MODEL_ID)
        scoring = versions[versions["version"] == business_date.isoformat()].iloc[0].to_dict()
    return scoring


def read_features(
    connection: duckdb.DuckDBPyConnection, spec: SegmentationConfig, business_date: dt.date
) -> pd.DataFrame:
    """D's snapshot of the customer feature mart: the configured features and the columns names come from.

    Raises:
        ValueError: a configured feature is not a column of the mart (the message lists the mart's columns).
    """
    available = [
        row[0]
        for row in connection.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'features_customer_asof' order by ordinal_position"
        ).fetchall()
    ]
    wanted = list(dict.fromkeys([*spec.features, *NAMING_COLUMNS, "tenure_days"]))
    if missing := [c for c in wanted if c not in available]:
        raise ValueError(f"{MART} has no column(s) {missing} configured for segmentation; it has {available}")
    # the names were checked against the mart's own columns above; the date is bound
    columns = ", ".join(f'"{c}"' for c in wanted)
    return connection.execute(
        f"select customer_id, {columns} from {MART} where as_of_date = ? order by customer_id",  # noqa: S608
        [business_date],
    ).df()


def score_tables(
    connection: duckdb.DuckDBPyConnection,
    features: pd.DataFrame,
    model: SegmentModel | None,
    spec: SegmentationConfig,
    business_date: dt.date,
    version: str | None,
    run_id: str,
    assign: Callable[[SegmentModel, pd.DataFrame, int], pd.DataFrame] | None = None,
) -> tuple[dict[Table, pd.DataFrame], dict[str, int]]:
    """Score with `model`: D's rows of the assignments, profiles and transitions (empty when `model` is None).

    Args:
        assign: scores the customers as `SegmentModel.assign` does, elsewhere (the Spark engine's executors,
            `daybreak.nights.spark_models.assign_segments`); None: `model.assign` here.

    Returns:
        the rows per table, and customers per segment name (in segment id order).
    """
    if model is None:
        return {table: table.empty() for table in (SEGMENTS, PROFILES, TRANSITIONS)}, {}
    if assign is None:
        assignments = model.assign(features, spec.score_batch_size)
    else:
        assignments = assign(model, features, spec.score_batch_size)
    described = tuple(dict.fromkeys([*NAMING_COLUMNS, "tenure_days", *spec.features]))
    profiles = profile_segments(features, assignments, described)
    previous_date, previous = previous_assignments(connection, business_date)
    transitions = segment_transitions(previous, assignments).assign(previous_as_of_date=previous_date)
    lineage = {"as_of_date": business_date, "model_version": version, "run_id": run_id}
    frames = {
        SEGMENTS: SEGMENTS.conform(assignments.assign(**lineage)),
        PROFILES: PROFILES.conform(profiles.assign(**lineage)),
        TRANSITIONS: TRANSITIONS.conform(transitions.assign(**lineage)),
    }
    sizes = assignments.groupby(["segment_id", "segment_name"]).size()
    return frames, {name: int(n) for (_, name), n in dict(sizes).items()}


def previous_assignments(
    connection: duckdb.DuckDBPyConnection, business_date: dt.date
) -> tuple[dt.date | None, pd.DataFrame | None]:
    """The latest scored date before D and its assignments (None, None when D is the first)."""
    if not tables.exists(connection, SEGMENTS.qualified):
        return None, None
    (previous_date,) = connection.execute(
        f"select max(as_of_date) from {SEGMENTS.qualified} where as_of_date < ?",  # noqa: S608 - constant name
        [business_date],
    ).fetchone()
    if previous_date is None:
        return None, None
    frame = connection.execute(
        f"select customer_id, segment_id, segment_name from {SEGMENTS.qualified} where as_of_date = ?",  # noqa: S608
        [previous_date],
    ).df()
    return previous_date, frame
