"""Review (planners): adjust a series' forecast for a range of dates, with a reason; see, and revoke, overrides.

An override is recorded in the planners' log outside the warehouse (`daybreak.nights.overrides`); the dashboards
never write the warehouse. The next forecast night applies it: `predictions.forecasts` then holds the model's and
the final value side by side, and `planning.overrides` the audit. Who overrides is the viewing user
(`identity.current_user`: Streamlit's OIDC login when `[auth]` is configured in `.streamlit/secrets.toml`, the user
the production proxy authenticated, or (the demo) the labelled local fallback, `DAYBREAK_USER` or the
operating-system user), and only roles with the `overrides` permission may (`daybreak.core.roles`): the navigation
hides this page from the others, reached anyway it says so, and `planner_overrides.record_override` and
`revoke_override` check the permission again.
"""

from __future__ import annotations

import datetime as dt

import charts
import formatting as fmt
import guards
import identity
import pandas as pd
import planner_overrides
import streamlit as st
from data import review, series
from data.relations import Relation

from daybreak.core.roles import Permission
from daybreak.nights import overrides

REQUIRED_TABLES = (Relation.FORECASTS,)
DEFAULT_DAYS = 7
REVOKED_NOTICE = "review_revoked_notice"  # session state carrying a revoke's confirmation into the rerun
STATUS_COLORS = {"pending": charts.ACCENT, "applied": charts.GOOD, "revoked": "#90a4ae"}


def render() -> None:
    st.title("Review forecasts")
    if not guards.allowed(Permission.OVERRIDES, "reviewing and overriding forecasts"):
        return
    user = identity.current_user()
    if user.source == "local":
        st.caption(
            f"Acting as **{user.name} (local)**: the local sign-in (`DAYBREAK_USER` or the OS user). In "
            "production, planners are the users the dashboards' proxy or OIDC login (`[auth]` in "
            "`.streamlit/secrets.toml`) authenticated."
        )
    if not guards.published(*REQUIRED_TABLES):
        return
    guards.published_caption()
    series_ids = series.list_series()
    as_of = series.latest_night()
    if not series_ids or as_of is None:
        guards.nothing_yet("No forecasts are published yet.", "Planners review them after the first night.")
        return
    _add_form(series_ids, as_of)
    _log()


def _add_form(series_ids: list[str], as_of: dt.date) -> None:
    st.subheader("Override a forecast")
    with st.form("override", clear_on_submit=False, border=True):
        series_id = st.selectbox("Series", series_ids, format_func=fmt.series_label, key="override_series")
        first = as_of + dt.timedelta(days=1)
        dates = st.date_input(
            "Target dates",
            value=(first, first + dt.timedelta(days=DEFAULT_DAYS - 1)),
            key="override_dates",
            help="The forecast days to override, both inclusive.",
        )
        kind = st.radio(
            "Adjust by",
            ["percent", "value"],
            format_func={"percent": "a percentage of the model's forecast", "value": "a value per day"}.get,
            horizontal=True,
            key="override_kind",
        )
        amount = st.number_input("Amount (% or per day)", value=10.0, step=1.0, key="override_amount")
        reason = st.text_input(
            "Reason", key="override_reason", placeholder="e.g. summer promotion, store closed"
        )
        submitted = st.form_submit_button("Record override", icon=":material/edit_note:")
    if not submitted:
        return
    if not isinstance(dates, tuple) or len(dates) != 2:
        st.error("Pick a first and a last target date.")
        return
    try:
        record = planner_overrides.record_override(
            series_id=series_id,
            start_date=dates[0],
            end_date=dates[1],
            kind=kind,
            amount=float(amount),
            reason=reason,
        )
    except overrides.OverrideError as error:
        st.error(f"Not recorded: {error}.")
        return
    st.success(
        f"Recorded **{record['override_id']}**: {fmt.series_label(series_id)}, {fmt.day(dates[0])} to "
        f"{fmt.day(dates[1])}. The next nightly run applies it.",
        icon=":material/check_circle:",
    )


def _log() -> None:
    st.subheader("Overrides")
    if notice := st.session_state.pop(REVOKED_NOTICE, None):
        st.success(notice, icon=":material/undo:")
    log = planner_overrides.override_log()
    if log.empty:
        st.caption("No override has been recorded yet.")
        return
    applied = review.override_applications().set_index("override_id")
    frame = pd.DataFrame(
        {
            "override_id": log["override_id"].astype(str),
            "series": log["series_id"].astype(str).map(fmt.series_label),
            "start": pd.to_datetime(log["start_date"].astype(str)),
            "end": pd.to_datetime(log["end_date"].astype(str)) + pd.Timedelta(days=1),
            "change": [
                _change(kind, amount) for kind, amount in zip(log["kind"], log["amount"], strict=True)
            ],
            "reason": log["reason"].astype(str),
            "author": log["author"].astype(str),
            "recorded": log["created_at"].astype(str),
            "status": [
                "revoked" if status == "revoked" else "applied" if oid in applied.index else "pending"
                for status, oid in zip(log["status"], log["override_id"], strict=True)
            ],
        }
    )
    frame["nights"] = frame["override_id"].map(applied["nights"]).fillna(0).astype(int)
    st.caption(
        "Each override's target dates. Pending: recorded, waiting for the next night. Applied: in the published "
        "forecasts (the Forecast explorer shows it beside the model's). Revoked: no longer applied."
    )
    spec = {
        "mark": {"type": "bar", "cornerRadius": 3, "height": 18},
        "encoding": {
            "x": charts.field(
                "start:T", title=None, axis=charts.day_axis(pd.concat([frame["start"], frame["end"]]))
            ),
            "x2": {"field": "end"},
            "y": charts.field("override_id:N", title=None),
            "color": charts.field(
                "status:N", scale=charts.scale(STATUS_COLORS), legend={"orient": "top", "title": None}
            ),
            "tooltip": [
                charts.field(name)
                for name in (
                    "override_id:N",
                    "series:N",
                    "change:N",
                    "reason:N",
                    "author:N",
                    "recorded:N",
                    "nights:Q",
                )
            ],
        },
        "height": 34 * len(frame) + 50,
    }
    charts.draw(spec, frame)
    charts.table(
        frame.drop(columns=["start", "end"]).assign(
            first=log["start_date"].astype(str).to_numpy(), last=log["end_date"].astype(str).to_numpy()
        ),
        hide_index=True,
        width="stretch",
    )
    active = frame.loc[frame["status"] != "revoked", "override_id"].tolist()
    if not active:
        return
    with st.form("revoke", border=True):
        st.markdown("**Revoke an override** (the next night forecasts with the model's value again)")
        override_id = st.selectbox("Override", active, key="revoke_id")
        reason = st.text_input("Why", key="revoke_reason")
        revoked = st.form_submit_button("Revoke", icon=":material/undo:")
    if revoked:
        try:
            planner_overrides.revoke_override(override_id, reason)
        except overrides.OverrideError as error:
            st.error(f"Not revoked: {error}.")
            return
        # the log above was drawn before the revoke: run the page again so it reads "revoked", and say so there
        st.session_state[REVOKED_NOTICE] = (
            f"Revoked **{override_id}**; the next nightly run stops applying it."
        )
        st.rerun()


def _change(kind: str, amount: float) -> str:
    """`up 8%`, `down 5%`, `7,000 a day`: words, which a spreadsheet never reads as a formula as it would `+8%`."""
    if kind == "percent":
        return f"{'up' if amount >= 0 else 'down'} {abs(amount):g}%"
    return f"{amount:,.0f} a day"


render()
