"""Settings are read from the environment when asked for, and every path derives from the data home."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak.settings import Settings, SettingsError, get_settings


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
