"""Segment customers as of one business date: retrain on schedule behind a promotion gate, score with the champion.

Night D reads D's snapshot of `marts.features_customer_asof` (the configured feature columns; the mart may have
more). On a retrain night (the dataset's `segmentation.retrain` schedule; also when there is no champion yet, or
the configured features or algorithm no longer match the champion's) a challenger is fitted with the champion
of the night before as its reference, so segments keep their ids and names; it is registered in the model
registry (`model_kind` `segmentation`, `model_id` `customers`, version D) with its silhouette and its stability
against the champion, and promoted only if it passes the gate. Then the champion as of D scores every customer,
and three partitions for D are replaced:

* `predictions.customer_segments`: one row per customer (segment id and name, distance, probability).
* `predictions.segment_profiles`: per segment and feature, size, revenue share, mean and median against all.
* `predictions.segment_transitions`: customers per (segment on the previous scored date, segment on D).

Rerunning a night reproduces it: the reference is the champion of the day before D (which a decision taken on D
cannot change), the fit is seeded, the registry skips what it already recorded, and a decision already taken for
D's version stands. A backfill of a night earlier than the registry's latest decision registers its challenger
but leaves the champion history after it alone.

Datasets without customers (segmentation disabled in their config) are skipped, which is not an error.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING

from daybreak.datasets import load_dataset_config
from daybreak.settings import Settings, get_settings
from daybreak.warehouse import connect, replace_partitions

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from daybreak.datasets import SegmentationConfig
    from daybreak.models.segmentation import SegmentModel

log = logging.getLogger(__name__)

TABLE = "predictions.customer_segments"
PROFILES_TABLE = "predictions.segment_profiles"
TRANSITIONS_TABLE = "predictions.segment_transitions"
MART = "marts.features_customer_asof"
MODEL_KIND, MODEL_ID = "segmentation", "customers"


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Segment the customers of `business_date` and replace that date's rows of the three segment tables.

    Returns:
        a summary: customers, whether a challenger was trained and the decision on it, the version that scored,
        segment sizes, new and vanished segments, rows written; or `skipped` with the reason when the dataset has
        segmentation turned off.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    spec = config.segmentation
    if not spec.enabled:
        log.warning(
            "segment %s: skipped, segmentation is disabled for dataset %s", business_date, config.name
        )
        return {"skipped": f"segmentation disabled for dataset {config.name}"}

    from daybreak import registry

    summary: dict = {"as_of_date": business_date.isoformat()}
    with connect(settings.warehouse_path) as connection:
        features = read_features(connection, spec, business_date)
        summary["customers"] = len(features)
        if features.empty:
            summary["note"] = f"no customers with a purchase on or before {business_date}: nothing to segment"
            model, version = None, None
        else:
            reference = registry.champion(
                connection, MODEL_KIND, MODEL_ID, as_of=business_date - dt.timedelta(days=1)
            )
            reference_model = _load(reference)
            reason = retrain_reason(spec, business_date, reference_model)
            if reason is not None:
                summary["training"] = train(
                    connection,
                    settings,
                    spec,
                    features,
                    business_date,
                    run_id,
                    reference,
                    reference_model,
                    reason,
                )
            scoring = registry.champion(connection, MODEL_KIND, MODEL_ID, as_of=business_date)
            if scoring is None:  # a backfill before the first decision: score with what this night trained
                scoring = registry.list_versions(connection, MODEL_KIND, MODEL_ID)
                scoring = scoring[scoring["version"] == business_date.isoformat()].iloc[0].to_dict()
            version = scoring["version"]
            model = _load(scoring)
        written, sizes = write_tables(connection, features, model, spec, business_date, version, run_id)
    if model is not None:
        summary.update(model_version=version, segments=sizes)
    summary["rows_written"] = written
    log.info("segment %s: %s", business_date, summary)
    return summary


def retrain_reason(spec: SegmentationConfig, day: dt.date, champion: SegmentModel | None) -> str | None:
    """Why night `day` trains a challenger, or None when the champion just scores."""
    if champion is None:
        return "no champion yet"
    if tuple(champion.features) != tuple(spec.features) or champion.algorithm != spec.algorithm:
        return "the configured features or algorithm differ from the champion's"
    if spec.is_retrain_day(day):
        return f"scheduled ({spec.retrain} retrain)"
    return None


def train(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    spec: SegmentationConfig,
    features: pd.DataFrame,
    business_date: dt.date,
    run_id: str,
    reference: dict | None,
    reference_model: SegmentModel | None,
    reason: str,
) -> dict:
    """Fit a challenger against the reference champion, save and register it, and take the promotion decision."""
    from daybreak import registry
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.segmentation import fit_segments, promotion_gate, silhouettes, stability

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
    artifact = save_model(challenger, settings.models_dir / MODEL_KIND / version)
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
    latest = registry.latest_decision_date(connection, MODEL_KIND).get(MODEL_ID)
    if registry.decided(connection, MODEL_KIND, MODEL_ID, version):
        result["decision"] = "already decided (rerun): the recorded decision stands"
    elif latest is not None and latest > business_date:
        result["decision"] = (
            f"not decided: a backfill before the decision of {latest} leaves that history alone"
        )
    else:
        promote, why = promotion_gate(scores["challenger"], scores.get("champion"), stable, spec)
        action = registry.promote if promote else registry.reject
        action(
            connection,
            MODEL_KIND,
            MODEL_ID,
            version,
            reason=why,
            actor="pipeline",
            logical_date=business_date,
            run_id=run_id,
        )
        result["decision"] = ("promoted: " if promote else "rejected: ") + why
    return result


def save_model(model: SegmentModel, directory) -> str:
    """Write the fitted model atomically (temporary file, then rename); returns its path."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "model.joblib"
    staging = directory / f".model.joblib.{os.getpid()}.tmp"
    joblib.dump(model, staging)
    os.replace(staging, path)
    return str(path)


def _load(row: dict | None) -> SegmentModel | None:
    if row is None:
        return None
    import joblib

    return joblib.load(row["artifact_path"])


def read_features(
    connection: duckdb.DuckDBPyConnection, spec: SegmentationConfig, business_date: dt.date
) -> pd.DataFrame:
    """D's snapshot of the customer feature mart: the configured features and the columns names come from.

    Raises:
        ValueError: a configured feature is not a column of the mart (the message lists the mart's columns).
    """
    from daybreak.models.segmentation import NAMING_COLUMNS

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


def write_tables(
    connection: duckdb.DuckDBPyConnection,
    features: pd.DataFrame,
    model: SegmentModel | None,
    spec: SegmentationConfig,
    business_date: dt.date,
    version: str | None,
    run_id: str,
) -> tuple[dict[str, int], dict[str, int]]:
    """Score with `model` and replace D's partition of the assignments, profiles and transitions.

    Returns:
        rows written per table, and customers per segment name (in segment id order).
    """
    from daybreak.models.segmentation import NAMING_COLUMNS, profile_segments, segment_transitions

    if model is None:
        assignments = None
        profiles = None
    else:
        assignments = model.assign(features, spec.score_batch_size)
        described = tuple(dict.fromkeys([*NAMING_COLUMNS, "tenure_days", *spec.features]))
        profiles = profile_segments(features, assignments, described)
    previous_date, previous = previous_assignments(connection, business_date)
    transitions = None if assignments is None else segment_transitions(previous, assignments)
    frames = {
        TABLE: segments_table(assignments, business_date, model_version=version, run_id=run_id),
        PROFILES_TABLE: profiles_table(profiles, business_date, model_version=version, run_id=run_id),
        TRANSITIONS_TABLE: transitions_table(
            transitions, business_date, previous_date, model_version=version, run_id=run_id
        ),
    }
    # the three tables land together or not at all
    written = replace_partitions(
        connection, [(table, frame, "as_of_date", business_date) for table, frame in frames.items()]
    )
    sizes = {} if assignments is None else assignments.groupby(["segment_id", "segment_name"]).size()
    return written, {name: int(n) for (_, name), n in dict(sizes).items()}


def previous_assignments(
    connection: duckdb.DuckDBPyConnection, business_date: dt.date
) -> tuple[dt.date | None, pd.DataFrame | None]:
    """The latest scored date before D and its assignments (None, None when D is the first)."""
    (exists,) = connection.execute(
        "select count(*) from information_schema.tables where table_schema = 'predictions' "
        "and table_name = 'customer_segments'"
    ).fetchone()
    if not exists:
        return None, None
    (previous_date,) = connection.execute(
        f"select max(as_of_date) from {TABLE} where as_of_date < ?",  # noqa: S608 - constant name
        [business_date],
    ).fetchone()
    if previous_date is None:
        return None, None
    frame = connection.execute(
        f"select customer_id, segment_id, segment_name from {TABLE} where as_of_date = ?",  # noqa: S608
        [previous_date],
    ).df()
    return previous_date, frame


def _typed(columns: dict[str, tuple[str, object]], frame: pd.DataFrame | None) -> pd.DataFrame:
    """The table's rows with each column cast to its Arrow type: the first write (even an empty one) sets the
    contract's column types, and a missing number (NaN, pd.NA) is stored as null, not as NaN.

    Args:
        columns: name -> (type, constant): a column `frame` lacks is filled with its constant.
    """
    import pandas as pd
    import pyarrow as pa

    kinds = {
        "date": pa.date32(),
        "text": pa.string(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "double": pa.float64(),
    }
    n = 0 if frame is None else len(frame)
    data = {}
    for name, (kind, constant) in columns.items():
        if frame is not None and name in frame.columns:
            array = pa.array(frame[name], from_pandas=True)
            array = array.cast(kinds[kind]) if array.type != kinds[kind] else array
        else:
            array = pa.array([constant] * n, type=kinds[kind])
        data[name] = pd.Series(array, dtype=pd.ArrowDtype(kinds[kind]))
    return pd.DataFrame(data)


def segments_table(
    assignments: pd.DataFrame | None, business_date: dt.date, *, model_version: str | None, run_id: str
) -> pd.DataFrame:
    """`predictions.customer_segments` rows from the model's assignments (None: no customers)."""
    return _typed(
        {
            "as_of_date": ("date", business_date),
            "customer_id": ("text", None),
            "segment_id": ("int", None),
            "segment_name": ("text", None),
            "distance": ("double", None),
            "probability": ("double", None),
            "model_version": ("text", model_version),
            "run_id": ("text", run_id),
        },
        None
        if assignments is None
        else assignments.assign(model_version=model_version, run_id=run_id, as_of_date=business_date),
    )


def profiles_table(
    profiles: pd.DataFrame | None, business_date: dt.date, *, model_version: str | None, run_id: str
) -> pd.DataFrame:
    """`predictions.segment_profiles` rows from `profile_segments` (None: no customers)."""
    return _typed(
        {
            "as_of_date": ("date", business_date),
            "model_version": ("text", model_version),
            "segment_id": ("int", None),
            "segment_name": ("text", None),
            "customers": ("bigint", None),
            "share_of_customers": ("double", None),
            "revenue": ("double", None),
            "share_of_revenue": ("double", None),
            "feature": ("text", None),
            "mean": ("double", None),
            "median": ("double", None),
            "population_mean": ("double", None),
            "population_median": ("double", None),
            "mean_vs_population": ("double", None),
            "run_id": ("text", run_id),
        },
        None
        if profiles is None
        else profiles.assign(as_of_date=business_date, model_version=model_version, run_id=run_id),
    )


def transitions_table(
    transitions: pd.DataFrame | None,
    business_date: dt.date,
    previous_date: dt.date | None,
    *,
    model_version: str | None,
    run_id: str,
) -> pd.DataFrame:
    """`predictions.segment_transitions` rows from `segment_transitions` (None: no customers)."""
    return _typed(
        {
            "as_of_date": ("date", business_date),
            "previous_as_of_date": ("date", previous_date),
            "from_segment_id": ("int", None),
            "from_segment_name": ("text", None),
            "to_segment_id": ("int", None),
            "to_segment_name": ("text", None),
            "customers": ("bigint", None),
            "share_of_from": ("double", None),
            "model_version": ("text", model_version),
            "run_id": ("text", run_id),
        },
        None
        if transitions is None
        else transitions.assign(
            as_of_date=business_date,
            previous_as_of_date=previous_date,
            model_version=model_version,
            run_id=run_id,
        ),
    )
