"""Fitting BG/NBD and Gamma-Gamma with PyMC-Marketing by their maximum a posteriori point (`method="map"`).

Both models get flat priors, so the point is the maximum likelihood estimate `lifetimes` and BTYD report, and it
does not depend on the unit of time the way PyMC-Marketing's default Weibull priors (set for weeks) would. MAP
is an L-BFGS optimisation from the model's fixed initial point: no sampling, the same summary gives the same
parameters. Full posterior sampling would give parameter uncertainty too, at minutes per fit; the 80% intervals
here are the customers' own predictive spread given the point estimate (see `formulas.purchase_quantiles`).
"""

from __future__ import annotations

import logging
import time
import warnings
from contextlib import contextmanager
from importlib.metadata import version

import numpy as np
import pandas as pd

from daybreak.models import DEFAULT_SEED
from daybreak.models.customer_value.formulas import BetaGeo, GammaGamma, ObservedSpend
from daybreak.models.customer_value.model import CustomerValueModel
from daybreak.models.customer_value.summary import SUMMARY_COLUMNS

LIBRARY = "pymc-marketing"
log = logging.getLogger(__name__)


def check_summary(summary: pd.DataFrame) -> None:
    """Raise ValueError when `summary` lacks a summary column or breaks the models' assumptions."""
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"the customer summary lacks {missing}; expected {list(SUMMARY_COLUMNS)}")
    frequency, recency, age = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    if (frequency < 0).any() or (recency < 0).any() or (recency > age).any():
        raise ValueError("the customer summary needs 0 <= frequency and 0 <= recency <= T on every row")


def fit(summary: pd.DataFrame, seed: int = DEFAULT_SEED) -> CustomerValueModel:
    """Fit the purchase and the spend model on a customer summary (`summarise`).

    Args:
        summary: `SUMMARY_COLUMNS`, one row per customer.
        seed: passed to the optimiser; the fit is deterministic either way.

    Raises:
        ValueError: a missing column, an impossible row, no customer with a repeat purchase of positive value
            (neither model can be fitted without one), or a fit that did not reach usable parameters. A
            Gamma-Gamma fit without a finite mean (q <= 1) is not an error: the spend becomes `ObservedSpend`.
    """
    check_summary(summary)
    frame = summary.loc[:, list(SUMMARY_COLUMNS)].reset_index(drop=True)
    frame[["frequency", "recency", "T", "monetary_value"]] = frame[
        ["frequency", "recency", "T", "monetary_value"]
    ].astype(float)
    repeat = frame[(frame["frequency"] > 0) & (frame["monetary_value"] > 0)]
    if repeat.empty:
        raise ValueError("no customer has a repeat purchase of positive value: nothing to fit the models on")
    with _quiet():
        # PyMC-Marketing (PyMC, PyTensor, ArviZ) takes seconds to import: only fitting needs it, scoring does not
        from pymc_extras.prior import Prior
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

        started = time.perf_counter()
        purchases = BetaGeoModel(model_config={p: Prior("HalfFlat") for p in ("r", "alpha", "a", "b")})
        purchases.fit(data=frame, method="map", progressbar=False, seed=seed)
        spend = GammaGammaModel(model_config={p: Prior("HalfFlat") for p in ("p", "q", "v")})
        spend.fit(data=repeat.reset_index(drop=True), method="map", progressbar=False, seed=seed)
        seconds = time.perf_counter() - started
    purchase_params = BetaGeo(*(_point(purchases, p) for p in ("r", "alpha", "a", "b")))
    spend_params = GammaGamma(*(_point(spend, p) for p in ("p", "q", "v")))
    if not all(np.isfinite(v) and v > 0 for v in (*purchase_params, *spend_params)):
        raise ValueError(f"the fit did not converge: BG/NBD {purchase_params}, Gamma-Gamma {spend_params}")
    if spend_params.q <= 1:
        log.warning(
            "Gamma-Gamma has no finite mean spend (q = %.3g <= 1): each customer's own mean spend is used instead",
            spend_params.q,
        )
        typical = float(np.median(repeat["monetary_value"].to_numpy()))
        spend_params = ObservedSpend(typical=typical, refused_q=spend_params.q)
    return CustomerValueModel(
        purchases=purchase_params,
        spend=spend_params,
        library=f"{LIBRARY} {version(LIBRARY)}",
        customers=len(frame),
        spend_customers=len(repeat),
        seed=seed,
        fit_seconds=seconds,
    )


def _point(model, parameter: str) -> float:
    return float(np.asarray(model.fit_result[parameter]).ravel()[0])


@contextmanager
def _quiet():
    """The library's import-time notices (ArviZ's refactor) and the optimiser's log lines stay out of night logs."""
    logger = logging.getLogger("pymc")
    level = logger.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            logger.setLevel(level)
