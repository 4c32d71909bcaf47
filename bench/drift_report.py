"""A drift report on 1 million rows by 20 columns (15 numbers, 5 categories), as monitoring makes it.

Monitoring never hands Evidently a whole table: each side is first reduced by the sampling rule of
`daybreak.nights.references.sample` (the rows with the smallest pandas hash of their key under a fixed 16-byte seed, at most
`monitoring.reference_rows` = 5,000 by default, here also 50,000), then `daybreak.models.drift.feature_drift`
runs Evidently's DataDriftPreset (Wasserstein for numbers, Jensen-Shannon for categories) and the HTML is
rendered. Half of the columns of the current side are shifted, so the report has drift to show.

Baseline: the least a drift check could do on the full data, a pandas mean and standard deviation per numeric
column of both sides. Figures are seconds and ratios to it.
"""

from __future__ import annotations

import argparse
import time

ROWS, NUMERIC, CATEGORICAL = 1_000_000, 15, 5


def frames(rows: int, seed: int = 11):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def side(shift: float) -> pd.DataFrame:
        data = {"row_id": np.arange(rows)}
        for i in range(NUMERIC):
            data[f"n{i:02d}"] = rng.normal(shift if i % 2 else 0.0, 1.0, rows)
        for i in range(CATEGORICAL):
            p = [0.5, 0.3, 0.2] if not (i % 2 and shift) else [0.2, 0.3, 0.5]
            data[f"c{i}"] = rng.choice(np.array(["a", "b", "c"], dtype=object), size=rows, p=p)
        return pd.DataFrame(data)

    return side(0.0), side(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench drift_report")
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args(argv)

    from daybreak.models.drift import feature_drift
    from daybreak.nights import references

    reference, current = frames(args.rows)
    columns = [c for c in reference.columns if c != "row_id"]
    started = time.perf_counter()
    for frame in (reference, current):
        frame[columns[:NUMERIC]].agg(["mean", "std"])
    baseline = time.perf_counter() - started
    print(f"baseline: mean and std of {NUMERIC} numeric columns of 2 x {args.rows:,} rows: {baseline:.2f} s")
    print(
        f"{'sample per side':>16} {'sample s':>9} {'report s':>9} {'html s':>7} {'total s':>8} {'x baseline':>10} drifted"
    )
    for rows in (5_000, 50_000):
        started = time.perf_counter()
        ref = references.sample(reference, rows, "row_id")[columns]
        cur = references.sample(current, rows, "row_id")[columns]
        sampled = time.perf_counter()
        found, snapshot = feature_drift(ref, cur, numeric_threshold=0.1, categorical_threshold=0.1)
        reported = time.perf_counter()
        snapshot.get_html_str(as_iframe=False)
        done = time.perf_counter()
        total = done - started
        print(
            f"{rows:>16,} {sampled - started:>9.2f} {reported - sampled:>9.2f} {done - reported:>7.2f} "
            f"{total:>8.2f} {total / baseline:>10.1f} {int(found['drifted'].sum())}/{len(found)}"
        )
    return 0
