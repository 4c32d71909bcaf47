"""Pipeline: did the nights account for every row and every euro? Rows and revenue in, loaded and quarantined
per night, quarantine by rule with the rows behind it, dbt's test results, and links to Airflow and dbt docs.
The quarantined rows themselves hold the export's raw values, customer included, so only roles with the
`customers` permission see them (`daybreak.core.roles`); the counts are for everyone.
"""

from __future__ import annotations

import charts
import formatting as fmt
import guards
import pandas as pd
import streamlit as st
from data import artefacts, pipeline
from data.relations import Relation

from daybreak.core.roles import Permission

REQUIRED_TABLES = (Relation.INGEST_RUNS, Relation.QUARANTINE)
STATUS_COLORS = {
    "pass": charts.GOOD,
    "success": charts.GOOD,
    "warn": "#ef6c00",
    "error": charts.BAD,
    "fail": charts.BAD,
    "skipped": "#90a4ae",
}


def render() -> None:
    st.title("Pipeline")
    _links()
    if not guards.published(*REQUIRED_TABLES):
        return
    guards.published_caption()
    accounting = pipeline.ingest_accounting()
    if accounting.empty:
        guards.nothing_yet(
            "No export file has been ingested yet.",
            "Files dropped in the landing folder are ingested by the next night (`make demo` simulates some).",
        )
    else:
        _accounting(accounting)
    _quarantine()
    _dbt()


def _links() -> None:
    left, right = st.columns(2)
    left.link_button("Airflow UI", artefacts.airflow_url(), icon=":material/open_in_new:", width="stretch")
    if docs := artefacts.dbt_docs_url():
        right.link_button("dbt docs", docs, icon=":material/open_in_new:", width="stretch")
    else:
        right.caption(
            "dbt docs (every model, column and test, and the lineage) are not being served: run "
            "`.venv/bin/daybreak docs --serve` and its link appears here."
        )


def _accounting(accounting: pd.DataFrame) -> None:
    st.subheader("Recent nights: rows and revenue")
    frame = accounting.copy()
    frame["business_date"] = pd.to_datetime(frame["business_date"])
    long = frame.melt(
        id_vars=["business_date"],
        value_vars=["rows_loaded", "rows_quarantined", "revenue_loaded", "revenue_quarantined"],
        var_name="column",
        value_name="n",
    )
    long[["measure", "kind"]] = long["column"].str.split("_", n=1, expand=True)

    def bars(measure: str, title: str) -> charts.Spec:
        return {
            "transform": [{"filter": {"field": "measure", "equal": measure}}],
            "mark": "bar",
            "encoding": {
                "x": charts.field(
                    "business_date:T", title=None, timeUnit="yearmonthdate", axis={"format": "%-d %b"}
                ),  # a day-wide bar
                "y": charts.field("n:Q", title=title, axis={"format": "~s"}),
                "color": charts.field(
                    "kind:N",
                    scale=charts.scale({"loaded": charts.INK, "quarantined": charts.BAD}),
                    title=None,
                ),
                "tooltip": [
                    charts.field("business_date:T"),
                    charts.field("kind:N"),
                    charts.field("n:Q", format=",.0f"),
                ],
            },
            "height": 160,
        }

    # one view, rows above revenue on the same dates: every separate chart is another Vega view for the
    # browser to build on the page's first render
    spec = {
        "vconcat": [bars("rows", "Rows"), bars("revenue", "Revenue")],
        "resolve": {"scale": {"y": "independent"}},
    }
    charts.draw(spec, long[["business_date", "measure", "kind", "n"]])
    latest = accounting.iloc[0]
    st.caption(
        f"{fmt.day(latest['business_date'])}: {int(latest['files_loaded'])} file(s) loaded, "
        f"{int(latest['files_duplicate'])} duplicate, {int(latest['files_refused'])} refused; "
        f"{int(latest['rows_in']):,} rows in = {int(latest['rows_loaded']):,} loaded + "
        f"{int(latest['rows_quarantined']):,} quarantined."
    )


def _quarantine() -> None:
    st.subheader("Quarantine by rule")
    counts = pipeline.quarantine_counts()
    if counts.empty:
        st.caption("No row has been quarantined: every ingested row passed every rule.")
        return
    frame = counts.copy()
    frame["business_date"] = pd.to_datetime(frame["business_date"])
    spec = {
        "mark": "bar",
        "encoding": {
            "x": charts.field(
                "business_date:T", title=None, timeUnit="yearmonthdate", axis={"format": "%-d %b"}
            ),  # a day-wide bar
            "y": charts.field("rows:Q", title="Rows quarantined"),
            "color": charts.field("rule:N", title="Rule"),
            "tooltip": [
                charts.field("business_date:T"),
                charts.field("rule:N"),
                charts.field("rows:Q"),
                charts.field("revenue:Q", format=",.0f"),
            ],
        },
        "height": 200,
    }
    charts.draw(spec, frame[["business_date", "rows", "rule", "revenue"]])
    if not guards.allowed(Permission.CUSTOMERS, "the quarantined rows (their raw values)"):
        return
    rules = sorted(set(counts["rule"]))
    rule = st.selectbox("Show the rows that broke", rules, key="quarantine_rule")
    charts.table(pipeline.quarantine_rows(rule), hide_index=True, width="stretch", height=260)


def _dbt() -> None:
    st.subheader("dbt test results")
    results = artefacts.dbt_results()
    tests = results[results["kind"] == "test"] if not results.empty else results
    if tests.empty:
        st.caption(
            "No dbt test results in this data home's dbt target (`run_results.json`): they appear after a night's "
            "transform runs `dbt build`."
        )
        return
    summary = tests.groupby("status").size().reset_index(name="tests")
    spec = {
        "mark": "bar",
        "encoding": {
            "x": charts.field("tests:Q", title="Tests"),
            "y": charts.field("status:N", title=None),
            "color": charts.field("status:N", scale=charts.scale(STATUS_COLORS), legend=None),
            "tooltip": [charts.field("status:N"), charts.field("tests:Q")],
        },
        **charts.rows(len(summary)),
    }
    charts.draw(spec, summary)
    failing = tests[~tests["status"].isin(["pass", "success"])]
    if not failing.empty:
        charts.table(failing[["name", "status", "message"]], hide_index=True, width="stretch")


render()
