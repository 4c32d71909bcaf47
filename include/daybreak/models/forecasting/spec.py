"""A candidate spec: a model family's name and its parameters, the one shape a model travels in.

The config lists candidates as specs, a night hands them to worker processes, the registry keeps a champion's as
`model_name` and `params` (JSON), and the selection compares them by value; so a spec is a frozen value: it
pickles, turns into the registry's JSON and back (`to_dict`, `from_dict`) and compares equal when its name and
parameters are. It is not checked here: `registry.check` validates one against its family.

A *search* spec (`auto_ets` with no `model`) lets the model choose its structure; a fit returns the *concrete*
spec it chose (`auto_ets` with `model: "ANA"`), which is what the registry keeps, so a later night refits the
same model on new data without searching again. A spec whose `members` parameter lists specs combines them (an
ensemble): the engine fits each member and hands the fits to the family (`family.Combination`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any


class CandidateError(ValueError):
    """A spec names an unknown model or a parameter the model does not take."""


@dataclasses.dataclass(frozen=True)
class CandidateSpec:
    """A model family's name and its parameters (JSON-ready values; a combination's members as mappings).

    Args:
        name: the family's name in the registry (`daybreak.models.forecasting.registry`).
        params: what the family takes (`Family.params`); a checked spec has them sorted by name.
    """

    name: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __hash__(self) -> int:  # the params are a mapping: hash the spec's JSON, which equal specs share
        return hash(json.dumps(self.to_dict(), sort_keys=True, default=str))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CandidateSpec:
        """From `{"name": ..., "params": {...}}` (the registry's row, an artifact, a config entry), as given."""
        return cls(str(data["name"]), dict(data.get("params") or {}))

    def to_dict(self) -> dict[str, Any]:
        """`{"name": ..., "params": {...}}`, as the registry and the artifacts store it."""
        return {"name": self.name, "params": dict(self.params)}

    @property
    def members(self) -> tuple[CandidateSpec, ...]:
        """The specs this one combines (an ensemble's), none for a single model."""
        return tuple(CandidateSpec.from_dict(member) for member in self.params.get("members") or ())

    @property
    def label(self) -> str:
        """A short, stable, readable name: `prophet(seasonality_mode=multiplicative)`, `ensemble(a + b)`."""
        if not self.params:
            return self.name
        if self.members:
            return f"{self.name}(" + " + ".join(member.label for member in self.members) + ")"
        inner = ",".join(f"{k}={_compact(v)}" for k, v in self.params.items())
        return f"{self.name}({inner})"


def _compact(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ",".join(_compact(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, dict) else str(value)
