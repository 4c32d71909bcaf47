"""Customer segments that keep their ids and names across retrains, and say what they mean.

The model is one scikit-learn Pipeline over the configured customer features: log1p of the right-skewed ones
(money, counts, days), median imputation of nulls, standard scaling, then k-means (MiniBatchKMeans on large
training sets) or a Gaussian mixture. The number of segments is chosen inside the configured range on a sample:
by silhouette for k-means, by BIC for the mixture; every candidate's scores are kept with the model.

Clustering algorithms number their clusters arbitrarily, so a retrain could swap "0" and "3" overnight, and
marketing would see customers hop between segments they never left. So cluster numbers never leave this package:
each cluster maps to a *segment id*. A first model numbers its segments by value (0 = the most valuable) and names
them from their profile (champions, loyal, at risk, hibernating, ...). A retrained model's clusters are matched
one to one to the previous champion's segments by optimal assignment of their centres
(`scipy.optimize.linear_sum_assignment`, both sets of centres in the new model's scaled space); a matched cluster
inherits the segment's id and name, an unmatched one is a new segment with a new id (ids are never reused), and
a previous segment left without a match has vanished. Both are reported.

Everything here is pure: DataFrame in, DataFrame out, seeded, no I/O. This module holds what the others share: the
config it reads, the fitted model and the report of a fit; beside it, one idea each:

* `fitting`: the pipeline, the choice of the number of segments, the fit;
* `matching`: a retrained model's clusters matched to the previous champion's segments, for stable ids;
* `naming`: names from where a segment sits among the others (recency, value);
* `gate`: the promotion gate (silhouettes on one sample in one space, stability);
* `scoring`: what a scored night says (profiles against the population, transitions since the last night).

Stored champions are `SegmentModel` pickles whose pipelines refer to `_clip_log1p`: both are looked up by their
qualified names here when a champion is loaded, so they stay in this module under these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


class SegmentationConfig(Protocol):
    """What the model reads of a dataset's `segmentation:` config (`daybreak.datasets.SegmentationConfig` is one);
    a protocol, so the pure model layer needs nothing from the config layer above it."""

    features: tuple[str, ...]
    log_features: tuple[str, ...]
    algorithm: str
    min_segments: int
    max_segments: int
    selection_sample: int
    minibatch_above: int
    min_silhouette: float
    min_stability: float
    match_max_distance: float
    promotion_margin: float


NAMING_COLUMNS = ("recency_days", "frequency", "monetary")
"""Columns a segment's name and value order are read from; always present in the customer feature mart."""
ASSIGNMENT_COLUMNS = ("customer_id", "segment_id", "segment_name", "distance", "probability")


@dataclass(frozen=True)
class SegmentModel:
    """A fitted segmentation and what each of its segments means.

    Attributes:
        pipeline: prepare (log1p) -> impute -> scale -> cluster; its own cluster numbers are internal.
        features: the feature columns, in the pipeline's order.
        algorithm: `kmeans` or `gmm`.
        segment_ids: the segment id of each cluster number.
        names: segment name by segment id.
        next_segment_id: the id a new segment would get (one past every id this lineage ever used).
        profile: per segment id the training customers' size and mean naming columns.
        selection: the candidate numbers of segments and their scores (`k, silhouette, bic, inertia`).
    """

    pipeline: Pipeline
    features: tuple[str, ...]
    algorithm: str
    segment_ids: tuple[int, ...]
    names: dict[int, str]
    next_segment_id: int
    profile: pd.DataFrame
    selection: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def k(self) -> int:
        return len(self.segment_ids)

    def centres(self) -> np.ndarray:
        """Cluster centres in the scaled space, one row per cluster number."""
        cluster = self.pipeline[-1]
        return cluster.means_ if self.algorithm == "gmm" else cluster.cluster_centers_

    def centres_unscaled(self) -> np.ndarray:
        """Cluster centres before scaling (after log1p and imputation): comparable across models' scalings."""
        return self.pipeline.named_steps["scale"].inverse_transform(self.centres())

    def scaled(self, features: pd.DataFrame) -> np.ndarray:
        return self.pipeline[:-1].transform(feature_matrix(features, self.features))

    def assign(self, features: pd.DataFrame, batch_size: int = 100_000) -> pd.DataFrame:
        """Segment customers, `batch_size` at a time so memory stays bounded however many there are.

        Args:
            features: `customer_id` and the model's feature columns (others are ignored).

        Returns:
            `customer_id, segment_id, segment_name, distance, probability`, in the input's order: distance to
            the segment's centre in the scaled feature space (a typical member is close, a borderline one far);
            probability of the segment under a Gaussian mixture, null (NaN) for k-means.
        """
        ids = np.asarray(self.segment_ids, dtype="int32")
        names = np.array([self.names[i] for i in self.segment_ids], dtype=object)
        parts = []
        for start in range(0, len(features), batch_size):
            chunk = features.iloc[start : start + batch_size]
            scaled = self.scaled(chunk)
            cluster, distance, probability = _nearest(self, scaled)
            parts.append(
                pd.DataFrame(
                    {
                        "customer_id": chunk["customer_id"].to_numpy(),
                        "segment_id": ids[cluster],
                        "segment_name": names[cluster],
                        "distance": distance,
                        "probability": probability,
                    }
                )
            )
        if not parts:
            return pd.DataFrame({c: [] for c in ASSIGNMENT_COLUMNS})
        return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class FitReport:
    """What a fit decided: the number of segments and how the clusters relate to the previous model.

    Attributes:
        k: segments fitted.
        matched: previous segment id -> centre distance to the cluster that kept it.
        new: ids of segments the previous model did not have.
        vanished: ids of previous segments no cluster matched.
        note: why fewer segments than the configured minimum were fitted, if so.
    """

    k: int
    matched: dict[int, float]
    new: tuple[int, ...]
    vanished: tuple[int, ...]
    note: str | None = None


def _nearest(model: SegmentModel, scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster number, distance to its centre and (mixtures only) its probability for scaled rows."""
    centres = model.centres()
    if model.algorithm == "gmm":
        posterior = model.pipeline[-1].predict_proba(scaled)
        cluster = posterior.argmax(axis=1)
        probability = posterior[np.arange(len(cluster)), cluster]
        distance = np.linalg.norm(scaled - centres[cluster], axis=1)
        return cluster, distance, probability
    distances = model.pipeline[-1].transform(scaled)
    cluster = distances.argmin(axis=1)
    return cluster, distances[np.arange(len(cluster)), cluster], np.full(len(cluster), np.nan)


def _clip_log1p(values: np.ndarray) -> np.ndarray:
    """log1p of the values floored at 0 (log1p is undefined below -1); fitted pipelines refer to it by name."""
    return np.log1p(np.clip(values, 0, None))


def feature_matrix(features: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The feature columns as floats, in the model's order (the mart's decimals and integers arrive as other dtypes)."""
    return features.loc[:, list(columns)].apply(pd.to_numeric).astype(float)
