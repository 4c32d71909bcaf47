"""Model health: what the models did. Champions and challengers with their backtest scores, the registry's
promotions, rejections and rollbacks, the customer-value model's calibration, drift over time, and a night's Evidently drift report (customer-level, as it
profiles the customer column: only for roles with the `customers` permission, `daybreak.core.roles`).
"""

from __future__ import annotations

import charts
import formatting as fmt
import guards
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components
from data import artefacts, model_health, serving
from data.relations import Relation

from daybreak.core.roles import Permission

REQUIRED_TABLES = (Relation.MODEL_VERSIONS, Relation.MODEL_EVENTS)
ACTION_COLORS = {
    "register": "#90a4ae",
    "promote": charts.GOOD,
    "reject": "#ef6c00",
    "rollback": charts.BAD,
    "retire": "#5d4037",
}
PICK_COLORS = {
    "champion": charts.INK,
    "challenger": charts.ACCENT,
    "candidate": "#b0bec5",
    "seasonal naive": charts.MUTED,
}


def render() -> None:
    st.title("Model health")
    if not guards.published(*REQUIRED_TABLES):
        return
    guards.published_caption()
    _champions()
    _events()
    _value_added()
    _calibration()
    _drift()


def _champions() -> None:
    st.subheader("Champions and challengers")
    versions = model_health.model_versions("forecast")
    if versions.empty:
        guards.nothing_yet(
            "No forecast model is registered yet.",
            "The forecast job registers a champion per series on its first retraining night (`make demo`).",
        )
        return
    scores = model_health.backtest_scores()
    if scores.empty:
        st.caption("No backtest has been published yet; champions are listed once candidates are scored.")
        charts.table(versions, hide_index=True, width="stretch")
        return
    night = scores["as_of_date"].iloc[0]
    series = list(dict.fromkeys(scores["series_id"]))
    series_id = st.selectbox("Series", series, format_func=fmt.series_label, key="health_series")
    champion = versions[(versions["model_id"] == series_id) & (versions["status"] == "champion")]
    champion_text = (
        f"champion **{champion['model_name'].iloc[0]}** (version {champion['version'].iloc[0]})"
        if not champion.empty
        else "no champion yet"
    )
    st.caption(
        f"{fmt.series_label(series_id)}: {champion_text}. Each bar is a candidate's average error over the "
        f"backtests of the last retraining night, {fmt.day(night)}, divided by the typical miss of copying last "
        "season in the history (each period forecast as the one a season before: for daily sales, the same "
        "weekday a week earlier). That is MASE: 1 means errors as large as that copy's. Forecasting weeks ahead is "
        "harder than the copy's miss from one period to the next, so scores above 1 are usual and do not mean "
        "the models fail: compare each bar with the grey **seasonal naive** bar, the same copy forecasting the "
        "same days. Shorter is better; a bar shorter than it beats copying last season."
    )
    frame = scores[scores["series_id"] == series_id].copy()
    frame["pick"] = frame["selected"].map(lambda chosen: "challenger" if chosen else "candidate")
    frame.loc[frame["role"] == "baseline", "pick"] = "seasonal naive"
    frame.loc[frame["role"] == "champion", "pick"] = "champion"
    spec = {
        "mark": "bar",
        "encoding": {
            "y": charts.field("candidate:N", sort="x", title=None, axis={"labelLimit": 0}),
            "x": charts.field("mase:Q", title="MASE"),
            "color": charts.field("pick:N", title=None, scale=charts.scale(PICK_COLORS)),
            "tooltip": [
                charts.field("candidate:N"),
                charts.field("role:N"),
                charts.field("mase:Q", format=".3f"),
                charts.field("smape:Q", format=".1f"),
                charts.field("coverage_80:Q", format=".0%"),
            ],
        },
        **charts.rows(len(frame)),
    }
    charts.draw(spec, frame[["candidate", "mase", "pick", "role", "smape", "coverage_80"]])


def _events() -> None:
    st.subheader("Promotions, rejections and rollbacks")
    events = model_health.model_events()
    events = events[events["action"] != "register"]
    if events.empty:
        st.caption("The registry has no decisions yet: they come from retraining nights.")
        return
    events["logical_date"] = pd.to_datetime(events["logical_date"])
    events["model"] = events["model_id"].map(fmt.series_label)
    spec = {
        "mark": {"type": "point", "filled": True, "size": 90},
        "encoding": {
            "x": charts.field("logical_date:T", title=None, axis={"format": "%-d %b", "tickCount": "day"}),
            "y": charts.field("model:N", title=None, scale={"padding": 0.5}),
            "color": charts.field(
                "action:N", scale=charts.scale(ACTION_COLORS), legend={"orient": "top", "title": None}
            ),
            "tooltip": [
                charts.field(name)
                for name in ("logical_date:T", "model:N", "action:N", "version:N", "reason:N", "actor:N")
            ],
        },
        **charts.rows(events["model"].nunique(), step=48),
    }
    charts.draw(spec, events[["logical_date", "model", "action", "version", "reason", "actor"]])


def _value_added() -> None:
    """Forecast value added: did planners' overrides make the forecast better than the model's, by planner and
    reason (the dbt view `predictions.forecast_value_added`)."""
    st.subheader("Forecast value added by planners")
    scored = model_health.forecast_value_added()
    if scored.empty:
        st.caption(
            "No planner's override has been scored yet: overrides are recorded on the Review page (or with "
            "`daybreak override add`), applied by the next night, and scored here once their days' actuals land."
        )
        return
    by = st.radio("Per", ["author", "reason"], horizontal=True, key="fva_by", format_func=str.capitalize)
    grouped = scored.groupby(by, as_index=False)[
        ["final_abs_error", "statistical_abs_error", "value_added"]
    ].sum()
    grouped["better"] = grouped["value_added"].map(lambda v: "improved" if v >= 0 else "worsened")
    st.caption(
        "The model's absolute error minus the final (overridden) forecast's, summed over the scored days each "
        "override changed: to the right of zero the planners' changes made the forecast better."
    )
    spec = {
        "mark": {"type": "bar", "size": 20},
        "encoding": {
            "y": charts.field(f"{by}:N", title=None, sort="-x"),
            "x": charts.field("value_added:Q", title="Absolute error removed", axis={"format": "~s"}),
            "color": charts.field(
                "better:N", scale=charts.scale({"improved": charts.GOOD, "worsened": charts.BAD}), legend=None
            ),
            "tooltip": [
                charts.field(f"{by}:N"),
                charts.field("value_added:Q", format=",.0f"),
                charts.field("final_abs_error:Q", format=",.0f"),
                charts.field("statistical_abs_error:Q", format=",.0f"),
            ],
        },
        **charts.rows(len(grouped)),
    }
    charts.draw(spec, grouped)


def _calibration() -> None:
    """The customer-value model's calibration plot: fitted on the calibration part of the history, its mean
    predicted purchases in the holdout against the actual ones, by the customers' purchases in the calibration."""
    st.subheader("Customer value: predicted against actual purchases")
    frame = model_health.customer_value_calibration()
    if frame.empty:
        st.caption(
            "No customer-value model has been trained for this dataset: its calibration check appears here after "
            "the first night that trains one (the dataset's config turns it on with `customer_value: enabled: "
            "true`)."
        )
        return
    last, status = int(frame["calibration_purchases"].max()), frame["status"].iloc[0]
    st.caption(
        f"Version {frame['model_version'].iloc[0]}{f' ({status} now)' if status else ''}, trained "
        f"{fmt.day(frame['as_of_date'].iloc[0])}, fitted on the "
        "history up to the start of a holdout and asked how many purchases its customers would make in it. Left: "
        "customers grouped by their repeat purchases before the holdout (the last group: "
        f"{last} or more), the mean purchases the model predicted for each group against those they made. Right: "
        "the same groups (a point's size: its customers), predicted against actual; on the dashed diagonal the two "
        "agree. A well-calibrated model keeps its line on the actual one and its points on the diagonal; points "
        "above it bought more than predicted."
    )
    long = frame.melt(
        id_vars=["calibration_purchases", "customers"],
        value_vars=["predicted_purchases", "actual_purchases"],
        var_name="line",
        value_name="purchases",
    )
    long["line"] = long["line"].map({"predicted_purchases": "Predicted", "actual_purchases": "Actual"})
    by_group = {
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": charts.field(
                "calibration_purchases:Q",
                title="Repeat purchases before the holdout",
                axis={"format": "d", "tickMinStep": 1},
            ),
            "y": charts.field("purchases:Q", title="Mean purchases in the holdout"),
            "color": charts.field(
                "line:N", title=None, scale=charts.scale({"Actual": charts.INK, "Predicted": charts.ACCENT})
            ),
            "tooltip": [
                charts.field("calibration_purchases:Q", title="Repeat purchases before"),
                charts.field("line:N", title="Line"),
                charts.field("purchases:Q", title="Mean purchases", format=".2f"),
                charts.field("customers:Q", title="Customers", format=","),
            ],
        },
        "height": 260,
        "autosize": charts.FIT_WIDTH,
    }
    top = 1.05 * float(frame[["predicted_purchases", "actual_purchases"]].max().max())  # the top point whole
    axis = {"scale": {"domain": [0, top], "padding": 0}}
    against = {
        "datasets": {"groups": frame, "diagonal": pd.DataFrame({"purchases": [0.0, top]})},
        "layer": [
            {
                "data": {"name": "diagonal"},
                "mark": {"type": "line", "color": charts.MUTED, "strokeDash": [4, 4]},
                "encoding": {
                    "x": charts.field("purchases:Q", **axis),
                    "y": charts.field("purchases:Q", **axis),
                },
            },
            {
                "data": {"name": "groups"},
                "mark": {"type": "point", "filled": True, "color": charts.ACCENT},
                "encoding": {
                    "x": charts.field("predicted_purchases:Q", title="Predicted mean purchases", **axis),
                    "y": charts.field("actual_purchases:Q", title="Actual mean purchases", **axis),
                    "size": charts.field("customers:Q", legend=None),
                    "tooltip": [
                        charts.field("calibration_purchases:Q", title="Repeat purchases before"),
                        charts.field("predicted_purchases:Q", title="Predicted", format=".2f"),
                        charts.field("actual_purchases:Q", title="Actual", format=".2f"),
                        charts.field("customers:Q", title="Customers", format=","),
                    ],
                },
            },
        ],
        "height": 260,
        "autosize": charts.FIT_WIDTH,
    }
    left, right = st.columns(2)
    with left:
        charts.draw(by_group, long)
    with right:
        charts.draw(against)


def _drift_share(summary: pd.DataFrame) -> None:
    """Each night's share of the sales lines' columns that drifted and, below it, which ones: a row per column
    that drifted on any night, a mark on each night it did."""
    frame = summary.copy()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    names = frame["drifted_columns"].fillna("").str.split(", ")
    frame["columns_text"] = names.map(lambda row: ", ".join(fmt.column_label(n) for n in row if n) or "none")
    # nights published before the names were recorded (their count says some drifted)
    frame.loc[frame["drifted_columns"].isna() & (frame["n_drifted_columns"] > 0), "columns_text"] = (
        "not recorded"
    )
    drifted = frame[["as_of_date"]].assign(column=names).explode("column")
    drifted = drifted[drifted["column"].fillna("") != ""].assign(
        column=lambda f: f["column"].map(fmt.column_label)
    )
    st.caption(
        "Each night the drift job compares the recent sales lines with an earlier reference window, column by "
        "column: the line is the share of the columns whose values moved, the red marks below it name them."
    )
    x = charts.field("as_of_date:T", title=None, axis={"format": "%-d %b"})
    share = {
        "data": {"name": "nights"},
        "mark": {"type": "line", "point": True, "color": charts.INK},
        "encoding": {
            "x": x,
            "y": charts.field("share_drifted:Q", title="Share of columns drifted", axis={"format": "%"}),
            "tooltip": [
                charts.field("as_of_date:T", title="Night"),
                charts.field("share_drifted:Q", title="Share drifted", format=".0%"),
                charts.field("columns_text:N", title="Columns drifted"),
                charts.field("n_columns:Q", title="Columns compared"),
            ],
        },
        "height": 160,
    }
    which = {
        "data": {"name": "drifted"},
        "mark": {"type": "square", "size": 110, "color": charts.BAD},
        "encoding": {
            "x": x,
            "y": charts.field("column:N", title=None, axis={"labelLimit": 0}),
            "tooltip": [
                charts.field("as_of_date:T", title="Night"),
                charts.field("column:N", title="Drifted"),
            ],
        },
        "height": 26 * max(drifted["column"].nunique(), 1),
    }
    columns = ["as_of_date", "share_drifted", "columns_text", "n_columns"]
    charts.draw(
        {
            "datasets": {"nights": frame[columns], "drifted": drifted},
            "vconcat": [share, which] if not drifted.empty else [share],
            "resolve": {"scale": {"x": "shared"}},
        }
    )


def _drift() -> None:
    st.subheader("Drift of the sales data")
    if serving.missing_tables(Relation.DRIFT_SUMMARY):
        st.caption(
            "The drift job has not published yet: its nightly summary appears here after its first run."
        )
        return
    summary = model_health.drift_summary()
    if summary.empty:
        st.caption("No night has been compared yet: drift needs a reference window of history first.")
        return
    _drift_share(summary)
    features = model_health.drift_metrics()
    if not features.empty:
        features["as_of_date"] = pd.to_datetime(features["as_of_date"])
        features["feature"] = features["feature"].map(fmt.drift_feature_label)
        st.caption(
            "The models' features nearest their drift threshold: each night's distance from the data the champion "
            "was trained on, over the feature's threshold (at 1 or more the feature has drifted)."
        )
        spec = {
            "layer": [
                {
                    "mark": {"type": "line", "point": True},
                    "encoding": {
                        "x": charts.field(
                            "as_of_date:T", title=None, axis=charts.day_axis(features["as_of_date"])
                        ),
                        "y": charts.field("relative:Q", title="Distance / threshold"),
                        "color": charts.field(
                            "feature:N",
                            title=None,
                            # below the plot in two columns, each name whole: they are long
                            legend={"orient": "bottom", "columns": 2, "labelLimit": 0},
                        ),
                        "tooltip": [
                            charts.field(name)
                            for name in (
                                "as_of_date:T",
                                "feature:N",
                                "statistic:Q",
                                "threshold:Q",
                                "drifted:N",
                            )
                        ],
                    },
                },
                {
                    "mark": {"type": "rule", "color": charts.MUTED, "strokeDash": [4, 4]},
                    "encoding": {"y": {"datum": 1}},
                },
            ],
            "height": 240,
            "autosize": charts.FIT_WIDTH,  # the plot keeps its height above the long legend
        }
        charts.draw(
            spec, features[["as_of_date", "feature", "statistic", "threshold", "drifted", "relative"]]
        )
    reports = summary.dropna(subset=["report_path"])
    if reports.empty:
        return
    if not guards.allowed(Permission.CUSTOMERS, "the nightly Evidently reports (they profile customer ids)"):
        return
    nights = reports["as_of_date"].tolist()[::-1]
    night = st.selectbox("Evidently report of the night", nights, format_func=fmt.day, key="report_night")
    # a report is megabytes of HTML and script (about 4 MB for the synthetic shop); embedded on every visit it
    # doubled the page's first render (docs/benchmarks.md, "Dashboard pages"), so it loads when asked for
    if not st.toggle("Show the report", key="show_report"):
        return
    html = artefacts.report_html(reports.set_index("as_of_date").loc[night, "report_path"])
    if html is None:
        st.caption("That night's report file is no longer in the data home's reports folder.")
        return
    components.html(html, height=700, scrolling=True)


render()
