"""The promotion gate of a retrained segmentation: separation, stability of the ids, and the champion to beat.

`silhouettes` measures the champion's and the challenger's segments on one sample in one space, `stability` the
share of customers that keep their segment id, and `promotion_gate` decides (pure; the night records it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score

from daybreak.models.promotion import decide_promotion
from daybreak.models.segmentation import SegmentationConfig, SegmentModel
from daybreak.models.segmentation.fitting import sample_rows


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
