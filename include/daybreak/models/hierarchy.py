"""The hierarchy a night's series form: the series ids define it (`total`; `location=A`;
`location=A|product_id=7`). The series with the most keys are the bottom, and a series whose keys are a strict
subset of theirs (the total has none) is the parent of every bottom series that agrees with it on those keys.
`daybreak.models.reconciliation` makes the forecasts coherent on it, with one of the `METHODS` that apply to it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import sparse

TOTAL = "total"
METHODS = (
    "bottom_up",
    "top_down_forecast_proportions",
    "top_down_average_proportions",
    "min_trace_ols",
    "min_trace_wls_struct",
)
DEFAULT_METHOD = "bottom_up"
"""What a night reconciles with before any backtest has chosen (the simplest coherent method)."""
DENSE_LIMIT = 3000
"""Above this many series in the hierarchy only bottom-up is offered, on the sparse S (BottomUpSparse): the other
methods need S, P and the interval's S P as dense matrices (at 50,000 series, 20 GB each)."""


@dataclasses.dataclass(frozen=True)
class Hierarchy:
    """The summing structure of a set of series.

    Args:
        series: S's rows: the parents (fewest keys first, then by id), then the bottom series (by id).
        bottom: the bottom series, S's columns.
        S: the summing matrix (sparse), `len(series) x len(bottom)`, 1 where a bottom series counts towards a
            row's series.
        levels: level name (`total`, `location`, `location/product_id`, ...) -> its series.
    """

    series: tuple[str, ...]
    bottom: tuple[str, ...]
    S: sparse.csr_matrix
    levels: dict[str, tuple[str, ...]]

    @property
    def parents(self) -> dict[str, tuple[str, ...]]:
        """Each parent -> the bottom series it sums."""
        n_parents = len(self.series) - len(self.bottom)
        return {self.series[i]: tuple(self.bottom[j] for j in self.S[i].indices) for i in range(n_parents)}

    def tags(self) -> dict[str, np.ndarray]:
        """hierarchicalforecast's tags: level -> row indices of S."""
        index = {s: i for i, s in enumerate(self.series)}
        return {level: np.array([index[s] for s in ids]) for level, ids in self.levels.items()}

    @property
    def has_single_top(self) -> bool:
        return bool(self.S.shape[0] and self.S.sum(axis=1).max() == len(self.bottom))

    @property
    def is_strict(self) -> bool:
        """A tree with one top: every level above the bottom splits the bottom series, each into exactly one of its
        nodes (the top-down methods need it; a grouped structure, locations and products, is not one)."""
        keys = sorted((set(level.split("/")) - {TOTAL} for level in self.levels), key=len)
        nested = all(a < b for a, b in zip(keys, keys[1:], strict=False))
        return (
            self.has_single_top
            and nested
            and all((np.asarray(self.S[index].sum(axis=0)) == 1).all() for index in self.tags().values())
        )

    def methods(self) -> tuple[str, ...]:
        """The methods that apply to this structure, in `METHODS` order (the tie-break)."""
        if len(self.series) > DENSE_LIMIT:
            return (DEFAULT_METHOD,)
        return tuple(m for m in METHODS if not m.startswith("top_down") or self.is_strict)


def parse_series_id(series_id: str) -> dict[str, str] | None:
    """`total` -> {}; `location=A|product_id=7` -> {"location": "A", "product_id": "7"}; anything else -> None."""
    if series_id == TOTAL:
        return {}
    parts = [part.partition("=") for part in series_id.split("|")]
    if not all(key and sep for key, sep, _ in parts):
        return None
    keys = {key: value for key, _, value in parts}
    return keys if len(keys) == len(parts) else None


def build_hierarchy(series_ids, *, complete: bool = True) -> Hierarchy | None:
    """The hierarchy the series ids define, or None when no series is the parent of another.

    Args:
        series_ids: the night's series.
        complete: whether the bottom series cover everything their parents count. False when the dataset limits
            its keyed series to some values (`series.include`, e.g. the five largest countries) while the total
            counts every sale: then no parent equals the sum of its forecast children, and nothing is reconciled.
    """
    if not complete:
        return None
    parsed = {s: k for s in sorted(set(map(str, series_ids))) if (k := parse_series_id(s)) is not None}
    if not parsed:
        return None
    width = max(len(k) for k in parsed.values())
    bottom_keys = {tuple(sorted(k)) for k in parsed.values() if len(k) == width}
    if width == 0 or len(bottom_keys) != 1:
        return None
    (key_set,) = bottom_keys
    bottom = tuple(s for s, k in parsed.items() if len(k) == width)
    parents = []
    for series_id, keys in parsed.items():
        if len(keys) < width and set(keys) < set(key_set):
            children = [j for j, b in enumerate(bottom) if all(parsed[b][k] == v for k, v in keys.items())]
            if children:
                parents.append((len(keys), series_id, children))
    if not parents:
        return None
    parents.sort()
    series = tuple(p[1] for p in parents) + bottom
    rows = np.concatenate([np.full(len(p[2]), i) for i, p in enumerate(parents)])
    columns = np.concatenate([p[2] for p in parents])
    upper = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(parents), len(bottom)))
    S = sparse.vstack([upper, sparse.identity(len(bottom), format="csr")], format="csr")
    levels: dict[str, list[str]] = {}
    for series_id in series:
        keys = parsed[series_id]
        levels.setdefault("/".join(sorted(keys)) or TOTAL, []).append(series_id)
    return Hierarchy(series, bottom, S, {name: tuple(ids) for name, ids in levels.items()})
