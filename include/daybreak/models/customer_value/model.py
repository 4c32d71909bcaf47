"""The fitted customer-value model: a handful of floats and what made them, nothing of the library's objects.

Storing the point estimates rather than the library's model keeps a champion small, picklable with joblib and
loadable without importing PyMC (scoring is numpy, see `formulas`), whatever version of the library is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from daybreak.models.customer_value.formulas import BetaGeo, GammaGamma, ObservedSpend

MODEL_NAME = "bg_nbd+gamma_gamma"
"""What `predictions.customer_value.model` says: BG/NBD purchases, Gamma-Gamma spend."""
OBSERVED_SPEND_NAME = "bg_nbd+observed_spend"
"""What it says where Gamma-Gamma was refused (`ObservedSpend`): BG/NBD purchases, each customer's own spend."""


@dataclass(frozen=True)
class CustomerValueModel:
    """A fitted BG/NBD + Gamma-Gamma model.

    Attributes:
        purchases: the BG/NBD maximum a posteriori (flat priors, so the maximum likelihood) parameters, in days.
        spend: the Gamma-Gamma parameters, fitted on the customers with a repeat purchase of positive value, or
            `ObservedSpend` where that fit has no finite mean.
        library: the package that fitted them and its version (`pymc-marketing 0.19.2`).
        customers: customers the purchase model was fitted on.
        spend_customers: customers the spend model was fitted on.
        seed: the seed the fit was given.
        fit_seconds: the time the two fits took (the library compiles its model on each fit); a measurement,
            so two fits of the same summary still compare equal.
    """

    purchases: BetaGeo
    spend: GammaGamma | ObservedSpend
    library: str
    customers: int
    spend_customers: int
    seed: int
    fit_seconds: float = field(default=0.0, compare=False)

    @property
    def name(self) -> str:
        return OBSERVED_SPEND_NAME if isinstance(self.spend, ObservedSpend) else MODEL_NAME
