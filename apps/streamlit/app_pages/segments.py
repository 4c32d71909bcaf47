"""Segments: how the customer base splits and moves. Sizes and revenue share over time, what distinguishes each
segment, how many moved between two dates (aggregates, for every role), and one customer's history (customer-level:
only for roles with the `customers` permission, `daybreak.roles`).
"""

from __future__ import annotations

import altair as alt
import data
import formatting as fmt
import guards
import pandas as pd
import streamlit as st

from daybreak.roles import Permission

REQUIRED_TABLES = ("predictions.customer_segments", "predictions.segment_profiles")


def render() -> None:
    st.title("Segments")
    if not guards.published(*REQUIRED_TABLES):
        return
    guards.published_caption()
    sizes = data.segment_sizes()
    dates = data.segment_dates()
    if sizes.empty or not dates:
        guards.nothing_yet(
            "No customers have been segmented yet.",
            "The segmentation job scores customers on nights it runs (the dataset needs customer ids); run a night "
            "with `make demo` and reload.",
        )
        return
    _sizes(sizes)
    _profiles(sizes)
    _transitions(dates)
    _customer(dates)


def _sizes(sizes: pd.DataFrame) -> None:
    st.subheader("Size and revenue share over time")
    frame = sizes.copy()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    long = frame.melt(
        id_vars=["as_of_date", "segment_name"],
        value_vars=["share_of_customers", "share_of_revenue"],
        var_name="measure",
        value_name="share",
    )
    long["measure"] = long["measure"].map(
        {"share_of_customers": "Share of customers", "share_of_revenue": "Share of revenue"}
    )
    chart = (
        alt.Chart(long)
        .mark_area()
        .encode(
            x=alt.X("as_of_date:T", title=None),
            y=alt.Y("share:Q", stack="normalize", title=None, axis=alt.Axis(format="%")),
            color=alt.Color("segment_name:N", title="Segment"),
            tooltip=["as_of_date:T", "segment_name:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=220)
        .facet(column=alt.Column("measure:N", title=None))
    )
    st.altair_chart(chart)


def _profiles(sizes: pd.DataFrame) -> None:
    st.subheader("What sets each segment apart")
    nights = sorted(set(sizes["as_of_date"]), reverse=True)
    night = st.selectbox("Profile of the night", nights, format_func=fmt.day, key="profile_night")
    profile = data.segment_profile(night)
    if profile.empty:
        st.caption("No profile was written that night.")
        return
    st.caption(
        "Each feature's segment mean as a multiple of the mean over all customers: above 1 means the segment has "
        "more of it than the average customer."
    )
    chart = (
        alt.Chart(profile)
        .mark_rect()
        .encode(
            x=alt.X("feature:N", title=None, axis=alt.Axis(labelAngle=0, orient="top")),
            y=alt.Y("segment_name:N", title=None),
            color=alt.Color(
                "mean_vs_population:Q",
                title="× average",
                scale=alt.Scale(scheme="blueorange", domainMid=1),
            ),
            tooltip=[
                "segment_name:N",
                "feature:N",
                alt.Tooltip("mean:Q", format=",.2f"),
                alt.Tooltip("population_mean:Q", format=",.2f"),
                alt.Tooltip("mean_vs_population:Q", format=".2f"),
            ],
        )
        .properties(height=40 * profile["segment_name"].nunique() + 40)
    )
    st.altair_chart(chart, width="stretch")


def _transitions(dates: list) -> None:
    st.subheader("Who moved between two dates")
    if len(dates) < 2:
        st.caption("Customers have been segmented on one night only; transitions need two.")
        return
    left, right = st.columns(2)
    start = left.selectbox("From", dates[:-1], index=max(len(dates) - 2, 0), format_func=fmt.day, key="from")
    later = [d for d in dates if d > start]
    end = right.selectbox("To", later, index=len(later) - 1, format_func=fmt.day, key="to")
    moves = data.segment_transitions(start, end)
    chart = alt.Chart(moves).encode(
        x=alt.X("to_segment:N", title=f"Segment on {fmt.short_day(end)}", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("from_segment:N", title=f"Segment on {fmt.short_day(start)}"),
    )
    heat = chart.mark_rect().encode(
        color=alt.Color("share_of_from:Q", title="Share of row", scale=alt.Scale(scheme="blues")),
        tooltip=[
            "from_segment:N",
            "to_segment:N",
            "customers:Q",
            alt.Tooltip("share_of_from:Q", format=".1%"),
        ],
    )
    labels = chart.mark_text(fontSize=12).encode(text=alt.Text("customers:Q", format=","))
    st.altair_chart((heat + labels).properties(height=260), width="stretch")


def _customer(dates: list) -> None:
    st.subheader("One customer's history")
    if not guards.allowed(Permission.CUSTOMERS, "one customer's history"):
        return
    customers = data.sample_customers(dates[-1])
    if not customers:
        st.caption("No customers were scored on the latest night.")
        return
    customer_id = st.selectbox(
        "Customer",
        customers,
        key="customer",
        help="The first customers by id on the latest night; type to search.",
    )
    history = data.customer_history(customer_id)
    history["as_of_date"] = pd.to_datetime(history["as_of_date"])
    chart = (
        alt.Chart(history)
        .mark_line(point=True, interpolate="step-after")
        .encode(
            x=alt.X("as_of_date:T", title=None),
            y=alt.Y("segment_name:N", title=None),
            tooltip=["as_of_date:T", "segment_name:N", alt.Tooltip("distance:Q", format=".2f")],
        )
        .properties(height=200)
    )
    st.altair_chart(chart, width="stretch")


render()
