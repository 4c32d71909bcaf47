"""Segments: how the customer base splits and moves. Sizes and revenue share over time, what distinguishes each
segment, how many moved between two dates (aggregates, for every role), and one customer's history (customer-level:
only for roles with the `customers` permission, `daybreak.core.roles`).
"""

from __future__ import annotations

import charts
import formatting as fmt
import guards
import pandas as pd
import streamlit as st
from data import segments
from data.relations import Relation

from daybreak.core.roles import Permission

REQUIRED_TABLES = (Relation.CUSTOMER_SEGMENTS, Relation.SEGMENT_PROFILES)


def render() -> None:
    st.title("Segments")
    if not guards.published(*REQUIRED_TABLES):
        return
    guards.published_caption()
    sizes = segments.segment_sizes()
    dates = segments.segment_dates()
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
    spec = {
        "facet": {"column": charts.field("measure:N", title=None)},
        "spec": {
            "mark": "area",
            "encoding": {
                "x": charts.field("as_of_date:T", title=None, axis=charts.day_axis(long["as_of_date"])),
                "y": charts.field("share:Q", stack="normalize", title=None, axis={"format": "%"}),
                "color": charts.field("segment_name:N", title="Segment"),
                "tooltip": [
                    charts.field("as_of_date:T"),
                    charts.field("segment_name:N"),
                    charts.field("share:Q", format=".1%"),
                ],
            },
            "height": 220,
        },
    }
    charts.draw(spec, long, width="content")


def _profiles(sizes: pd.DataFrame) -> None:
    st.subheader("What sets each segment apart")
    nights = sorted(set(sizes["as_of_date"]), reverse=True)
    night = st.selectbox("Profile of the night", nights, format_func=fmt.day, key="profile_night")
    profile = segments.segment_profile(night)
    if profile.empty:
        st.caption("No profile was written that night.")
        return
    st.caption(
        "Each feature's segment mean as a multiple of the mean over all customers: above 1 means the segment has "
        "more of it than the average customer."
    )
    profile = profile.assign(feature=profile["feature"].map(fmt.column_label))
    spec = {
        "mark": "rect",
        "encoding": {
            # the features' names are the long labels: down the side, where they are read whole
            "y": charts.field("feature:N", title=None, axis={"labelLimit": 0}),
            "x": charts.field("segment_name:N", title=None, axis={"labelAngle": 0, "orient": "top"}),
            "color": charts.field(
                "mean_vs_population:Q",
                title="× average",
                scale={"scheme": "blueorange", "domainMid": 1},
                legend={"format": ".1~f"},
            ),
            "tooltip": [
                charts.field("segment_name:N", title="Segment"),
                charts.field("feature:N", title="Feature"),
                charts.field("mean:Q", title="Segment mean", format=",.2f"),
                charts.field("population_mean:Q", title="Mean of all customers", format=",.2f"),
                charts.field("mean_vs_population:Q", title="× average", format=".2f"),
            ],
        },
        **charts.rows(profile["feature"].nunique(), step=40),
    }
    charts.draw(spec, profile[["feature", "segment_name", "mean_vs_population", "mean", "population_mean"]])


def _transitions(dates: list) -> None:
    st.subheader("Who moved between two dates")
    if len(dates) < 2:
        st.caption("Customers have been segmented on one night only; transitions need two.")
        return
    left, right = st.columns(2)
    start = left.selectbox("From", dates[:-1], index=max(len(dates) - 2, 0), format_func=fmt.day, key="from")
    later = [d for d in dates if d > start]
    end = right.selectbox("To", later, index=len(later) - 1, format_func=fmt.day, key="to")
    moves = segments.segment_transitions(start, end)
    cells = {
        "x": charts.field("to_segment:N", title=f"Segment on {fmt.short_day(end)}", axis={"labelAngle": 0}),
        "y": charts.field("from_segment:N", title=f"Segment on {fmt.short_day(start)}"),
    }
    spec = {
        "layer": [
            {
                "mark": "rect",
                "encoding": cells
                | {
                    "color": charts.field("share_of_from:Q", title="Share of row", scale={"scheme": "blues"}),
                    "tooltip": [
                        charts.field("from_segment:N"),
                        charts.field("to_segment:N"),
                        charts.field("customers:Q"),
                        charts.field("share_of_from:Q", format=".1%"),
                    ],
                },
            },
            {
                "mark": {"type": "text", "fontSize": 12},
                "encoding": cells | {"text": charts.field("customers:Q", format=",")},
            },
        ],
        "height": 260,
    }
    charts.draw(spec, moves[["from_segment", "to_segment", "customers", "share_of_from"]])


def _customer(dates: list) -> None:
    st.subheader("One customer's history")
    if not guards.allowed(Permission.CUSTOMERS, "one customer's history"):
        return
    customers = segments.sample_customers(dates[-1])
    if not customers:
        st.caption("No customers were scored on the latest night.")
        return
    customer_id = st.selectbox(
        "Customer",
        customers,
        key="customer",
        help="The first customers by id on the latest night; type to search.",
    )
    history = segments.customer_history(customer_id)
    history["as_of_date"] = pd.to_datetime(history["as_of_date"])
    spec = {
        "mark": {"type": "line", "point": True, "interpolate": "step-after"},
        "encoding": {
            "x": charts.field("as_of_date:T", title=None, axis=charts.day_axis(history["as_of_date"])),
            "y": charts.field("segment_name:N", title=None),
            "tooltip": [
                charts.field("as_of_date:T"),
                charts.field("segment_name:N"),
                charts.field("distance:Q", format=".2f"),
            ],
        },
        "height": 200,
    }
    charts.draw(spec, history[["as_of_date", "segment_name", "distance"]])


render()
