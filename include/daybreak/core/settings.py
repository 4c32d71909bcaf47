"""The one place Daybreak learns about its environment: the typed settings every job, DAG and app reads.

Settings are read from environment variables every time `get_settings()` is called, never at import time, so a
DAG file can be parsed, a test can point `DAYBREAK_HOME` at a temporary folder, and a CLI option can override a
variable, all without reloading modules. Each variable, its default and its meaning are declared once in
`daybreak.core.environment` (docs/environment-reference.md is generated from it), which this module reads through.

Everything Daybreak writes lives under one data home (`DAYBREAK_HOME`): the landing folder the source systems drop
exports into, the raw Parquet lake, the DuckDB warehouse, model artifacts, reports and Airflow's own home. Who is
acting, and what their role allows, is configured here too (`daybreak.core.roles`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from daybreak.core.environment import PROJECT_ROOT, VARIABLES, read
from daybreak.core.failures import PermanentError

ENGINES = ("duckdb", "spark")
SPARK_METHODS = ("session", "thrift")

CONFIG_DIR = PROJECT_ROOT / "include" / "daybreak" / "datasets"
"""Where the shipped dataset configs live (`<name>.yml`)."""
YAML_SUFFIXES = (".yml", ".yaml")
# a dataset's folders under the data home are named by it, so it can never climb out of the home
SAFE_NAME = re.compile(r"[a-z][a-z0-9_]*")


class SettingsError(PermanentError, ValueError):
    """An environment variable holds a value Daybreak cannot use."""

    remedy = (
        "set the variable to a value it accepts (docs/environment-reference.md) in the environment Airflow's "
        "tasks run in, then clear the task"
    )


class DatasetConfigError(PermanentError, ValueError):
    """A dataset config is missing, malformed or inconsistent; the message is one line naming the file."""

    remedy = (
        "fix the dataset config the message names (`daybreak config check` checks it), then clear the task"
    )


@dataclass(frozen=True)
class Settings:
    """Where things live and which dataset and engine are active; each field is the variable of its name
    (`DAYBREAK_<FIELD>`, docs/environment-reference.md), with its declared default.

    Args:
        home: the data home; every path below is derived from it.
        dataset: the active dataset config: a shipped dataset's name (`include/daybreak/datasets/<name>.yml`)
            or the absolute path of a YAML file anywhere (`daybreak.datasets.dataset_path`).
        engine: `duckdb` or `spark` (`daybreak.nights.spark`, `daybreak.nights.spark_models`).
        spark_method: how dbt reaches Spark: `session` (master `spark_master`) or `thrift` (profile
            `spark_thrift`).
        spark_master: the master of Daybreak's own Spark sessions.
        roles_file: the YAML that maps users to roles; None means `roles_path`'s default, `roles.yml` in the data
            home, so the demo's data home carries its own.
        user: who the command line, and a local single-user app, act as; None means the operating-system user.
        user_header: the request header a reverse proxy sets to the user it authenticated; None: the app is not
            behind such a proxy and acts as `user`.
        airflow_url: where the Airflow UI is, for the dashboards' link (`AIRFLOW__API__BASE_URL`, else the local
            demo's address on `AIRFLOW__API__PORT`).
    """

    home: Path
    dataset: str = VARIABLES["DAYBREAK_DATASET"].default
    engine: str = VARIABLES["DAYBREAK_ENGINE"].default
    spark_method: str = VARIABLES["DAYBREAK_SPARK_METHOD"].default
    spark_master: str = VARIABLES["DAYBREAK_SPARK_MASTER"].default
    roles_file: Path | None = None
    user: str | None = None
    user_header: str | None = None
    airflow_url: str = "http://localhost:8080"

    @property
    def dataset_name(self) -> str:
        """The dataset's name, which names its folders: the shipped name, or the YAML file's name without its
        suffix (the config's `name:` must equal it). Only `[a-z][a-z0-9_]*`, so every path stays in the home.

        Raises:
            SettingsError: a name that is not such an identifier.
        """
        name = Path(self.dataset).stem if self.dataset.endswith((".yml", ".yaml")) else self.dataset
        if not SAFE_NAME.fullmatch(name):
            raise SettingsError(
                f"dataset {self.dataset!r}: a dataset's name is lowercase letters, digits and _, "
                f"starting with a letter (got {name!r})"
            )
        return name

    @property
    def landing_dir(self) -> Path:
        """Where source systems drop their nightly exports, one folder per business day."""
        return self.home / "landing" / self.dataset_name

    @property
    def lake_dir(self) -> Path:
        """The immutable raw Parquet lake, partitioned by business date."""
        return self.home / "lake" / self.dataset_name

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file the pipeline writes (one writer at a time)."""
        return self.home / "warehouse" / f"{self.dataset_name}.duckdb"

    @property
    def serving_path(self) -> Path:
        """The published read-only copy of the warehouse that dashboards and analysts open.

        Dashboards never open the writer's file, so a dashboard left open cannot block the nightly run.
        """
        return self.home / "serving" / f"{self.dataset_name}.duckdb"

    @property
    def models_dir(self) -> Path:
        return self.home / "models" / self.dataset_name

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports" / self.dataset_name

    @property
    def roles_path(self) -> Path:
        """The roles file in force: `roles_file`, else `roles.yml` in the data home (absent: everyone a viewer)."""
        return self.roles_file if self.roles_file is not None else self.home / "roles.yml"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def dbt_target(self) -> str:
        """The output of dbt_project/profiles.yml this engine builds with."""
        if self.engine == "spark":
            return "spark" if self.spark_method == "session" else "spark_thrift"
        return self.engine

    @property
    def spark_dir(self) -> Path:
        """Spark's files for this dataset: its warehouse (the marts' Parquet), its metastore and the Parquet
        copies of the tables the Python jobs write to DuckDB (`daybreak.nights.spark`)."""
        return self.home / "spark" / self.dataset_name

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's compiled output, kept per dataset under the data home so parallel datasets never collide."""
        return self.home / "dbt" / self.dataset_name / "target"

    @property
    def dbt_docs_dir(self) -> Path:
        """dbt's documentation site (`daybreak docs`): its own target folder, so generating the docs never
        replaces the night's `run_results.json` in `dbt_target_dir` that the Pipeline page reports."""
        return self.home / "dbt" / self.dataset_name / "docs"

    @property
    def dbt_docs_served_path(self) -> Path:
        """Where `daybreak docs --serve` records the address it serves the site at, while it runs: the Pipeline
        page links to it."""
        return self.dbt_docs_dir / "served.json"


def available_datasets() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yml"))


def dataset_path(dataset: str | Path) -> Path:
    """The YAML file a dataset is: a shipped name (`online_retail`) or the path of a .yml/.yaml file anywhere.

    A value that looks like a path (a slash, `..`, a YAML suffix) must be an existing YAML file; anything else
    must be a shipped dataset's name. So `/some/path/evil` is refused, never read as `/some/path/evil.yml`.

    Raises:
        DatasetConfigError: neither (one line, naming the value and the shipped datasets).
    """
    text = str(dataset)
    path = Path(text).expanduser()
    looks_like_path = "/" in text or "\\" in text or ".." in text or path.suffix in YAML_SUFFIXES
    if looks_like_path:
        if path.suffix in YAML_SUFFIXES and path.is_file():
            return path.resolve()
        raise DatasetConfigError(
            f"dataset {text!r}: no such YAML file (a path must name an existing .yml or .yaml file; "
            f"shipped datasets: {', '.join(available_datasets())})"
        )
    if text in available_datasets():
        return CONFIG_DIR / f"{text}.yml"
    raise DatasetConfigError(
        f"no dataset config {text!r}; shipped: {', '.join(available_datasets())} (or give the path of a .yml file)"
    )


def get_settings() -> Settings:
    """Read the settings from the environment now.

    `DAYBREAK_DATASET` is a shipped dataset's name or the path of a YAML file (made absolute here, so a job
    started elsewhere, an Airflow task, finds the same file).

    Raises:
        SettingsError: when `DAYBREAK_ENGINE` names an engine Daybreak does not have (or `spark` on a machine
            without PySpark or Java), or `DAYBREAK_DATASET` is
            neither a shipped dataset nor an existing YAML file, or its name is no safe identifier.
    """
    dataset = read("DAYBREAK_DATASET")
    try:
        path = dataset_path(dataset)
    except DatasetConfigError as error:
        raise SettingsError(f"DAYBREAK_DATASET: {error}") from None
    if path.stem != dataset:  # given as a path
        dataset = str(path)
    engine = read("DAYBREAK_ENGINE")
    if engine not in ENGINES:
        raise SettingsError(f"DAYBREAK_ENGINE={engine!r} is not one of {', '.join(ENGINES)}")
    spark_method = read("DAYBREAK_SPARK_METHOD")
    if spark_method not in SPARK_METHODS:
        raise SettingsError(
            f"DAYBREAK_SPARK_METHOD={spark_method!r} is not one of {', '.join(SPARK_METHODS)}"
        )
    if engine == "spark":
        check_spark_session()
    roles_file = read("DAYBREAK_ROLES_FILE")
    settings = Settings(
        home=data_home(),
        dataset=dataset,
        engine=engine,
        spark_method=spark_method,
        spark_master=read("DAYBREAK_SPARK_MASTER"),
        roles_file=Path(roles_file).expanduser().resolve() if roles_file else None,
        user=read("DAYBREAK_USER"),
        user_header=read("DAYBREAK_USER_HEADER"),
        airflow_url=read("AIRFLOW__API__BASE_URL") or f"http://localhost:{read('AIRFLOW__API__PORT')}",
    )
    settings.dataset_name  # noqa: B018 - refuse an unsafe name now, before anything is written
    return settings


def data_home() -> Path:
    """`DAYBREAK_HOME` now, absolute."""
    return Path(read("DAYBREAK_HOME")).expanduser().resolve()


def unchecked_settings() -> Settings:
    """The data home and dataset as `get_settings` reads them, without checking the dataset's file or the engine:
    for the DAG file's parse, which must stay light and must not fail on what the tasks check when they run."""
    return Settings(home=data_home(), dataset=read("DAYBREAK_DATASET"))


def check_spark_session() -> None:
    """Refuse `DAYBREAK_ENGINE=spark` at start-up where a Spark session cannot start, instead of in the middle of a
    night: PySpark must be installed and a Java runtime on `JAVA_HOME` or the `PATH`. With either dbt method: the
    model nights start a session (its driver here) even when dbt reaches a Thrift server.

    Checked without importing PySpark or starting Java, so reading the settings stays cheap.

    Raises:
        SettingsError: naming what is missing and how to provide it.
    """
    if importlib.util.find_spec("pyspark") is None:
        raise SettingsError(
            "DAYBREAK_ENGINE=spark needs PySpark, which is not installed: install dbt-spark[session] (it brings "
            "pyspark)"
        )
    java_home = os.environ.get("JAVA_HOME")  # Spark's launcher takes it over the PATH when it is set
    if not (Path(java_home, "bin", "java").exists() if java_home else shutil.which("java")):
        where = f"JAVA_HOME={java_home} has no bin/java" if java_home else "no java on the PATH"
        raise SettingsError(
            f"DAYBREAK_ENGINE=spark needs a Java runtime (17 or later) for the Spark session's driver: {where}"
        )


PSEUDONYM_KEY = "DAYBREAK_PSEUDONYM_KEY"
LINK_STORE_KEY = "DAYBREAK_LINK_STORE_KEY"


def secret(name: str, purpose: str) -> str:
    """A secret from the environment, read now (never at import, never from a file in the repository): docker
    compose passes it from `.env`, `daybreak demo` generates it for a fresh local data home (`daybreak.privacy`).

    Raises:
        SettingsError: the variable is unset or empty; one line naming it and what it is for.
    """
    value = read(name)
    if not value:
        raise SettingsError(
            f"{name} is not set: {purpose} (set it in the environment or .env; a demo home keeps the one "
            f"`daybreak demo` generated in DAYBREAK_HOME/secrets/{name.lower()}; see docs/privacy.md)"
        )
    return value


def pseudonym_key() -> bytes:
    """The key of the keyed hash that replaces every customer id at ingest (`daybreak.privacy.pseudonym`)."""
    return secret(PSEUDONYM_KEY, "the key ingest pseudonymises customer ids with").encode()


def link_store_key() -> bytes:
    """The Fernet key that encrypts the link store (pseudonym -> source customer id)."""
    return secret(LINK_STORE_KEY, "the Fernet key of the customer link store").encode()
