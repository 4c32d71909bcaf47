"""The one write the dashboards make: a planner's override of a forecast, and its revoke.

Outside the read-only window (`data`) on purpose. An override is recorded in the planners' log outside the
warehouse (`daybreak.nights.overrides`), never in the serving copy; the next forecast night applies it. Recording
and revoking need the viewer's `overrides` permission (`identity.require`), and the audit names the viewer as
its author. The log is read back here too, fresh on every call, as a planner expects to see the override they
just recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import identity
from data import series

from daybreak.core.roles import Permission
from daybreak.core.settings import Settings, get_settings
from daybreak.nights import overrides

if TYPE_CHECKING:
    import pandas as pd


def override_log() -> pd.DataFrame:
    """Every override in the planners' log, with its state (`daybreak.nights.overrides.current`)."""
    return overrides.current(get_settings())


def record_override(**request: object) -> dict:
    """Record an override (`daybreak.nights.overrides.add`) as the viewing user, who needs the overrides permission;
    dated with the newest published forecasts, what the planner was looking at.

    Raises:
        PermissionDenied: the role cannot override.
        OverrideError: a request that cannot be recorded.
    """
    settings = get_settings()
    return overrides.add(
        settings,
        **request,
        author=_author(identity.require(Permission.OVERRIDES), settings),
        now=dt.datetime.now(dt.UTC),  # the audit's record time
        as_of_date=series.latest_night(),  # the forecasts on screen: the nights after them apply it
    )


def revoke_override(override_id: str, reason: str) -> dict:
    """Revoke an override (`daybreak.nights.overrides.revoke`) as the viewing user, who needs the overrides permission.

    Raises:
        PermissionDenied: the role cannot override.
        OverrideError: no such active override, or no reason.
    """
    settings = get_settings()
    return overrides.revoke(
        settings,
        override_id,
        reason=reason,
        author=_author(identity.require(Permission.OVERRIDES), settings),
        now=dt.datetime.now(dt.UTC),
        as_of_date=series.latest_night(),
    )


def _author(user: identity.User, settings: Settings) -> str:
    """The name an override's audit records: a local user labelled so, since nobody authenticated them."""
    return overrides.local_planner(settings) if user.source == "local" else str(user.name)
