"""Settings are read from the environment when asked for, and every path derives from the data home."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak.core.settings import Settings, SettingsError, get_settings


def test_defaults_and_derived_paths(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("DAYBREAK_HOME", "DAYBREAK_DATASET", "DAYBREAK_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    assert settings == Settings(home=tmp_path / ".daybreak", dataset="synthetic", engine="duckdb")
    assert settings.warehouse_path == tmp_path / ".daybreak" / "warehouse" / "synthetic.duckdb"
    assert settings.serving_path != settings.warehouse_path
    assert settings.landing_dir == tmp_path / ".daybreak" / "landing" / "synthetic"
    assert settings.airflow_home == tmp_path / ".daybreak" / "airflow"


def test_read_lazily_on_every_call(monkeypatch, tmp_path):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path / "one"))
    first = get_settings()
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path / "two"))
    monkeypatch.setenv("DAYBREAK_DATASET", "online_retail")
    second = get_settings()
    assert first.home == tmp_path / "one"
    assert (second.home, second.dataset) == (tmp_path / "two", "online_retail")
    assert second.lake_dir == Path(tmp_path / "two" / "lake" / "online_retail")


def test_unknown_engine_is_refused(monkeypatch):
    monkeypatch.setenv("DAYBREAK_ENGINE", "oracle")
    with pytest.raises(SettingsError, match="DAYBREAK_ENGINE='oracle'"):
        get_settings()


SHOP_YAML = "name: shop\nconstants: {location: one, product_id: p}\ncolumns: {ordered_at: ts, quantity: q}\n"
SHOP_YAML += "derived: {unit_price: {expression: amount / q}}\nseries: {keys: [location]}\n"


def test_a_dataset_yaml_anywhere_writes_only_inside_the_home(monkeypatch, tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "shop.yml").write_text(SHOP_YAML)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAYBREAK_DATASET", "configs/shop.yml")
    settings = get_settings()
    assert settings.dataset == str(tmp_path / "configs" / "shop.yml")  # absolute, for jobs started elsewhere
    assert settings.dataset_name == "shop"
    paths = [
        settings.landing_dir,
        settings.lake_dir,
        settings.warehouse_path,
        settings.serving_path,
        settings.models_dir,
        settings.reports_dir,
        settings.dbt_target_dir,
    ]
    assert all(path.resolve().is_relative_to(tmp_path / "home") and "shop" in str(path) for path in paths)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "/some/path/evil",
            "DAYBREAK_DATASET: dataset '/some/path/evil': no such YAML file (a path must name an existing .yml or "
            ".yaml file; shipped datasets: online_retail, store_item, synthetic)",
        ),
        ("../evil", "DAYBREAK_DATASET: dataset '../evil': no such YAML file"),
        ("evil.yml", "DAYBREAK_DATASET: dataset 'evil.yml': no such YAML file"),
        (
            "shop",
            "DAYBREAK_DATASET: no dataset config 'shop'; shipped: online_retail, store_item, synthetic "
            "(or give the path of a .yml file)",
        ),
    ],
)
def test_a_dataset_that_is_neither_shipped_nor_an_existing_yaml_is_refused(monkeypatch, value, message):
    monkeypatch.setenv("DAYBREAK_DATASET", value)
    with pytest.raises(SettingsError) as error:
        get_settings()
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_yaml_whose_name_could_leave_the_home_is_refused(monkeypatch, tmp_path):
    (tmp_path / "Shop-2.yml").write_text(SHOP_YAML.replace("name: shop", "name: Shop-2"))
    monkeypatch.setenv("DAYBREAK_DATASET", str(tmp_path / "Shop-2.yml"))
    with pytest.raises(SettingsError, match=r"a dataset's name is lowercase letters, digits and _.*'Shop-2'"):
        get_settings()
    with pytest.raises(SettingsError, match="got '..'"):
        Settings(home=tmp_path, dataset="..").landing_dir  # noqa: B018


def test_spark_is_an_engine_validated_at_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path))
    monkeypatch.setenv("DAYBREAK_ENGINE", "spark")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    (tmp_path / "jdk" / "bin").mkdir(parents=True)
    (tmp_path / "jdk" / "bin" / "java").touch()
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())
    settings = get_settings()
    assert (settings.engine, settings.spark_method, settings.spark_master) == ("spark", "session", "local[2]")
    assert settings.dbt_target == "spark"
    assert settings.spark_dir == tmp_path / "spark" / "synthetic"
    monkeypatch.setenv("DAYBREAK_SPARK_METHOD", "thrift")
    assert get_settings().dbt_target == "spark_thrift"
    monkeypatch.delenv("DAYBREAK_ENGINE")
    assert get_settings().dbt_target == "duckdb"


def test_spark_without_java_or_pyspark_is_refused_with_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path))
    monkeypatch.setenv("DAYBREAK_ENGINE", "spark")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())
    with pytest.raises(SettingsError, match="needs a Java runtime.*no-jdk has no bin/java"):
        get_settings()
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(SettingsError, match="needs PySpark"):
        get_settings()
    # dbt on a Thrift server still leaves the model nights' session (its driver) here
    monkeypatch.setenv("DAYBREAK_SPARK_METHOD", "thrift")
    with pytest.raises(SettingsError, match="needs PySpark"):
        get_settings()
    monkeypatch.setenv("DAYBREAK_SPARK_METHOD", "jdbc")
    with pytest.raises(SettingsError, match="DAYBREAK_SPARK_METHOD='jdbc'"):
        get_settings()
