"""Every environment variable Daybreak reads, declared once (name, default, meaning), and the one function that
reads them.

`read` is the only place a `DAYBREAK_*` variable is looked up (`daybreak.core.settings` builds the typed settings
from it; alerts, serving and the privacy keys ask it too), and it refuses a name that is not declared here, so a
new variable is declared, with its default and meaning, before it can be read. docs/environment-reference.md is
generated from `VARIABLES` (`python -m daybreak.core.environment`); a unit test fails when the page is out of date
or when code mentions a variable this module does not declare. Values are read when asked for, never at import.

    python -m daybreak.core.environment           # rewrite docs/environment-reference.md
    python -m daybreak.core.environment --check   # exit 1 when the committed page is out of date
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PAGE = PROJECT_ROOT / "docs" / "environment-reference.md"


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, its default (None: unset, the meaning says what that does), what it
    means, and the group of the reference page it is listed in."""

    name: str
    default: str | None
    meaning: str
    group: str


GROUPS = {
    "Data home and dataset": "What Daybreak works on and where it keeps everything.",
    "Engine": "Which engine builds the dbt models and runs the model nights' per-series work.",
    "People": "Who is acting and what their role allows (`daybreak.core.roles`, docs/privacy.md).",
    "Privacy keys": "Secrets, never in a file of the repository: docker compose passes them from `.env`; `daybreak "
    "demo` generates them into `DAYBREAK_HOME/secrets/` for a fresh local data home.",
    "Alerts": "Where a failed task's alert, and a late night's, go besides the log (`daybreak.platform.alerts`).",
    "Serving": "What `daybreak demo` serves on.",
    "Set for dbt": "Daybreak sets these for dbt (`dbt_project/profiles.yml`) when the transform job runs it; set "
    "them only to run dbt by hand.",
    "Tests": "Read by the test suite (`tests/`), not by Daybreak.",
}


def _declare(group: str, *entries: tuple[str, str | None, str]) -> tuple[Variable, ...]:
    return tuple(Variable(name, default, meaning, group) for name, default, meaning in entries)


_DECLARED = (
    *_declare(
        "Data home and dataset",
        (
            "DAYBREAK_HOME",
            ".daybreak",
            "The data home (relative to the working directory): landing, lake, warehouse, serving copy, models, "
            "reports and Airflow's home.",
        ),
        (
            "DAYBREAK_DATASET",
            "synthetic",
            "The dataset config: a shipped dataset's name or the path of a YAML file anywhere.",
        ),
        (
            "DAYBREAK_ONLINE_RETAIL_PATH",
            None,
            "The `online_retail` dataset's file (a path or fsspec URL); unset: its config's `source.default_path`.",
        ),
        (
            "DAYBREAK_STORE_ITEM_PATH",
            None,
            "The `store_item` dataset's file (train.csv or the competition zip); unset: its config's "
            "`source.default_path`.",
        ),
    ),
    *_declare(
        "Engine",
        (
            "DAYBREAK_ENGINE",
            "duckdb",
            "`duckdb` or `spark`: the same dbt models built by dbt-duckdb or dbt-spark, and on Spark the model "
            "nights' per-series and per-customer work on its executors; the Python jobs write DuckDB either way.",
        ),
        (
            "DAYBREAK_SPARK_METHOD",
            "session",
            "How dbt reaches Spark: `session` (a PySpark session inside dbt) or `thrift` (a Spark Thrift server).",
        ),
        (
            "DAYBREAK_SPARK_MASTER",
            "local[2]",
            "The master of Daybreak's own Spark sessions: dbt's with `session`, the model nights' with either "
            "method (`local[N]`, or a cluster's URL to use its executors).",
        ),
        ("DAYBREAK_SPARK_HOST", None, "The Spark Thrift server's host (`thrift`)."),
        ("DAYBREAK_SPARK_PORT", "10000", "The Spark Thrift server's port (`thrift`)."),
        ("DAYBREAK_SPARK_USER", None, "The user dbt connects to the Spark Thrift server as (`thrift`)."),
    ),
    *_declare(
        "People",
        (
            "DAYBREAK_ROLES_FILE",
            None,
            "The YAML file that maps users to roles; unset: `roles.yml` in the data home (absent: everyone is a "
            "viewer).",
        ),
        (
            "DAYBREAK_USER",
            None,
            "Who the command line, and a local single-user app, act as; unset: the operating-system user.",
        ),
        (
            "DAYBREAK_USER_HEADER",
            None,
            "Behind a reverse proxy: the request header naming the user it authenticated (`X-Forwarded-User`); "
            "unset: the app acts as `DAYBREAK_USER`. Set it only where the proxy is the sole way in, since any "
            "client can send a header.",
        ),
    ),
    *_declare(
        "Privacy keys",
        (
            "DAYBREAK_PSEUDONYM_KEY",
            None,
            "The key of the keyed hash that replaces every customer id at ingest.",
        ),
        ("DAYBREAK_LINK_STORE_KEY", None, "The Fernet key that encrypts the customer link store."),
        (
            "DAYBREAK_PROXY_SECRET",
            None,
            "Behind the reverse proxy (`DAYBREAK_USER_HEADER`): a secret the proxy sends in "
            "`X-Daybreak-Proxy-Secret`; when set, the user header counts only on a request that carries it, so a "
            "client reaching Streamlit directly is nobody. Letters, digits, `-` and `_`, at least 32.",
        ),
    ),
    *_declare(
        "Alerts",
        (
            "DAYBREAK_NIGHT_DEADLINE_HOURS",
            None,
            "Alert when a night has not finished this many hours after it was queued; unset: no deadline alert.",
        ),
        (
            "DAYBREAK_ALERT_EMAIL",
            None,
            "Comma-separated addresses every alert is emailed to; unset: no email.",
        ),
        ("DAYBREAK_ALERT_FROM", "daybreak@localhost", "The sender of the alert emails."),
        ("DAYBREAK_SMTP_HOST", "localhost", "The SMTP server the alert emails go through."),
        ("DAYBREAK_SMTP_PORT", "25", "Its port."),
        (
            "DAYBREAK_ALERT_WEBHOOK_URL",
            None,
            'Every alert is also POSTed here as JSON `{"text": ...}` (a Slack or Teams incoming webhook, or any '
            "HTTP endpoint); unset: no webhook.",
        ),
    ),
    *_declare(
        "Serving",
        ("DAYBREAK_STREAMLIT_ADDRESS", "127.0.0.1", "The address the demo's dashboards listen on."),
        (
            "AIRFLOW__API__BASE_URL",
            None,
            "Airflow's own setting: where its UI is, for the dashboards' link to it; unset: the local demo's "
            "address on `AIRFLOW__API__PORT`.",
        ),
        ("AIRFLOW__API__PORT", "8080", "Airflow's own setting: the port of its API server and UI."),
    ),
    *_declare(
        "Set for dbt",
        ("DAYBREAK_WAREHOUSE_PATH", None, "The DuckDB file dbt-duckdb builds in (the settings' warehouse)."),
        (
            "DAYBREAK_RUN_DATE",
            None,
            "The night's business date, `YYYY-MM-DD`, for the dbt models (an environment variable rather than a "
            "dbt var, so dbt keeps its parse from night to night).",
        ),
        (
            "DAYBREAK_REBUILD_FROM",
            None,
            "The first day the night's dbt build rebuilds after a late file, `YYYY-MM-DD`; empty: the run date.",
        ),
        ("DAYBREAK_SPARK_WAREHOUSE_DIR", None, "The Spark session's warehouse folder (the marts' Parquet)."),
        ("DAYBREAK_SPARK_METASTORE_DIR", None, "The Spark session's embedded Derby metastore."),
        ("DAYBREAK_SPARK_SHUFFLE_PARTITIONS", None, "The Spark session's shuffle partitions."),
    ),
    *_declare(
        "Tests",
        (
            "DAYBREAK_REQUIRE_ALL",
            None,
            "`1`: a missing browser or real data set fails its tests instead of skipping them (`.ci/run`).",
        ),
        (
            "DAYBREAK_SHARED_DATA",
            "../shared/data",
            "The real data sets the tests replay (relative to the repository).",
        ),
        ("DAYBREAK_CHROMIUM", "/usr/bin/chromium", "The browser the dashboards' browser tests drive."),
        ("DAYBREAK_SCREENSHOTS", None, "A folder the browser tests also keep their screenshots in."),
    ),
)
VARIABLES: dict[str, Variable] = {variable.name: variable for variable in _DECLARED}


def read(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A declared variable's value now: as set (and not empty) in `environ`, by default the process's
    environment, else its declared default.

    Raises:
        KeyError: `name` is not declared in `VARIABLES` (declare it there first: that also documents it).
    """
    try:
        default = VARIABLES[name].default
    except KeyError:
        raise KeyError(f"{name} is not declared in daybreak.core.environment.VARIABLES") from None
    return (os.environ if environ is None else environ).get(name) or default


def read_named(name: str) -> str | None:
    """A variable a dataset config names (`source.path_env`): a shipped config's is declared and read as such; a
    config of one's own may name any variable, which is read as it is set."""
    return read(name) if name in VARIABLES else os.environ.get(name) or None


def render() -> str:
    """The whole reference page."""
    out = [
        "# Environment reference",
        "",
        "Generated from `include/daybreak/core/environment.py` by `python -m daybreak.core.environment`; do not edit",
        "by hand (a unit test fails when this page and the declarations disagree, or when code mentions a variable",
        "that is not declared). An empty value counts as unset.",
    ]
    for group, intro in GROUPS.items():
        out += ["", f"## {group}", "", intro, "", "| variable | default | meaning |", "|---|---|---|"]
        for variable in _DECLARED:
            if variable.group == group:
                default = "unset" if variable.default is None else f"`{variable.default}`"
                meaning = variable.meaning.replace("|", "\\|")
                out.append(f"| `{variable.name}` | {default} | {meaning} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    page = render()
    if "--check" in args:
        if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is out of date: run python -m daybreak.core.environment", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
