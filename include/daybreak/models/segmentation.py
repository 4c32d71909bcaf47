"""Customer segments: k-means on RFM-style features, with ids ordered by value and names read off the profile.

K-means numbers its clusters arbitrarily, so a refit could swap "0" and "3" from one night to the next. Here the
fitted clusters are renumbered so that segment 0 is the most valuable (mean monetary x mean frequency of its
customers, descending), and each segment is named from its profile (how recent and how valuable it is compared
with the other segments): champions, loyal, potential, at risk, hibernating, ... Names are unique within a fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "avg_basket_value")
LOG_FEATURES = ("recency_days", "frequency", "monetary", "avg_basket_value")
"""Right-skewed counts, days and money: log1p (after clipping at 0, since net monetary can be negative)."""
ASSIGNMENT_COLUMNS = ("customer_id", "segment_id", "segment_name", "distance")

# (name, recency score, value score): where each name sits among the segments, 1 = most recent / most valuable.
SEGMENT_PROTOTYPES = (
    ("champions", 1.0, 1.0),
    ("at risk", 0.0, 1.0),
    ("potential", 1.0, 0.0),
    ("hibernating", 0.0, 0.0),
    ("loyal", 0.6, 0.8),
    ("need attention", 0.5, 0.5),
    ("promising", 0.8, 0.3),
    ("about to sleep", 0.3, 0.2),
    ("cannot lose", 0.2, 0.9),
    ("new", 0.95, 0.1),
)


@dataclass(frozen=True)
class SegmentModel:
    """A fitted segmentation: the pipeline (k-means renumbered by value) and what each segment id means.

    Attributes:
        pipeline: log1p -> StandardScaler -> KMeans; `predict` returns the value-ordered segment ids.
        names: segment name by id.
        profile: per segment the customers' mean features, size and value score, indexed by segment id.
    """

    pipeline: Pipeline
    names: tuple[str, ...]
    profile: pd.DataFrame

    def assign(self, features: pd.DataFrame) -> pd.DataFrame:
        """Segment customers with the fitted model.

        Args:
            features: `customer_id` and the FEATURES columns.

        Returns:
            `customer_id, segment_id, segment_name, distance` (distance to the segment's centroid in the scaled
            feature space, so an analyst can tell a typical member from a borderline one).
        """
        frame = _check_features(features)
        scaled = self.pipeline[:-1].transform(frame.loc[:, list(FEATURES)])
        distances = self.pipeline[-1].transform(scaled)
        segment_ids = distances.argmin(axis=1).astype("int32")
        return pd.DataFrame(
            {
                "customer_id": frame["customer_id"].to_numpy(),
                "segment_id": segment_ids,
                "segment_name": np.asarray(self.names, dtype=object)[segment_ids],
                "distance": distances[np.arange(len(frame)), segment_ids],
            }
        )


def _clip_log1p(values: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(values, 0, None))


def build_pipeline(n_segments: int, seed: int) -> Pipeline:
    """The unfitted pipeline: log1p of the skewed features, standard scaling, k-means (10 restarts).

    Args:
        n_segments: number of clusters.
        seed: k-means' random state, so a refit on the same features gives the same clusters.
    """
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    transform = ColumnTransformer(
        [("log1p", FunctionTransformer(_clip_log1p, feature_names_out="one-to-one"), list(LOG_FEATURES))],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return Pipeline(
        [
            ("log1p", transform),
            ("scale", StandardScaler()),
            ("kmeans", KMeans(n_clusters=n_segments, n_init=10, random_state=seed)),
        ]
    )


def fit_segments(features: pd.DataFrame, n_segments: int, seed: int) -> tuple[SegmentModel, pd.DataFrame]:
    """Cluster customers into at most `n_segments` value-ordered, named segments.

    When there are fewer distinct customers than segments asked for, fewer segments are fitted (k-means cannot
    make more clusters than distinct points), so a young shop still gets a result.

    Args:
        features: one row per customer: `customer_id` and FEATURES (nulls count as 0). At least one row.
        n_segments: the number of segments wanted (at least 1).
        seed: fixes k-means' initialisation; same features and seed give the same segments.

    Returns:
        the fitted SegmentModel and the assignments (`customer_id, segment_id, segment_name, distance`, sorted by
        customer_id); segment 0 is the most valuable.
    """
    if n_segments < 1:
        raise ValueError(f"n_segments must be at least 1, got {n_segments}")
    frame = _check_features(features)
    if frame.empty:
        raise ValueError("no customers to segment")
    if frame["customer_id"].duplicated().any():
        raise ValueError("features hold more than one row per customer_id")
    matrix = frame.loc[:, list(FEATURES)]
    k = min(n_segments, len(matrix.drop_duplicates()))
    pipeline = build_pipeline(k, seed).fit(matrix)

    kmeans = pipeline[-1]
    profile = matrix.groupby(kmeans.labels_).mean()
    profile["customers"] = pd.Series(kmeans.labels_).value_counts()
    profile["value_score"] = profile["monetary"].clip(lower=0) * profile["frequency"]
    # the most valuable first; ties broken by recency, then by the centroid itself, so the order is total
    centroid_keys = [tuple(center) for center in kmeans.cluster_centers_]
    order = sorted(
        range(k),
        key=lambda c: (-profile.loc[c, "value_score"], profile.loc[c, "recency_days"], centroid_keys[c]),
    )
    kmeans.cluster_centers_ = kmeans.cluster_centers_[order]
    kmeans.labels_ = np.argsort(order)[kmeans.labels_].astype("int32")
    profile = profile.loc[order].reset_index(drop=True).rename_axis("segment_id")
    names = name_segments(profile)
    profile["segment_name"] = names

    model = SegmentModel(pipeline=pipeline, names=names, profile=profile)
    return model, model.assign(frame)


def name_segments(profile: pd.DataFrame) -> tuple[str, ...]:
    """Give each segment a unique RFM-style name from where it sits among the others.

    Each segment gets a recency score and a value score in [0, 1] by rank among the segments (1 = the most
    recent / most valuable); names are then matched to segments one to one, minimising the total distance to the
    names' prototypes in SEGMENT_PROTOTYPES (champions = recent and valuable, at risk = valuable but lapsed, ...).
    Up to four segments choose among the four corner names; each further segment brings the next name into play.

    Args:
        profile: one row per segment with `recency_days` and `value_score`, in segment id order.

    Returns:
        the names by segment id; `all customers` for a single segment, `segment <id>` beyond the known names.
    """
    from scipy.optimize import linear_sum_assignment

    k = len(profile)
    if k == 1:
        return ("all customers",)
    recency = 1.0 - (profile["recency_days"].rank(method="first").to_numpy() - 1) / (k - 1)
    value = 1.0 - (profile["value_score"].rank(method="first", ascending=False).to_numpy() - 1) / (k - 1)
    candidates = SEGMENT_PROTOTYPES[: max(4, k)]  # up to four segments take the four classic corner names
    prototypes = np.array([[r, v] for _, r, v in candidates])
    scores = np.column_stack([recency, value])
    cost = ((scores[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)
    rows, columns = linear_sum_assignment(cost)
    names = [f"segment {segment_id}" for segment_id in range(k)]
    for row, column in zip(rows, columns, strict=True):
        names[row] = candidates[column][0]
    return tuple(names)


def _check_features(features: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("customer_id", *FEATURES) if c not in features.columns]
    if missing:
        raise ValueError(f"features are missing columns {missing}")
    frame = features.loc[:, ["customer_id", *FEATURES]].copy()
    frame[list(FEATURES)] = frame[list(FEATURES)].apply(pd.to_numeric).astype(float).fillna(0.0)
    return frame.sort_values("customer_id", ignore_index=True)
