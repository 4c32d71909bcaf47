"""Customer value: who is still a customer, how many purchases each will make and what they will spend.

The buy-till-you-die models of the literature, from PyMC-Marketing's CLV module: BG/NBD (Fader, Hardie & Lee
2005) for the number of future purchases and the probability a customer is still active, Gamma-Gamma for the
spend per purchase, both fitted on each customer's frequency, recency, age and mean repeat spend (`summarise`).
They are fitted by their maximum a posteriori point, not sampled, and scored with their closed forms in numpy,
so a night scores a million customers in seconds and a champion is a few floats.

Everything here is pure: DataFrame in, DataFrame out, deterministic, no I/O. One idea per module:

* `summary`: purchases (customer, date, revenue) to the per-customer summary the models read;
* `formulas`: the closed forms (P(alive), expected purchases, their exact predictive quantiles, expected spend);
* `model`: the fitted model, parameters only; `fitting`: the fit through the library;
* `scoring`: a score per customer over a horizon; `backtest`: calibration / holdout against two baselines.
"""

from daybreak.models.customer_value.backtest import CALIBRATION_COLUMNS, Backtest, backtest
from daybreak.models.customer_value.fitting import fit
from daybreak.models.customer_value.model import MODEL_NAME, CustomerValueModel
from daybreak.models.customer_value.scoring import SCORE_COLUMNS, score
from daybreak.models.customer_value.summary import SUMMARY_COLUMNS, summarise

__all__ = [
    "CALIBRATION_COLUMNS",
    "MODEL_NAME",
    "SCORE_COLUMNS",
    "SUMMARY_COLUMNS",
    "Backtest",
    "CustomerValueModel",
    "backtest",
    "fit",
    "score",
    "summarise",
]
