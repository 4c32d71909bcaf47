"""The model nights' per-series and per-customer work on Spark executors, when the engine is Spark.

Forecasting: `map_series` gives `daybreak.models.forecasting.pool.run_all` a way to run the pure per-series function
`run_series` on Spark instead of the local process pool. Each task travels pickled in a row of its own (its
position and the bytes), the rows are hash-partitioned by position and `groupBy(...).applyInPandas(...)` calls
`run_series` once per series on an executor; the results come back pickled and are put in the tasks' order. The
fits across all series (the global candidates, `with_panel_forecasts`), reconciliation, the registry and the
writes stay on the driver, as on DuckDB: only the independent per-series work is distributed. A series' result
does not depend on where it ran, so the two paths write the same rows (apart from `SeriesResult.seconds`, the
time it took). One difference: a local worker process interrupts a fit at the per-series time limit, an executor
lets it finish and abandons it afterwards (`forecasting.time_limit`), so a limit that fires costs more time on
Spark, with the same fallback.

Segmentation: `assign_segments` scores the customers with `mapInPandas` over partitions of them, each partition
through the model's own `SegmentModel.assign`, the local path's function; the assignments come back in the
customers' order. Customer value: `score_customer_value` scores the customers' summaries the same way, each
partition through `daybreak.models.customer_value.score`.

Both use one SparkSession (`session`): the running one when there is one, else a new one on
`Settings.spark_master`. It uses no catalog (its data is in memory), so it never competes with dbt for the
embedded metastore. On a local master the executors' Python is the driver's own interpreter; on a cluster the
executors need the same environment (Daybreak's image, or a packed virtual environment through `spark.archives`,
see docs/spark.md), and the session ships the `daybreak` package itself so the per-series code is the driver's.
"""

from __future__ import annotations

import os
import pickle
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

import daybreak
from daybreak.core.files import write_atomic
from daybreak.models.customer_value import SCORE_COLUMNS, SUMMARY_COLUMNS, score
from daybreak.models.forecasting.series import run_series
from daybreak.models.forecasting.tasks import SeriesResult, SeriesTask
from daybreak.models.segmentation import ASSIGNMENT_COLUMNS
from daybreak.nights.spark import SHUFFLE_PARTITIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pyspark.sql import SparkSession

    from daybreak.core.settings import Settings
    from daybreak.models.customer_value import CustomerValueModel
    from daybreak.models.segmentation import SegmentModel

APP_NAME = "daybreak-models"
PARTITIONS_PER_CORE = 4
"""Partitions per core of the session's parallelism: series differ in cost (a Prophet backtest against a naive
one), so more, smaller partitions than cores keep every core busy to the end."""
SERIES_SCHEMA = "position long, result binary"
ASSIGNMENT_SCHEMA = "position long, segment_id int, segment_name string, distance double, probability double"
VALUE_SCHEMA = ", ".join(f"{c} double" for c in SCORE_COLUMNS if c != "customer_id") + ", position long"


def session(settings: Settings) -> SparkSession:
    """The SparkSession the model nights use: the running one (the process's, e.g. dbt's), else a new one on
    `settings.spark_master`."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(settings.spark_master)
        .appName(APP_NAME)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(SHUFFLE_PARTITIONS))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # set, not assumed: PySpark's builder keeps the options of the process's earlier sessions, and an
        # in-process dbt-spark session leaves the Hive catalog among them (only a new session reads this)
        .config("spark.sql.catalogImplementation", "in-memory")
    )
    local = settings.spark_master.startswith("local")
    if local:
        # PySpark takes the workers' interpreter from this variable alone (default: whichever `python3` is on
        # the PATH); a local worker must be this interpreter, with this environment's packages
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if not local:
        spark.sparkContext.addPyFile(str(package_zip(settings)))
    return spark


def package_zip(settings: Settings) -> Path:
    """The `daybreak` package's files as a zip under the data home (`spark/<dataset>/py/daybreak.zip`, replaced
    atomically), for executors that do not have this checkout: the per-series code they run is the driver's."""

    package = Path(daybreak.__file__).parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)

    def write(staging: Path) -> None:
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(package.parent).as_posix())

    return write_atomic(settings.spark_dir / "py" / "daybreak.zip", write)


def partitions(spark: SparkSession, count: int) -> int:
    """How many partitions `count` independent units are spread over: `PARTITIONS_PER_CORE` per core, at most
    one unit each."""
    return max(1, min(count, PARTITIONS_PER_CORE * spark.sparkContext.defaultParallelism))


def map_series(settings: Settings) -> Callable[[list[SeriesTask]], list[SeriesResult]] | None:
    """`run_all`'s `map_series` for the engine: `run_series` on Spark when it is Spark, None (the local process
    pool) on DuckDB."""
    if settings.engine != "spark":
        return None
    return lambda tasks: run_series_on_spark(tasks, session(settings))


def run_series_on_spark(tasks: list[SeriesTask], spark: SparkSession) -> list[SeriesResult]:
    """`run_series` over the tasks on Spark executors, one group per series; the results in the tasks' order."""
    if not tasks:
        return []
    rows = pd.DataFrame({"position": range(len(tasks)), "task": [pickle.dumps(task) for task in tasks]})
    frame = spark.createDataFrame(rows, schema="position long, task binary")
    # an explicit number of hash partitions: adaptive execution keeps it (it would coalesce these few small rows
    # into one partition, one core), and the grouping by the same column needs no further shuffle
    done = (
        frame.repartition(partitions(spark, len(tasks)), "position")
        .groupBy("position")
        .applyInPandas(_run_group, schema=SERIES_SCHEMA)
        .toPandas()
    )
    results = dict(zip(done["position"], done["result"], strict=True))
    return [pickle.loads(results[position]) for position in range(len(tasks))]  # noqa: S301 - our own pickles


def _run_group(group: pd.DataFrame) -> pd.DataFrame:
    """One series on an executor: unpickle its task, `run_series`, pickle the result."""
    results = [pickle.dumps(run_series(pickle.loads(task))) for task in group["task"]]  # noqa: S301
    return pd.DataFrame({"position": group["position"].to_numpy(), "result": results})


def assign_segments(settings: Settings) -> Callable[[SegmentModel, pd.DataFrame, int], pd.DataFrame] | None:
    """The segment night's scoring for the engine: on Spark when it is Spark, None (`SegmentModel.assign` in
    this process) on DuckDB."""
    if settings.engine != "spark":
        return None
    return lambda model, features, batch_size: assign_on_spark(model, features, batch_size, session(settings))


def assign_on_spark(
    model: SegmentModel, features: pd.DataFrame, batch_size: int, spark: SparkSession
) -> pd.DataFrame:
    """`model.assign` over partitions of the customers on Spark executors; the same frame as `model.assign`.

    Only the model's feature columns travel (with each customer's position); the customer ids are put back on
    the driver, so their type is whatever the mart's is.
    """

    if features.empty:
        return model.assign(features, batch_size)
    columns = list(model.features)
    # numbers as the model's own preparation makes them (`SegmentModel.scaled`), so Spark's doubles lose nothing
    rows = (
        features.loc[:, columns].apply(pd.to_numeric).astype("float64").assign(position=range(len(features)))
    )
    schema = ", ".join(f"`{c}` double" for c in columns) + ", position long"
    frame = spark.createDataFrame(rows, schema=schema)

    def assign(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            assigned = model.assign(batch.assign(customer_id=batch["position"]), batch_size)
            yield assigned.rename(columns={"customer_id": "position"})

    scored = (
        frame.repartition(partitions(spark, len(features)))
        .mapInPandas(assign, schema=ASSIGNMENT_SCHEMA)
        .toPandas()
        .sort_values("position")
    )
    assignments = scored.assign(customer_id=features["customer_id"].to_numpy()[scored["position"]])
    return assignments.loc[:, list(ASSIGNMENT_COLUMNS)].reset_index(drop=True)


def score_customer_value(
    settings: Settings,
) -> Callable[[CustomerValueModel, pd.DataFrame, int], pd.DataFrame] | None:
    """The customer-value night's scoring for the engine: on Spark when it is Spark, None (`score` in this
    process) on DuckDB."""
    if settings.engine != "spark":
        return None
    return lambda model, summary, horizon_days: score_on_spark(
        model, summary, horizon_days, session(settings)
    )


def score_on_spark(
    model: CustomerValueModel, summary: pd.DataFrame, horizon_days: int, spark: SparkSession
) -> pd.DataFrame:
    """`score` over partitions of the customers on Spark executors; the same frame as `score`.

    Only the summary's numbers travel (with each customer's position); the customer ids are put back on the
    driver, as `assign_on_spark` does.
    """
    if summary.empty:
        return score(model, summary, horizon_days)
    numbers = [c for c in SUMMARY_COLUMNS if c != "customer_id"]
    rows = summary.loc[:, numbers].astype("float64").assign(position=range(len(summary)))
    schema = ", ".join(f"`{c}` double" for c in numbers) + ", position long"
    frame = spark.createDataFrame(rows, schema=schema)

    def scored_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            scored = score(model, batch.assign(customer_id=batch["position"]), horizon_days)
            yield scored.rename(columns={"customer_id": "position"})

    scored = (
        frame.repartition(partitions(spark, len(summary)))
        .mapInPandas(scored_batches, schema=VALUE_SCHEMA)
        .toPandas()
        .sort_values("position")
    )
    result = scored.assign(customer_id=summary["customer_id"].to_numpy()[scored["position"]])
    return result.loc[:, list(SCORE_COLUMNS)].reset_index(drop=True)
