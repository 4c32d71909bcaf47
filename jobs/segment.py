"""Segment customers as of one business date from the customer feature mart.

Reads the business date's snapshot of `marts.features_customer_asof`, fits value-ordered, named k-means segments
(segment 0 = the most valuable), replaces the business date's rows in `predictions.customer_segments` and keeps the
fitted model with what made it under `models/<dataset>/segments/<date>/` (`model.joblib`, `metadata.json`).

Datasets without customers (segmentation disabled in their config) are skipped, which is not an error.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from typing import TYPE_CHECKING

from daybreak.datasets import load_dataset_config
from daybreak.settings import Settings, get_settings
from daybreak.warehouse import connect, read_frame, replace_partition

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

TABLE = "predictions.customer_segments"
FEATURES_SQL = """
select customer_id, recency_days, frequency, monetary, tenure_days, avg_basket_value
from marts.features_customer_asof
where as_of_date = ?
order by customer_id
"""


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Segment the customers of `business_date` and replace that date's rows of `predictions.customer_segments`.

    Returns:
        a summary: rows written, customers, segments fitted and their sizes, the model path; or `skipped` with the
        reason when the dataset has segmentation turned off.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    if not config.segmentation_enabled:
        log.info("segment %s: segmentation disabled for dataset %s", business_date, config.name)
        return {"skipped": f"segmentation disabled for dataset {config.name}"}

    import joblib

    from daybreak import __version__
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.segmentation import FEATURES, fit_segments

    model_version = f"kmeans-{business_date.isoformat()}"
    features = read_frame(settings.warehouse_path, FEATURES_SQL, [business_date])
    summary: dict = {"as_of_date": business_date.isoformat(), "customers": len(features)}
    if features.empty:
        frame = segments_table(None, business_date, model_version=model_version, run_id=run_id)
        summary["note"] = f"no customers with a purchase on or before {business_date}: nothing to segment"
    else:
        model, assignments = fit_segments(features, config.n_segments, DEFAULT_SEED)
        frame = segments_table(assignments, business_date, model_version=model_version, run_id=run_id)
        fitted = len(model.names)
        if fitted < config.n_segments:
            summary["note"] = (
                f"{len(features)} customers with {fitted} distinct profiles, fewer than the {config.n_segments} "
                f"segments configured: fitted {fitted}"
            )
        model_dir = settings.models_dir / "segments" / business_date.isoformat()
        model_dir.mkdir(parents=True, exist_ok=True)
        model_path = model_dir / "model.joblib"
        staging = model_dir / f".model.joblib.{os.getpid()}.tmp"
        joblib.dump(model, staging)
        os.replace(staging, model_path)
        metadata = {
            "as_of_date": business_date.isoformat(),
            "model_version": model_version,
            "code_version": __version__,
            "dataset": config.name,
            "features": list(FEATURES),
            "n_segments_configured": config.n_segments,
            "n_segments_fitted": fitted,
            "seed": DEFAULT_SEED,
            "customers": len(features),
            "inertia": float(model.pipeline[-1].inertia_),
            "profile": json.loads(model.profile.reset_index().to_json(orient="records", double_precision=10)),
        }
        staging = model_dir / f".metadata.json.{os.getpid()}.tmp"
        staging.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        os.replace(staging, model_dir / "metadata.json")
        summary.update(
            segments=fitted,
            segment_sizes={
                name: int(n) for name, n in zip(model.names, model.profile["customers"], strict=True)
            },
            model_path=str(model_path),
        )

    with connect(settings.warehouse_path) as connection:
        written = replace_partition(
            connection, TABLE, frame, key_column="as_of_date", key_value=business_date
        )
    log.info("segment %s: %d customers, %d rows", business_date, len(features), written)
    return {**summary, "rows_written": written, "model_version": model_version}


def segments_table(
    assignments: pd.DataFrame | None, business_date: dt.date, *, model_version: str, run_id: str
) -> pd.DataFrame:
    """Shape `fit_segments`' assignments (None: no customers) as `predictions.customer_segments` rows.

    Types are set explicitly so the table gets the contract's column types even when the first write is empty.
    """
    import pandas as pd
    import pyarrow as pa

    date, text = pd.ArrowDtype(pa.date32()), pd.ArrowDtype(pa.string())
    if assignments is None:
        assignments = pd.DataFrame({"customer_id": [], "segment_id": [], "segment_name": [], "distance": []})
    assignments = assignments.reset_index(drop=True)
    n = len(assignments)
    return pd.DataFrame(
        {
            "as_of_date": pd.Series([business_date] * n, dtype=date),
            "customer_id": assignments["customer_id"].astype(text),
            "segment_id": assignments["segment_id"].astype("int32"),
            "segment_name": assignments["segment_name"].astype(text),
            "distance": assignments["distance"].astype("float64"),
            "model_version": pd.Series([model_version] * n, dtype=text),
            "run_id": pd.Series([run_id] * n, dtype=text),
        }
    )
