"""Segments: how the customer base splits and moves. Sizes and revenue share over time, what each segment's
customers are expected to buy (customer value), what distinguishes each segment, how many moved between two dates
(aggregates, for every role), and the valuable customers slipping away and one customer's history (customer-level:
only for roles with the `customers` permission, `daybreak.core.roles`).
"""

from __future__ import annotations

import charts
import dataset_settings
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
    _value()
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


def _value() -> None:
    """Expected revenue, customers and mean probability of being active by segment on the latest night the
    customer-value model scored, then the valuable customers slipping away."""
    st.subheader("Customer value")
    by_segment = segments.value_by_segment()
    if by_segment.empty:
        st.caption(
            "No customer value has been published for this dataset. The customer-value job scores every customer "
            "on the nights it runs when the dataset's config turns it on (`customer_value: enabled: true`); this "
            "section fills in after such a night."
        )
        return
    night, horizon = by_segment["as_of_date"].iloc[0], int(by_segment["horizon_days"].iloc[0])
    revenue = fmt.in_currency("Expected revenue", "revenue", dataset_settings.currency())
    st.caption(
        f"Scored {fmt.day(night)}: what each segment's customers are expected to spend over the next {horizon} "
        "days (the customer-value model: BG/NBD for the purchases, Gamma-Gamma or each customer's own mean for "
        "the spend per purchase), how many customers the segment has, and their mean probability of still being "
        "customers: a segment of many customers unlikely to be active is worth less than its size says."
    )
    y = charts.field("segment_name:N", title=None, sort=None, axis={"labelLimit": 0})
    tooltip = [
        charts.field("segment_name:N", title="Segment"),
        charts.field("expected_revenue:Q", title=revenue, format=",.0f"),
        charts.field("customers:Q", title="Customers", format=","),
        charts.field("mean_probability_active:Q", title="Mean probability active", format=".0%"),
    ]

    def panel(measure: str, title: str, axis_format: str, **extra: object) -> charts.Spec:
        """One measure's bars; the segments' names only beside the first panel (`y` shared)."""
        return {
            "mark": "bar",
            "encoding": {
                "y": y if measure.startswith("expected_revenue") else y | {"axis": None},
                "x": charts.field(measure, title=title, axis={"format": axis_format}, **extra),
                "color": charts.field("segment_name:N", legend=None),
                "tooltip": tooltip,
            },
            "width": 200,
            "height": 34 * len(by_segment),
        }

    spec = {
        "hconcat": [
            panel("expected_revenue:Q", revenue, "~s"),
            panel("customers:Q", "Customers", "~s"),
            panel("mean_probability_active:Q", "Mean probability active", "%", scale={"domain": [0, 1]}),
        ],
        "resolve": {"scale": {"y": "shared"}},
        "autosize": {"type": "pad", "contains": "padding"},  # fitting works on single views only (Vega warns)
    }
    columns = ["segment_name", "expected_revenue", "customers", "mean_probability_active"]
    charts.draw(spec, by_segment[columns], width="content")
    charts.table(
        by_segment[[*columns, "expected_purchases"]],
        hide_index=True,
        width="stretch",
        column_config={
            "segment_name": "Segment",
            "expected_revenue": st.column_config.NumberColumn(revenue, format="%,.0f"),
            "customers": st.column_config.NumberColumn("Customers", format="%,d"),
            "mean_probability_active": st.column_config.NumberColumn(
                "Mean probability active", format="percent"
            ),
            "expected_purchases": st.column_config.NumberColumn("Expected purchases", format="%,.0f"),
        },
    )
    _slipping(revenue)


def _slipping(revenue: str) -> None:
    """The valuable customers whose probability of being active fell most since the current model was trained
    (customer-level)."""
    st.markdown("**Valuable customers slipping away**")
    baseline = segments.value_baseline()
    if baseline is None:
        st.caption("Customer value has been scored on one night only; a fall needs two.")
        return
    if baseline.since_retrain:
        why = (
            f"{fmt.day(baseline.night)} is the first night the current model (version {baseline.model_version}) "
            "scored: one model scored both nights, so a fall says the customer has not bought as it expected."
        )
    else:
        why = (
            f"The current model (version {baseline.model_version}) was trained on {fmt.day(baseline.latest)} and "
            f"has scored that night only, so {fmt.day(baseline.night)} is the last night of the version before "
            "it: a fall may be the new model's reading as well as the customer's."
        )
    st.caption(
        f"The {segments.VALUABLE_SHARE:.0%} of customers with the highest expected revenue on "
        f"{fmt.day(baseline.night)} whose probability of being active fell most by {fmt.day(baseline.latest)}. {why}"
    )
    if not guards.allowed(Permission.CUSTOMERS, "the valuable customers slipping away"):
        return
    slipping = segments.slipping_customers(baseline)
    if slipping.empty:
        st.caption(
            f"No valuable customer's probability of being active fell by {segments.MIN_FALL:.0%} or more between "
            "those nights."
        )
        return
    then, now = fmt.short_day(baseline.night), fmt.short_day(baseline.latest)
    charts.table(
        slipping.drop(columns="fall"),
        hide_index=True,
        width="stretch",
        column_config={
            "customer_id": "Customer",
            "segment_name": "Segment",
            "revenue_then": st.column_config.NumberColumn(f"{revenue}, {then}", format="%,.0f"),
            "revenue_now": st.column_config.NumberColumn(f"{revenue}, {now}", format="%,.0f"),
            "probability_then": st.column_config.NumberColumn(
                f"Probability active, {then}", format="percent"
            ),
            "probability_now": st.column_config.NumberColumn(f"Probability active, {now}", format="percent"),
        },
    )


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
