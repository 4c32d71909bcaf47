"""Fitting a segmentation: the pipeline, the number of segments chosen on a sample, and the fit itself.

The number of segments is chosen inside the configured range on a seeded sample (silhouette for k-means, BIC for
a mixture), then the pipeline is fitted on every customer. A first model numbers its segments by value and names
them (`naming`); a retrained one keeps the previous champion's ids and names where its clusters match (`matching`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from daybreak.models.segmentation import (
    NAMING_COLUMNS,
    FitReport,
    SegmentationConfig,
    SegmentModel,
    _clip_log1p,
    feature_matrix,
)
from daybreak.models.segmentation.matching import inherit
from daybreak.models.segmentation.naming import name_segments


def build_pipeline(config: SegmentationConfig, k: int, seed: int, n_customers: int | None = None) -> Pipeline:
    """The unfitted pipeline for `k` segments.

    Args:
        config: features, which of them are log-transformed, the algorithm and the MiniBatchKMeans threshold.
        k: number of clusters.
        seed: the clustering's random state, so a refit on the same features gives the same clusters.
        n_customers: training set size; above `config.minibatch_above` k-means trains in mini-batches, whose
            memory and time do not grow with every restart over the whole set.
    """
    log_columns = [f for f in config.features if f in config.log_features]
    other = [f for f in config.features if f not in config.log_features]
    prepare = ColumnTransformer(
        [
            ("log1p", FunctionTransformer(_clip_log1p, feature_names_out="one-to-one"), log_columns),
            ("as_is", "passthrough", other),
        ],
        verbose_feature_names_out=False,
    )
    if config.algorithm == "gmm":
        cluster = GaussianMixture(n_components=k, covariance_type="full", n_init=3, random_state=seed)
    elif n_customers is not None and n_customers > config.minibatch_above:
        cluster = MiniBatchKMeans(n_clusters=k, batch_size=4096, n_init=3, random_state=seed)
    else:
        cluster = KMeans(n_clusters=k, n_init=10, random_state=seed)
    return Pipeline(
        [
            ("prepare", prepare),
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("cluster", cluster),
        ]
    )


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded sample of `size` of `n` rows (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def select_k(features: pd.DataFrame, config: SegmentationConfig, seed: int) -> tuple[int, pd.DataFrame]:
    """Choose the number of segments within the configured range on a seeded sample.

    k-means: the k with the highest silhouette; Gaussian mixture: the lowest BIC. Both scores (and k-means'
    inertia) are computed for every candidate, so the record shows how clear the choice was. The range is cut to
    what the sample can support (at most one segment per distinct customer profile, at least two).

    Args:
        features: one row per customer with the configured features.

    Returns:
        (chosen k, a frame `k, silhouette, bic, inertia, chosen`).
    """
    matrix = feature_matrix(features, config.features)
    sample = matrix.iloc[sample_rows(len(matrix), config.selection_sample, seed)]
    distinct = len(sample.drop_duplicates())
    high = min(config.max_segments, distinct - 1)
    low = min(config.min_segments, high)
    rows = []
    for k in range(max(low, 2), high + 1):
        pipeline = build_pipeline(config, k, seed).fit(sample)
        scaled = pipeline[:-1].transform(sample)
        labels = pipeline[-1].predict(scaled)
        silhouette = float(silhouette_score(scaled, labels)) if len(np.unique(labels)) > 1 else float("nan")
        cluster = pipeline[-1]
        rows.append(
            {
                "k": k,
                "silhouette": silhouette,
                "bic": float(cluster.bic(scaled)) if config.algorithm == "gmm" else float("nan"),
                "inertia": float(cluster.inertia_) if config.algorithm != "gmm" else float("nan"),
            }
        )
    scores = pd.DataFrame(rows, columns=["k", "silhouette", "bic", "inertia"])
    if scores.empty:  # one or two distinct profiles: nothing to choose
        chosen = max(1, min(distinct, 2))
    elif config.algorithm == "gmm":
        chosen = int(scores.loc[scores["bic"].idxmin(), "k"])
    else:
        chosen = int(scores.loc[scores["silhouette"].fillna(-2).idxmax(), "k"])
    return chosen, scores.assign(chosen=scores["k"] == chosen)


def fit_segments(
    features: pd.DataFrame,
    config: SegmentationConfig,
    seed: int,
    previous: SegmentModel | None = None,
) -> tuple[SegmentModel, FitReport]:
    """Fit a segmentation, keeping the previous champion's segment ids and names where clusters match.

    Args:
        features: one row per customer: `customer_id`, the configured features and NAMING_COLUMNS.
        config: the dataset's segmentation config.
        seed: fixes sampling and the clustering; same features and seed give the same model.
        previous: the champion this model may replace; None for a first model, whose segments are numbered by
            value (0 = most valuable). A previous model over other features cannot be matched: the new segments
            then get fresh ids after the previous lineage's.

    Returns:
        the fitted model and a report of the number of segments and of matched, new and vanished segments.
    """
    frame = _check_features(features, config.features)
    k, selection = select_k(frame, config, seed)
    matrix = feature_matrix(frame, config.features)
    pipeline = build_pipeline(config, k, seed, n_customers=len(frame)).fit(matrix)
    scaled = pipeline[:-1].transform(matrix)
    labels = pipeline[-1].predict(scaled)
    profile = (
        frame.loc[:, list(NAMING_COLUMNS)]
        .astype(float)
        .groupby(labels)
        .mean()
        .reindex(range(k))
        .assign(customers=pd.Series(labels).value_counts().reindex(range(k), fill_value=0))
    )
    profile["value_score"] = profile["monetary"].clip(lower=0) * profile["frequency"]
    draft = SegmentModel(
        pipeline=pipeline,
        features=tuple(config.features),
        algorithm=config.algorithm,
        segment_ids=tuple(range(k)),
        names={},
        next_segment_id=k,
        profile=profile,
        selection=selection,
    )
    comparable = previous is not None and tuple(previous.features) == tuple(config.features)
    if comparable:
        segment_ids, names, report = inherit(draft, previous, config.match_max_distance)
        next_id = max(previous.next_segment_id, max(segment_ids) + 1)
    else:
        first = previous.next_segment_id if previous is not None else 0
        segment_ids, names = _first_labels(profile, first)
        report = FitReport(k=k, matched={}, new=tuple(sorted(segment_ids)), vanished=())
        if previous is not None:
            report = FitReport(k=k, matched={}, new=report.new, vanished=tuple(sorted(previous.names)))
        next_id = first + k
    if k < config.min_segments:
        report = FitReport(
            k=k,
            matched=report.matched,
            new=report.new,
            vanished=report.vanished,
            note=f"{len(frame)} customers support {k} segments, fewer than the configured minimum "
            f"{config.min_segments}",
        )
    by_segment = profile.set_axis(list(segment_ids)).rename_axis("segment_id").sort_index()
    by_segment["segment_name"] = [names[i] for i in by_segment.index]
    model = SegmentModel(
        pipeline=pipeline,
        features=tuple(config.features),
        algorithm=config.algorithm,
        segment_ids=tuple(int(i) for i in segment_ids),
        names={int(i): names[i] for i in segment_ids},
        next_segment_id=int(next_id),
        profile=by_segment,
        selection=selection,
    )
    return model, report


def _first_labels(profile: pd.DataFrame, first_id: int) -> tuple[list[int], dict[int, str]]:
    """Number clusters by value (most valuable first, ties by recency then size) and name them."""
    k = len(profile)
    order = sorted(
        range(k),
        key=lambda c: (
            -profile.loc[c, "value_score"],
            profile.loc[c, "recency_days"],
            -profile.loc[c, "customers"],
        ),
    )
    segment_ids = [0] * k
    for rank, cluster in enumerate(order):
        segment_ids[cluster] = first_id + rank
    ordered = profile.loc[order].reset_index(drop=True)
    names_in_order = name_segments(ordered)
    names = {first_id + rank: names_in_order[rank] for rank in range(k)}
    return segment_ids, names


def _check_features(features: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    needed = list(dict.fromkeys(["customer_id", *columns, *NAMING_COLUMNS]))
    missing = [c for c in needed if c not in features.columns]
    if missing:
        raise ValueError(f"features are missing columns {missing}")
    if features.empty:
        raise ValueError("no customers to segment")
    if features["customer_id"].duplicated().any():
        raise ValueError("features hold more than one row per customer_id")
    frame = features.loc[:, needed].sort_values("customer_id", ignore_index=True)
    if frame[list(columns)].isna().all().any():
        empty = [c for c in columns if frame[c].isna().all()]
        raise ValueError(f"features {empty} are null for every customer: nothing to learn from them")
    return frame
