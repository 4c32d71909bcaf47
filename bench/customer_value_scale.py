"""Customer value at scale: fitting and scoring a million customers' summaries.

Summaries are simulated from the BG/NBD and Gamma-Gamma processes themselves (seeded; parameters near what
Online Retail fits, in days, some dropout), so the fit can be checked against the parameters that made them:
each customer's purchase rate and dropout probability are drawn, their repeat purchases over an age of 1 to 730
days are the first of a Poisson process and the purchase they drop out after, and their mean spend is drawn from
Gamma-Gamma. The summary is written to Parquet, then, timed separately in this one process:

* baseline: read the summary file (the least a scoring night does with these rows);
* score: read the file and `score` every customer over `--horizon` days (probability active, expected purchases
  and revenue, the 80% intervals from the exact predictive distribution): the issue's budget is 60 s for 1M;
* fit: `fit` on every customer (BG/NBD and Gamma-Gamma by MAP with PyMC-Marketing, including its compile).

Figures are seconds and ratios to the baseline of the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TRUE_PURCHASES = {"r": 0.75, "alpha": 60.0, "a": 0.8, "b": 4.0}
TRUE_SPEND = {"p": 3.0, "q": 3.2, "v": 300.0}
MAX_AGE_DAYS = 730


def simulate(n: int, seed: int = 7) -> pd.DataFrame:
    """`SUMMARY_COLUMNS` of `n` customers drawn from BG/NBD + Gamma-Gamma with the parameters above."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = TRUE_PURCHASES.values()
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    age = rng.integers(1, MAX_AGE_DAYS + 1, n).astype(float)
    arrivals = rng.poisson(rate * age)
    last_before_dropout = rng.geometric(dropout)  # the repeat purchase after which the customer drops out
    frequency = np.minimum(arrivals, last_before_dropout)
    # the x-th of n uniform arrival times in (0, T] is T times a Beta(x, n - x + 1) draw
    has = frequency > 0
    recency = np.zeros(n)
    recency[has] = np.floor(age[has] * rng.beta(frequency[has], arrivals[has] - frequency[has] + 1))
    p, q, v = TRUE_SPEND.values()
    spend_scale = rng.gamma(q, 1 / v, n)
    mean_spend = np.zeros(n)
    mean_spend[has] = rng.gamma(p * frequency[has], 1 / (spend_scale[has] * frequency[has]))
    return pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.arange(n).astype(str)),
            "frequency": frequency.astype(float),
            "recency": recency,
            "T": age,
            "monetary_value": mean_spend,
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench customer_value_scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--horizon", type=int, default=90, help="days scored ahead (the night's default)")
    parser.add_argument("--no-fit", action="store_true", help="time the scoring only")
    args = parser.parse_args(argv)

    from daybreak.models.customer_value import fit, score
    from daybreak.models.customer_value.formulas import BetaGeo, GammaGamma
    from daybreak.models.customer_value.model import CustomerValueModel

    with tempfile.TemporaryDirectory(prefix="daybreak-bench-cv-") as tmp:
        path = Path(tmp) / "summary.parquet"
        started = time.perf_counter()
        simulate(args.customers).to_parquet(path, index=False)
        simulated = time.perf_counter() - started

        started = time.perf_counter()
        summary = pd.read_parquet(path)
        baseline = time.perf_counter() - started

        # scoring is timed with the true parameters, so it does not wait for the fit
        model = CustomerValueModel(
            BetaGeo(**TRUE_PURCHASES), GammaGamma(**TRUE_SPEND), "simulation", args.customers, 0, 0
        )
        started = time.perf_counter()
        scored = score(model, pd.read_parquet(path), args.horizon)
        scoring = time.perf_counter() - started

        fitted = None
        if not args.no_fit:
            started = time.perf_counter()
            fitted = fit(summary)
            fitting = time.perf_counter() - started

    print(f"customers {args.customers:,}, horizon {args.horizon} days (simulated in {simulated:.1f} s)")
    print(f"{'step':<9} {'seconds':>8} {'x base':>7}  note")
    print(f"{'baseline':<9} {baseline:8.2f} {1:7.1f}  read the summary Parquet")
    print(
        f"{'score':<9} {scoring:8.2f} {scoring / baseline:7.1f}  read + score; mean P(active) "
        f"{scored['probability_active'].mean():.3f}, mean purchases {scored['expected_purchases'].mean():.3f}, "
        f"widest interval {scored['purchases_upper_80'].max():.0f}"
    )
    if fitted is not None:
        print(
            f"{'fit':<9} {fitting:8.2f} {fitting / baseline:7.1f}  BG/NBD + Gamma-Gamma MAP, {fitted.library}; "
            f"spend on {fitted.spend_customers:,}"
        )
        for label, true, got in (
            ("BG/NBD", TRUE_PURCHASES, fitted.purchases._asdict()),
            ("Gamma-Gamma", TRUE_SPEND, fitted.spend._asdict()),
        ):
            pairs = ", ".join(f"{k} {got[k]:.3g} (true {true[k]:.3g})" for k in true)
            print(f"  {label}: {pairs}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
