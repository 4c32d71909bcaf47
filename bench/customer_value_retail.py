"""Customer value on Online Retail: the issue's acceptance backtest of BG/NBD + Gamma-Gamma.

Purchases are the non-cancelled product lines with a customer id (no `C` invoice, positive quantity and price, none
of the non-product codes of `online_retail.yml`), revenue summed per customer-day. The model is fitted on
2010-12-01..2011-06-30 and predicts each of those customers' purchases (days with an order) over the following
26 weeks, cut to the data's last day (2011-12-09) so that the prediction and the actuals cover the same days
(`--calibration-end` moves the split).
Printed: total predicted against actual repeat purchases, the per-customer mean absolute error of the model and
of the two baselines (each customer's calibration rate carried forward; the mean rate), the Spearman rank
correlation of predicted against actual revenue, the calibration table and the fit's seconds.
Acceptance: the model beats both baselines on MAE and its total is within 10% of the actual.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

from daybreak.core.environment import read

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT / read("DAYBREAK_SHARED_DATA") / "online_retail/online_retail.parquet"
CALIBRATION = (dt.date(2010, 12, 1), dt.date(2011, 6, 30))
HOLDOUT_WEEKS = 26


def purchases(source: Path) -> pd.DataFrame:
    """`customer_id, purchase_date, revenue` of the product sales with a customer."""
    from daybreak.datasets import load_dataset_config

    classification = load_dataset_config("online_retail").classification
    lines = pd.read_parquet(source)
    code = lines["StockCode"].astype(str)
    not_product = code.isin(list(classification.non_product_codes))
    for pattern in classification.non_product_patterns:
        not_product |= code.str.fullmatch(pattern.pattern)
    sale = (
        ~lines["InvoiceNo"].astype(str).str.startswith(classification.return_order_prefix)
        & (lines["Quantity"] > 0)
        & (lines["UnitPrice"] > 0)
        & lines["CustomerID"].notna()
        & ~not_product
    )
    lines = lines[sale & (lines["InvoiceDate"] >= pd.Timestamp(CALIBRATION[0]))]
    return pd.DataFrame(
        {
            "customer_id": lines["CustomerID"].astype("int64").astype(str).to_numpy(),
            "purchase_date": lines["InvoiceDate"].dt.date.to_numpy(),
            "revenue": (lines["Quantity"] * lines["UnitPrice"]).to_numpy(),
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench customer_value_retail", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="the Online Retail parquet file (default: under DAYBREAK_SHARED_DATA)",
    )
    parser.add_argument(
        "--calibration-end",
        type=dt.date.fromisoformat,
        default=CALIBRATION[1],
        help="another split, to tell the model from the season (the acceptance split is the default)",
    )
    args = parser.parse_args(argv)

    from daybreak.models.customer_value import backtest

    frame = purchases(args.source)
    last_day = max(frame["purchase_date"])
    calibration_end = args.calibration_end
    holdout_end = min(calibration_end + dt.timedelta(weeks=HOLDOUT_WEEKS), last_day)
    started = time.perf_counter()
    result = backtest(frame, calibration_end, holdout_end)
    seconds = time.perf_counter() - started
    model = result.model
    print(f"lines {len(frame):,}; calibration {CALIBRATION[0]}..{calibration_end}, holdout to {holdout_end}")
    print(f"customers {len(result.customers):,} (spend model on {model.spend_customers:,}), {model.library}")
    print(
        f"BG/NBD r={model.purchases.r:.4g} alpha={model.purchases.alpha:.4g} a={model.purchases.a:.4g} "
        f"b={model.purchases.b:.4g}; {model.name} spend {model.spend}"
    )
    print(f"holdout days {result.horizon_days}")
    print(
        f"repeat purchases: predicted {result.predicted_total:,.0f}, actual {result.actual_total:,.0f}, "
        f"error {100 * result.total_error:+.1f}%"
    )
    customers = result.customers
    print(
        f"baselines' totals: own calibration rate {customers['individual_rate'].sum():,.0f}, "
        f"mean rate {customers['mean_rate'].sum():,.0f}"
    )
    print(f"{'per-customer MAE':<36} {'':>8}")
    for label, value in (
        ("model (BG/NBD)", result.mae),
        ("baseline: own calibration rate", result.mae_individual_rate),
        ("baseline: mean rate", result.mae_mean_rate),
    ):
        print(f"  {label:<34} {value:8.3f}")
    print(f"revenue rank correlation (Spearman)  {result.revenue_spearman:8.3f}")
    print(f"fit seconds {model.fit_seconds:.1f} (backtest with scoring {seconds:.1f})")
    print(result.calibration.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    accepted = result.beats_baselines and abs(result.total_error) <= 0.10
    print(f"acceptance (beats both baselines, total within 10%): {'PASS' if accepted else 'FAIL'}")
    return 0 if accepted else 1


if __name__ == "__main__":
    sys.exit(main())
