"""The model families by name: the one place a family is registered, and where a spec is checked against it.

Adding a family is a module in `families/` and one line in `FAMILIES` (docs/model-families.md). Everything else
(the config's validation, the engine's fits, backtests and selection) finds a family here by its spec's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daybreak.models.forecasting.families import ensemble, global_lgbm, prophet, seasonal_naive, statsforecast
from daybreak.models.forecasting.family import Combination, Family, PanelFamily
from daybreak.models.forecasting.spec import CandidateError, CandidateSpec

ENSEMBLE = ensemble.Ensemble()
"""The combination a retrain night tries of its best candidates when `ensemble_top` asks for it."""
FAMILIES: dict[str, Family] = {
    registered.name: registered
    for registered in (
        seasonal_naive.SeasonalNaive(),
        prophet.Prophet(),
        statsforecast.AutoETS(),
        statsforecast.AutoARIMA(),
        statsforecast.MSTL(),
        statsforecast.Theta(),
        global_lgbm.GlobalLGBM(),
        ENSEMBLE,
    )
}
"""Every family, by name, in the order error messages list them."""
BASELINE = CandidateSpec(seasonal_naive.SeasonalNaive.name)
"""What every candidate must beat, always backtested, and the fallback of every failure: it fits on anything."""
DEFAULT_CANDIDATES = (BASELINE.name, prophet.Prophet.name)
"""What competes when a dataset config names no candidates."""


def family(name: str) -> Family:
    """The family registered as `name`.

    Raises:
        CandidateError: no family has that name (the message lists those that do).
    """
    try:
        return FAMILIES[name]
    except KeyError:
        names = [n for n, f in FAMILIES.items() if not isinstance(f, Combination)]
        raise CandidateError(f"unknown model {name!r}; candidates are {', '.join(names)}") from None


def check(candidate: CandidateSpec) -> CandidateSpec:
    """The spec validated against its family (its name, its parameters' names and values), params sorted so that
    equal specs compare equal.

    Raises:
        CandidateError: an unknown model, a parameter it does not take, or a value it cannot take.
    """
    name, params = candidate.name, dict(candidate.params)
    found = family(name)
    if unknown := sorted(set(params) - set(found.params)):
        raise CandidateError(
            f"{name} does not take {unknown}; it takes {list(found.params) or 'no parameters'}"
        )
    found.validate(params)
    return CandidateSpec(name, dict(sorted(params.items())))


def spec(name: str, **params: Any) -> CandidateSpec:
    """A checked spec: `spec("prophet", seasonality_mode="multiplicative")`."""
    return check(CandidateSpec(name, params))


def expand(name: str, params: Mapping[str, Any]) -> list[CandidateSpec]:
    """The checked specs one config entry (a model and its parameters) stands for (`Family.expand`)."""
    return [check(CandidateSpec(name, expanded)) for expanded in family(name).expand(dict(params))]


def across_series(candidate: CandidateSpec) -> bool:
    """Whether the candidate is fitted once across every series (a `PanelFamily`), not per series."""
    return isinstance(family(candidate.name), PanelFamily)
