"""Segmentation at 10k, 100k and 1M customers: training and scoring time and peak memory.

Customer features are drawn from four made-up types shaped like the synthetic shop's (champion, loyal,
occasional, lapsed: recency, frequency, monetary, tenure, basket value) and written to Parquet, so every step reads
the same file. Each step runs in its own process, so its peak resident memory (`ru_maxrss`) is its own:

* baseline: read the file, log1p + standard scaling + one plain `KMeans(4, n_init=1)` fit and predict: the least
  a segmentation could do.
* train: read the file and `fit_segments` with the synthetic dataset's config (k chosen on a 5,000-customer
  sample over 3..8 segments, the final fit on everyone; MiniBatchKMeans above 200,000 customers).
* score: read the file, load the trained model, `assign` in batches of `score_batch_size` (100,000) and write
  `predictions.customer_segments` for the date through the segment job's own table shaping and
  `replace_partition` into a fresh DuckDB file.

Figures are printed as seconds, MiB and ratios to the baseline of the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (10_000, 100_000, 1_000_000)
# share, recency mean (days), orders mean, basket mean, tenure mean
TYPES = (
    (0.05, 14, 54, 1500.0, 700),
    (0.20, 38, 17, 320.0, 660),
    (0.55, 124, 5, 30.0, 550),
    (0.20, 570, 4, 290.0, 630),
)


def generate(n: int, path: Path, seed: int = 7) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    kind = rng.choice(len(TYPES), size=n, p=[t[0] for t in TYPES])
    table = np.array([t[1:] for t in TYPES])[kind]
    frequency = np.maximum(1, rng.poisson(table[:, 1]))
    basket = table[:, 2] * rng.lognormal(0, 0.35, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(n)],
            "recency_days": np.minimum(rng.exponential(table[:, 0]), 730).astype(int),
            "frequency": frequency,
            "monetary": frequency * basket,
            "tenure_days": np.minimum(table[:, 3] * rng.uniform(0.7, 1.1, n), 730).astype(int),
            "avg_basket_value": basket,
        }
    )
    frame.to_parquet(path, index=False)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(step: str, workdir: Path) -> dict:
    import datetime as dt

    import pandas as pd

    features = pd.read_parquet(workdir / "features.parquet")
    started = time.perf_counter()
    if step == "baseline":
        import numpy as np
        from sklearn.cluster import KMeans
        from sklearn.preprocessing import StandardScaler

        matrix = features[["recency_days", "frequency", "monetary", "avg_basket_value"]].to_numpy(float)
        matrix[:, 1:] = np.log1p(matrix[:, 1:])
        scaled = StandardScaler().fit_transform(matrix)
        KMeans(n_clusters=4, n_init=1, random_state=0).fit(scaled).predict(scaled)
        return {"seconds": time.perf_counter() - started, "peak_mib": _peak_mib()}

    import joblib

    from daybreak.datasets import load_dataset_config
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.segmentation.fitting import fit_segments

    spec = load_dataset_config("synthetic").segmentation
    if step == "train":
        model, report = fit_segments(features, spec, DEFAULT_SEED)
        seconds = time.perf_counter() - started
        joblib.dump(model, workdir / "model.joblib")
        return {
            "seconds": seconds,
            "peak_mib": _peak_mib(),
            "k": report.k,
            "cluster": type(model.pipeline[-1]).__name__,
        }

    from daybreak.warehouse.connection import connect
    from daybreak.warehouse.writes import replace_partition
    from jobs.segment import segments_table

    model = joblib.load(workdir / "model.joblib")
    day = dt.date(2024, 12, 31)
    assignments = model.assign(features, spec.score_batch_size)
    scored = time.perf_counter() - started
    frame = segments_table(assignments, day, model_version="bench", run_id="bench")
    with connect(workdir / "bench.duckdb") as connection:
        replace_partition(
            connection, "predictions.customer_segments", frame, key_column="as_of_date", key_value=day
        )
    return {"seconds": time.perf_counter() - started, "assign_seconds": scored, "peak_mib": _peak_mib()}


def run_child(step: str, workdir: Path) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.segmentation", "--child", step, "--workdir", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench segmentation", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="customers, comma-separated")
    parser.add_argument("--child", choices=("baseline", "train", "score"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, Path(args.workdir))))
        return 0

    print(f"{'customers':>10} {'step':<9} {'seconds':>8} {'x base':>7} {'peak MiB':>9} {'x base':>7}  note")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="daybreak-bench-seg-") as tmp:
            workdir = Path(tmp)
            generate(n, workdir / "features.parquet")
            base = run_child("baseline", workdir)
            train = run_child("train", workdir)
            score = run_child("score", workdir)
            print(
                f"{n:>10,} {'baseline':<9} {base['seconds']:8.2f} {1:7.1f} {base['peak_mib']:9.0f} {1:7.1f}"
            )
            for step, result, note in (
                ("train", train, f"k={train['k']}, {train['cluster']}"),
                ("score", score, f"assign {score['assign_seconds']:.2f} s, then the DuckDB write"),
            ):
                print(
                    f"{'':>10} {step:<9} {result['seconds']:8.2f} {result['seconds'] / base['seconds']:7.1f} "
                    f"{result['peak_mib']:9.0f} {result['peak_mib'] / base['peak_mib']:7.1f}  {note}"
                )
            sys.stdout.flush()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
