"""Dataset configs: the three shipped ones load, and a broken config is refused with the rule it breaks."""

from __future__ import annotations

import datetime as dt

import pytest

from daybreak.datasets import (
    DatasetConfigError,
    available_datasets,
    load_dataset_config,
    parse_dataset_config,
)

MINIMAL = {
    "name": "shop",
    "columns": {
        "ordered_at": "ts",
        "product_id": "sku",
        "location": "store",
        "quantity": "qty",
        "unit_price": "p",
    },
    "series": {"keys": ["location"], "target": "units", "frequency": "daily"},
}


def test_three_datasets_ship():
    assert available_datasets() == ["online_retail", "store_item", "synthetic"]
    retail = load_dataset_config("online_retail")
    assert retail.series.include["location"][0] == "United Kingdom"
    assert retail.series.include_total and retail.segmentation_enabled
    store_item = load_dataset_config("store_item")
    assert store_item.series.keys == ("location", "product_id")
    assert not store_item.segmentation_enabled
    assert store_item.constants == {"unit_price": 1.0}


def test_calendar_closed_days():
    retail = load_dataset_config("online_retail").calendar
    assert not retail.is_open(dt.date(2011, 2, 26))  # a Saturday
    assert not retail.is_open(dt.date(2011, 4, 29))  # the royal wedding bank holiday
    assert retail.is_open(dt.date(2011, 2, 27))
    synthetic = load_dataset_config("synthetic").calendar
    assert not synthetic.is_open(dt.date(2030, 12, 25))


def test_source_location_from_env_or_override(monkeypatch, tmp_path):
    config = load_dataset_config("online_retail")
    monkeypatch.setenv("DAYBREAK_ONLINE_RETAIL_PATH", str(tmp_path / "mine.parquet"))
    assert config.source_location() == str(tmp_path / "mine.parquet")
    assert config.source_location("s3://bucket/retail.parquet") == "s3://bucket/retail.parquet"
    with pytest.raises(DatasetConfigError, match="no source file"):
        load_dataset_config("synthetic").source_location()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"columns": {"ordered_at": "ts"}}, "required canonical columns not mapped"),
        ({"columns": {**MINIMAL["columns"], "colour": "c"}}, "unknown canonical columns"),
        ({"series": {"keys": ["colour"]}}, "series keys must be"),
        ({"series": {"keys": ["location"], "target": "profit"}}, "series.target"),
        ({"series": {"keys": ["location"], "frequency": "yearly"}}, "series.frequency"),
        ({"series": {"keys": []}}, "series needs keys"),
    ],
)
def test_broken_configs_are_refused(change, message):
    with pytest.raises(DatasetConfigError, match=message):
        parse_dataset_config({**MINIMAL, **change})


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DatasetConfigError, match="available: online_retail, store_item, synthetic"):
        load_dataset_config("nope")


def test_segmentation_section_is_parsed_with_defaults():
    synthetic = load_dataset_config("synthetic").segmentation
    assert synthetic.enabled and synthetic.algorithm == "kmeans"
    assert synthetic.features == ("recency_days", "frequency", "monetary", "avg_basket_value")
    assert synthetic.log_features == ("frequency", "monetary", "avg_basket_value")
    assert (synthetic.min_segments, synthetic.max_segments) == (3, 8)
    assert synthetic.is_retrain_day(dt.date(2024, 6, 30)) and not synthetic.is_retrain_day(
        dt.date(2024, 7, 1)
    )
    assert not load_dataset_config("store_item").segmentation.enabled

    custom = parse_dataset_config(
        {
            **MINIMAL,
            "segmentation": {
                "enabled": True,
                "features": ["recency_days", "return_rate"],
                "log_features": [],
                "algorithm": "gmm",
                "retrain": "monthly",
            },
        }  # fmt: skip
    ).segmentation
    assert custom.features == ("recency_days", "return_rate") and custom.log_features == ()
    assert custom.is_retrain_day(dt.date(2024, 7, 1)) and not custom.is_retrain_day(dt.date(2024, 7, 2))
    assert parse_dataset_config(MINIMAL).segmentation.enabled is False


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"algorithm": "dbscan"}, "segmentation.algorithm"),
        ({"min_segments": 5, "max_segments": 3}, "min_segments <= max_segments"),
        ({"retrain": "hourly"}, "segmentation.retrain"),
        ({"retrain_weekday": 7}, "retrain_weekday"),
        ({"features": ["recency_days"], "log_features": ["monetary"]}, "not among segmentation.features"),
        ({"features": ["customer_id", "monetary"], "log_features": []}, "distinct feature columns"),
        ({"min_stability": 1.5}, "min_stability"),
    ],
)
def test_broken_segmentation_sections_are_refused(section, message):
    with pytest.raises(DatasetConfigError, match=message):
        parse_dataset_config({**MINIMAL, "segmentation": {"enabled": True, **section}})
