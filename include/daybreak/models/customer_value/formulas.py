"""The closed forms of BG/NBD and Gamma-Gamma, in numpy over arrays of customers.

The library's own predictive methods build an xarray per call over the fitted parameters' chains and draws, which
is right for a posterior but slow for a million customers and one point estimate; these are the same formulas
(Fader, Hardie & Lee 2005, eq. 10; Fader, Hardie & Lee 2008, P(alive); Fader & Hardie 2013, Gamma-Gamma eq. 5)
evaluated once per customer, and the tests check they agree with the library's on a sample.

The predictive distribution of the number of purchases in (T, T + t] is exact too. Given the history, a customer
is alive with probability P(alive); given alive, the BG/NBD posterior splits into independent parts: the purchase
rate is Gamma(r + x, alpha + T) and the dropout probability Beta(a, b + x). An alive customer's purchases over t
are min(N, K): N purchases of a Poisson process (negative binomial once the rate is integrated out) and K the
purchase after which they drop out (geometric; beta-geometric once p is integrated out). So
P(X = k | alive) = NB(k) P(K > k) + P(N >= k) P(K = k), computed by recurrences in k for all customers at once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit, hyp2f1


class BetaGeo(NamedTuple):
    """Fitted BG/NBD parameters: purchase rate ~ Gamma(r, alpha) (alpha in days), dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


class GammaGamma(NamedTuple):
    """Fitted Gamma-Gamma parameters of the spend per purchase."""

    p: float
    q: float
    v: float


class ObservedSpend(NamedTuple):
    """The spend per purchase where Gamma-Gamma has no finite mean: each customer's own mean repeat spend.

    Gamma-Gamma's population mean spend is v p / (q - 1): a fit with q <= 1 says the customers' mean spends are
    too spread (a shop of retail and wholesale buyers, 100 times apart) for its one gamma mixing distribution, and
    its shrinkage weight p x / (p x + q - 1) is then 1 or more. What is left is the spend each repeat customer has
    shown, and the median of those for a customer with none (a median, as the mean of such a spread is its tail).

    Attributes:
        typical: the median mean repeat spend of the customers the spend model was fitted on.
        refused_q: the q of the refused Gamma-Gamma fit, kept to say why.
    """

    typical: float
    refused_q: float


def probability_alive(params: BetaGeo, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive at T) given x repeat purchases, the last at t_x; 1 for a customer who never came back."""
    r, alpha, a, b = params
    log_odds_dead = (r + x) * np.log((alpha + T) / (alpha + t_x)) + np.log(a / (b + np.maximum(x, 1) - 1))
    return np.where(x == 0, 1.0, expit(-log_odds_dead))


def expected_purchases(
    params: BetaGeo, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float
) -> np.ndarray:
    """E[purchases in (T, T + t]] given the history (eq. 10 of Fader, Hardie & Lee 2005).

    The paper's ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; a + b + x - 1; z) is rewritten by
    Euler's transformation as ((alpha + T) / (alpha + T + t))^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z):
    the same value (to 1e-9 against the library), but finite for heavy buyers over long horizons, where the power
    underflows and the 2F1 overflows (the "#NUM!" of Fader & Hardie's note 027).
    """
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    with np.errstate(invalid="ignore", over="ignore"):
        numerator = 1 - ((alpha + T) / (alpha + T + t)) ** (a - 1) * hyp2f1(
            a + b - 1 - r, a - 1, a + b + x - 1, z
        )
    numerator *= (a + b + x - 1) / (a - 1)
    denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    exact = numerator / denominator
    unusable = ~np.isfinite(exact)
    if unusable.any():
        exact[unusable] = _with_a_sure_dropout(params, x, t_x, T, t)[unusable]
    return exact


def _with_a_sure_dropout(
    params: BetaGeo, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float
) -> np.ndarray:
    """E[purchases in (T, T + t]] with the dropout probability fixed at its posterior mean a / (a + b + x).

    Where a data set shows no visible drop-out, the fit's a and b grow large (1e4 to 1e7) with a / (a + b) steady:
    Beta(a, b + x) is then all but a point, eq. 10's power underflows and its 2F1 overflows even after Euler's
    transformation. Given alive, rate lambda and dropout p, the expected purchases are (1 - exp(-lambda p t)) / p;
    over lambda ~ Gamma(r + x, alpha + T) that is (1 - ((alpha + T) / (alpha + T + p t))^(r + x)) / p, times
    P(alive). Its error against eq. 10 is of order 1 / (a + b): 1e-5 relative at a + b = 7,000 (the tests).
    """
    r, alpha, a, b = params
    dropout = a / (a + b + x)
    alive_purchases = -np.expm1((r + x) * np.log((alpha + T) / (alpha + T + dropout * t))) / dropout
    return probability_alive(params, x, t_x, T) * alive_purchases


def purchase_quantiles(
    params: BetaGeo,
    x: np.ndarray,
    alive: np.ndarray,
    T: np.ndarray,
    t: float,
    levels: tuple[float, float] = (0.1, 0.9),
    max_purchases: int = 10_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper quantiles of the number of purchases in (T, T + t], from its exact distribution.

    Only the customers whose upper quantile is not reached yet stay in the loop, so the cost is about one pass
    per purchase count the heaviest buyer reaches, over fewer and fewer customers.

    Args:
        alive: `probability_alive` of each customer (the rest of the mass is at zero purchases).
        levels: the two cumulative probabilities; (0.1, 0.9) is the 80% interval.
        max_purchases: where the loop stops for a customer whose rate makes even this unlikely to be enough.
    """
    r, alpha, a, b = params
    low_level, high_level = levels
    n = len(x)
    lower = np.full(n, float(max_purchases))
    upper = np.full(n, float(max_purchases))
    shape = r + x
    odds = t / (alpha + T + t)  # the negative binomial's success probability
    b_x = b + x
    log_nb = shape * np.log1p(-odds)  # log NB(0): in logs, as a heavy buyer's NB(0) can underflow
    log_odds = np.log(odds)
    nb = np.exp(log_nb)
    nb_sf = np.ones(n)  # P(N >= k)
    survive = np.ones(n)  # P(K > k) = E[(1 - p)^k]
    cdf = (1 - alive) + alive * nb  # P(X = 0)
    rows = np.arange(n)
    low_found = np.zeros(n, dtype=bool)
    for k in range(max_purchases + 1):
        newly = ~low_found & (cdf >= low_level)
        lower[rows[newly]] = k
        low_found |= newly
        done = cdf >= high_level
        upper[rows[done]] = k
        if done.all():
            break
        keep = ~done
        rows, shape, log_odds, b_x, log_nb, nb, nb_sf, survive, cdf, alive, low_found = (
            v[keep] for v in (rows, shape, log_odds, b_x, log_nb, nb, nb_sf, survive, cdf, alive, low_found)
        )
        # step to k + 1: P(N >= k + 1), NB(k + 1), P(K > k + 1) and P(K = k + 1) = P(K > k) - P(K > k + 1)
        nb_sf = nb_sf - nb
        log_nb = log_nb + np.log((shape + k) / (k + 1)) + log_odds
        nb = np.exp(log_nb)
        survive_next = survive * (b_x + k) / (a + b_x + k)
        cdf = cdf + alive * (nb * survive_next + nb_sf * (survive - survive_next))
        survive = survive_next
    return lower, upper


def expected_spend(params: GammaGamma | ObservedSpend, x: np.ndarray, mean_spend: np.ndarray) -> np.ndarray:
    """E[spend per purchase]: the customer's mean repeat spend shrunk towards the population's by their count.

    A customer without repeat purchases, or whose repeat days net to nothing or less (returns), has no spend the
    model can read (Gamma-Gamma is fitted on positive means only) and gets the population's mean. Under
    `ObservedSpend` nothing is shrunk and the population's value is the median.
    """
    known = (x > 0) & (mean_spend > 0)
    if isinstance(params, ObservedSpend):
        return np.where(known, mean_spend, params.typical)
    p, q, v = params
    weight = np.where(known, p * x / (p * x + q - 1), 0.0)
    population = v * p / (q - 1)
    return (1 - weight) * population + weight * np.where(known, mean_spend, 0.0)
