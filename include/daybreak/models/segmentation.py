"""Customer segments that keep their ids and names across retrains, and say what they mean.

The model is one scikit-learn Pipeline over the configured customer features: log1p of the right-skewed ones
(money, counts, days), median imputation of nulls, standard scaling, then k-means (MiniBatchKMeans on large
training sets) or a Gaussian mixture. The number of segments is chosen inside the configured range on a sample:
by silhouette for k-means, by BIC for the mixture; every candidate's scores are kept with the model.

Clustering algorithms number their clusters arbitrarily, so a retrain could swap "0" and "3" overnight, and
marketing would see customers hop between segments they never left. So cluster numbers never leave this module:
each cluster maps to a *segment id*. A first model numbers its segments by value (0 = the most valuable) and names
them from their profile (champions, loyal, at risk, hibernating, ...). A retrained model's clusters are matched
one to one to the previous champion's segments by optimal assignment of their centres
(`scipy.optimize.linear_sum_assignment`, both sets of centres in the new model's scaled space); a matched cluster
inherits the segment's id and name, an unmatched one is a new segment with a new id (ids are never reused), and
a previous segment left without a match has vanished. Both are reported.

Everything here is pure: DataFrame in, DataFrame out, seeded, no I/O.
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
        return self.pipeline[:-1].transform(_feature_matrix(features, self.features))

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
    return np.log1p(np.clip(values, 0, None))


def build_pipeline(config: SegmentationConfig, k: int, seed: int, n_customers: int | None = None) -> Pipeline:
    """The unfitted pipeline for `k` segments.

    Args:
        config: features, which of them are log-transformed, the algorithm and the MiniBatchKMeans threshold.
        k: number of clusters.
        seed: the clustering's random state, so a refit on the same features gives the same clusters.
        n_customers: training set size; above `config.minibatch_above` k-means trains in mini-batches, whose
            memory and time do not grow with every restart over the whole set.
    """
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.mixture import GaussianMixture
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

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
    from sklearn.metrics import silhouette_score

    matrix = _feature_matrix(features, config.features)
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
    matrix = _feature_matrix(frame, config.features)
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
        segment_ids, names, report = _inherit(draft, previous, config.match_max_distance)
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


def match_centres(
    new_centres: np.ndarray, previous_centres: np.ndarray, max_distance: float
) -> dict[int, tuple[int, float]]:
    """Pair new clusters with previous ones one to one, minimising the total distance between their centres.

    Args:
        new_centres: [k_new, d] centres of the new clusters.
        previous_centres: [k_previous, d] centres of the previous segments, in the same space.
        max_distance: pairs further apart than this are not matched.

    Returns:
        new cluster number -> (previous row, centre distance), for matched clusters only.
    """
    from scipy.optimize import linear_sum_assignment

    cost = np.linalg.norm(new_centres[:, None, :] - previous_centres[None, :, :], axis=2)
    rows, columns = linear_sum_assignment(cost)
    return {
        int(r): (int(c), float(cost[r, c]))
        for r, c in zip(rows, columns, strict=True)
        if cost[r, c] <= max_distance
    }


def _inherit(
    draft: SegmentModel, previous: SegmentModel, max_distance: float
) -> tuple[list[int], dict[int, str], FitReport]:
    scaler = draft.pipeline.named_steps["scale"]
    previous_centres = scaler.transform(previous.centres_unscaled())
    pairs = match_centres(draft.centres(), previous_centres, max_distance)
    segment_ids: list[int] = [-1] * draft.k
    names: dict[int, str] = {}
    matched: dict[int, float] = {}
    for cluster, (row, distance) in pairs.items():
        segment_id = previous.segment_ids[row]
        segment_ids[cluster] = segment_id
        names[segment_id] = previous.names[segment_id]
        matched[segment_id] = round(distance, 6)
    unmatched = [c for c in range(draft.k) if segment_ids[c] < 0]
    # new clusters: next ids in value order, named with the prototypes no kept segment uses
    unmatched.sort(key=lambda c: (-draft.profile.loc[c, "value_score"], draft.profile.loc[c, "recency_days"]))
    next_id = previous.next_segment_id
    for cluster in unmatched:
        segment_ids[cluster] = next_id
        next_id += 1
    if unmatched:
        fresh = name_segments(draft.profile, taken=set(names.values()), only=unmatched)
        for cluster in unmatched:
            names[segment_ids[cluster]] = fresh[cluster]
    vanished = tuple(sorted(set(previous.segment_ids) - set(matched)))
    new = tuple(sorted(segment_ids[c] for c in unmatched))
    return segment_ids, names, FitReport(k=draft.k, matched=matched, new=new, vanished=vanished)


def name_segments(
    profile: pd.DataFrame, taken: set[str] | frozenset[str] = frozenset(), only: list[int] | None = None
) -> tuple[str, ...]:
    """Give segments unique RFM-style names from where they sit among the others.

    Each segment gets a recency score and a value score in [0, 1]: where its mean recency and its value (log of
    mean monetary x mean frequency) sit between the segments' extremes (1 = the most recent / most valuable).
    Positions rather than ranks, so a middle segment that is nearly as recent as the best is named as recent.
    Names are then matched to segments one to one, minimising the total distance to the names' prototypes in
    SEGMENT_PROTOTYPES (champions = recent and valuable, at risk = valuable but lapsed, ...). Up to four segments
    choose among the four corner names; each further segment brings the next name into play.

    Args:
        profile: one row per segment (positional) with `recency_days` and `value_score`.
        taken: names already held by other segments (kept from a previous model); not given out again.
        only: positions to name (the others keep theirs); default all.

    Returns:
        a name per row of `profile` (`segment <row>` for rows not named or beyond the known names); `all
        customers` for a single segment.
    """
    from scipy.optimize import linear_sum_assignment

    k = len(profile)
    if k == 1 and not taken:
        return ("all customers",)
    rows_to_name = list(range(k)) if only is None else list(only)
    recency = profile["recency_days"].to_numpy(dtype=float)
    value = np.log1p(profile["value_score"].clip(lower=0).to_numpy(dtype=float))
    scores = np.column_stack([1.0 - _unit(recency), _unit(value)])
    candidates = [c for c in SEGMENT_PROTOTYPES[: max(4, k)] if c[0] not in taken]
    if len(candidates) < len(rows_to_name):
        candidates = [c for c in SEGMENT_PROTOTYPES if c[0] not in taken]
    names = [f"segment {row}" for row in range(k)]
    if candidates:
        prototypes = np.array([[r, v] for _, r, v in candidates])
        cost = ((scores[rows_to_name][:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)
        rows, columns = linear_sum_assignment(cost)
        for row, column in zip(rows, columns, strict=True):
            names[rows_to_name[row]] = candidates[column][0]
    return tuple(names)


def _unit(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1]; all equal -> 0.5 (nothing to tell them apart by)."""
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.full(len(values), 0.5)


def stability(previous: pd.DataFrame, current: pd.DataFrame) -> float:
    """Share of the customers in both assignments whose segment id is the same (1.0 when none are shared)."""
    both = previous[["customer_id", "segment_id"]].merge(
        current[["customer_id", "segment_id"]], on="customer_id", suffixes=("_previous", "_current")
    )
    if both.empty:
        return 1.0
    return float((both["segment_id_previous"] == both["segment_id_current"]).mean())


def silhouettes(
    challenger: SegmentModel,
    features: pd.DataFrame,
    labelings: dict[str, pd.DataFrame],
    sample_size: int,
    seed: int,
) -> dict[str, float]:
    """Silhouette of several assignments of the same customers, all in the challenger's scaled space.

    Measuring the champion's and the challenger's segments on the same sample in the same space makes the two
    numbers comparable, which the promotion gate needs.

    Args:
        labelings: name -> assignments (`customer_id, segment_id`) covering `features`' customers.

    Returns:
        name -> silhouette (NaN when a labeling has a single segment on the sample).
    """
    from sklearn.metrics import silhouette_score

    rows = sample_rows(len(features), sample_size, seed)
    sample = features.iloc[rows]
    scaled = challenger.scaled(sample)
    result = {}
    for name, assignments in labelings.items():
        labels = (
            sample[["customer_id"]].merge(
                assignments[["customer_id", "segment_id"]], on="customer_id", how="left"
            )
        )["segment_id"].to_numpy()
        result[name] = float(silhouette_score(scaled, labels)) if len(np.unique(labels)) > 1 else float("nan")
    return result


def promotion_gate(
    challenger_silhouette: float,
    champion_silhouette: float | None,
    stability_share: float | None,
    config: SegmentationConfig,
) -> tuple[bool, str]:
    """Whether a retrained segmentation replaces the champion, and why (pure; the registry records it).

    A challenger must separate customers well enough (`min_silhouette`), must not move more customers to other
    segment ids than `min_stability` allows (marketing acts on the ids), and must beat the champion's silhouette on
    the same customers by `promotion_margin` (the registry's one promotion rule; a tie keeps the champion). With no
    champion the first model is promoted whatever its silhouette, since something has to score; the reason says
    when it is below the bar.

    Args:
        challenger_silhouette, champion_silhouette: both measured on the same sample in the challenger's space
            (`silhouettes`); champion None when there is none.
        stability_share: share of customers whose segment id the challenger keeps (None without a champion).
    """
    from daybreak.models.promotion import decide_promotion

    if champion_silhouette is None:
        promote, reason = decide_promotion(
            None, challenger_silhouette, config.promotion_margin, lower_is_better=False
        )
        if challenger_silhouette < config.min_silhouette:
            reason += f" (below min_silhouette {config.min_silhouette:g}, promoted as the first model)"
        return promote, reason
    if not challenger_silhouette >= config.min_silhouette:
        return False, f"silhouette {challenger_silhouette:.4g} below min_silhouette {config.min_silhouette:g}"
    if stability_share is not None and stability_share < config.min_stability:
        return False, (
            f"stability {stability_share:.4g} below min_stability {config.min_stability:g}: "
            "too many customers would change segment"
        )
    promote, reason = decide_promotion(
        champion_silhouette, challenger_silhouette, config.promotion_margin, lower_is_better=False
    )
    return promote, f"silhouette: {reason}; stability {stability_share:.4g}"


def profile_segments(
    features: pd.DataFrame, assignments: pd.DataFrame, columns: tuple[str, ...]
) -> pd.DataFrame:
    """What each segment looks like against the whole population, one row per segment and feature.

    Args:
        features: `customer_id` and `columns` (raw values, as in the mart).
        assignments: `customer_id, segment_id, segment_name`.
        columns: the features to describe (`monetary` must be among them: it gives the revenue shares).

    Returns:
        `segment_id, segment_name, customers, share_of_customers, revenue, share_of_revenue, feature,
        mean, median, population_mean, population_median, mean_vs_population` (the segment mean over the
        population mean; null when the population mean is 0), sorted by segment id and the order of `columns`.
    """
    joined = assignments[["customer_id", "segment_id", "segment_name"]].merge(
        features[["customer_id", *columns]], on="customer_id", how="left"
    )
    values = joined[list(columns)].apply(pd.to_numeric).astype(float)
    total_customers = len(joined)
    total_revenue = float(values["monetary"].sum())
    groups = values.groupby(joined["segment_id"])
    sizes = joined.groupby("segment_id").agg(
        segment_name=("segment_name", "first"), customers=("customer_id", "size")
    )
    sizes["revenue"] = groups["monetary"].sum()
    means, medians = groups.mean(), groups.median()
    rows = []
    for segment_id, size in sizes.iterrows():
        for column in columns:
            population_mean = float(values[column].mean())
            mean = float(means.loc[segment_id, column])
            rows.append(
                {
                    "segment_id": int(segment_id),
                    "segment_name": size["segment_name"],
                    "customers": int(size["customers"]),
                    "share_of_customers": size["customers"] / total_customers,
                    "revenue": float(size["revenue"]),
                    "share_of_revenue": float(size["revenue"]) / total_revenue if total_revenue else np.nan,
                    "feature": column,
                    "mean": mean,
                    "median": float(medians.loc[segment_id, column]),
                    "population_mean": population_mean,
                    "population_median": float(values[column].median()),
                    "mean_vs_population": mean / population_mean if population_mean else np.nan,
                }
            )
    return pd.DataFrame(rows)


def segment_transitions(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """How many customers moved from each segment to each other between two scored dates.

    Args:
        previous: the earlier date's assignments (`customer_id, segment_id, segment_name`); None when there
            is no earlier date.
        current: this date's assignments.

    Returns:
        `from_segment_id, from_segment_name, to_segment_id, to_segment_name, customers, share_of_from` per
        pair that occurs. Customers new since the earlier date have a null `from_segment_id` and
        `from_segment_name`; share_of_from is the pair's share of the from-segment's customers still here (of
        all new customers, for them).
    """
    current = current[["customer_id", "segment_id", "segment_name"]].rename(
        columns={"segment_id": "to_segment_id", "segment_name": "to_segment_name"}
    )
    if previous is None:
        previous = pd.DataFrame({"customer_id": [], "segment_id": [], "segment_name": []})
    previous = previous[["customer_id", "segment_id", "segment_name"]].rename(
        columns={"segment_id": "from_segment_id", "segment_name": "from_segment_name"}
    )
    moved = current.merge(previous, on="customer_id", how="left")
    moved["from_segment_id"] = moved["from_segment_id"].astype("Int64")
    keys = ["from_segment_id", "from_segment_name", "to_segment_id", "to_segment_name"]
    counts = moved.groupby(keys, dropna=False).size().rename("customers").reset_index()
    from_sizes = counts.groupby("from_segment_id", dropna=False)["customers"].transform("sum")
    counts["share_of_from"] = counts["customers"] / from_sizes
    return counts.sort_values(["from_segment_id", "to_segment_id"], na_position="first", ignore_index=True)


def _feature_matrix(features: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return features.loc[:, list(columns)].apply(pd.to_numeric).astype(float)


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
