"""What the model nights' Spark path decides without a session: which engine maps the work, and the code it ships.

The work itself on Spark, against the local path, is tests/integration/test_spark_models.py.
"""

from __future__ import annotations

import zipfile

from daybreak.core.settings import Settings
from daybreak.nights import spark_models


def test_the_engine_setting_chooses_where_the_work_runs(tmp_path):
    duckdb, spark = Settings(home=tmp_path), Settings(home=tmp_path, engine="spark")
    assert spark_models.map_series(duckdb) is None and spark_models.assign_segments(duckdb) is None
    assert callable(spark_models.map_series(spark)) and callable(spark_models.assign_segments(spark))
    assert spark_models.score_customer_value(duckdb) is None and callable(
        spark_models.score_customer_value(spark)
    )


def test_the_package_ships_as_a_zip_of_its_sources(tmp_path):
    settings = Settings(home=tmp_path, engine="spark")

    path = spark_models.package_zip(settings)

    assert path == settings.spark_dir / "py" / "daybreak.zip"
    names = zipfile.ZipFile(path).namelist()
    assert {
        "daybreak/__init__.py",
        "daybreak/models/forecasting/series.py",
        "daybreak/nights/spark_models.py",
    } <= set(names)
    assert not [n for n in names if "__pycache__" in n]
    assert spark_models.package_zip(settings) == path  # replaced, not added to
