"""Pipeline: did the nights account for every row and every euro? Rows and revenue in, loaded, quarantined and
replaced (by a later delivery for the day, `landing.corrections: replace`) per night, quarantine by rule with the
rows behind it, which file replaced which, dbt's test results, and links to Airflow and dbt docs.
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
# where a night's rows and revenue went: rows in = loaded + quarantined + replaced
KINDS = {"loaded": charts.INK, "quarantined": charts.BAD, "replaced": charts.MUTED}


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
    _corrections()
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
        value_vars=[f"{measure}_{kind}" for measure in ("rows", "revenue") for kind in KINDS],
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
                    scale=charts.scale(KINDS),
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
        f"{int(latest['files_replaced'])} replaced by a later delivery, {int(latest['files_duplicate'])} "
        f"duplicate, {int(latest['files_refused'])} refused; {int(latest['rows_in']):,} rows in = "
        f"{int(latest['rows_loaded']):,} loaded + {int(latest['rows_quarantined']):,} quarantined + "
        f"{int(latest['rows_replaced']):,} replaced; revenue in {latest['revenue_in']:,.2f} = "
        f"{latest['revenue_loaded']:,.2f} loaded + {latest['revenue_quarantined']:,.2f} quarantined + "
        f"{latest['revenue_replaced']:,.2f} replaced."
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


def _corrections() -> None:
    st.subheader("Corrections: files replaced by a later delivery")
    replaced = pipeline.replaced_files()
    if replaced.empty:
        st.caption(
            "No file has been replaced: a later delivery for a day replaces the day's earlier files only under "
            "the dataset's `landing.corrections: replace` (docs/operations.md, Corrections)."
        )
        return
    st.caption(
        "Each replaced file's loaded rows and revenue left the lake when the delivery named in `replaced_by` "
        "(<date>/<file>) replaced it on the night `replaced_by_run_date`; its quarantined rows stay counted."
    )
    charts.table(replaced, hide_index=True, width="stretch")


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
