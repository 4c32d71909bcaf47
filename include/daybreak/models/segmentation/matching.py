"""Stable segment ids: a retrained model's clusters matched one to one to the previous champion's segments.

A matched cluster inherits the segment's id and name; an unmatched one is a new segment with the next id of the
lineage (ids are never reused) and a name no kept segment holds; a previous segment left without a match has
vanished. Centres are compared in the new model's scaled space, both sets mapped there from before scaling.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from daybreak.models.segmentation import FitReport, SegmentModel
from daybreak.models.segmentation.naming import name_segments


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
    cost = np.linalg.norm(new_centres[:, None, :] - previous_centres[None, :, :], axis=2)
    rows, columns = linear_sum_assignment(cost)
    return {
        int(r): (int(c), float(cost[r, c]))
        for r, c in zip(rows, columns, strict=True)
        if cost[r, c] <= max_distance
    }


def inherit(
    draft: SegmentModel, previous: SegmentModel, max_distance: float
) -> tuple[list[int], dict[int, str], FitReport]:
    """The segment ids and names of a freshly fitted model's clusters, kept from `previous` where they match.

    Args:
        draft: the new model, its clusters numbered 0..k-1 and `profile` indexed by cluster number.
        previous: the champion it may replace, over the same features.
        max_distance: clusters further than this from every previous segment's centre are new segments.

    Returns:
        the segment id per cluster number, the name per segment id, and the report of matched, new and vanished
        segments.
    """
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
