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
        ({"columns": {**MINIMAL["columns"], "colour": "c"}}, r"columns\.colour: Input should be 'order_id'"),
        ({"series": {"keys": ["colour"]}}, r"series\.keys\.0: Input should be 'location' or 'product_id'"),
        ({"series": {"keys": ["location"], "target": "profit"}}, "series.target"),
        ({"series": {"keys": ["location"], "frequency": "yearly"}}, "series.frequency"),
        ({"series": {"keys": []}}, "series: needs keys, include_total, or both"),
        ({"validation": {"ranges": {"location": {"min": 0}}}}, "validation.ranges.location: Input should be"),
        (
            {"validation": {"ranges": {"quantity": {"low": 0}}}},
            "unknown key `validation.ranges.quantity.low`; allowed in validation.ranges.quantity: min, max",
        ),
        ({"validation": {"ranges": {"quantity": {"min": 5, "max": 1}}}}, "min 5 is above max 1"),
        (
            {"validation": {"allowed_values": {"quantity": [1]}}},
            "validation.allowed_values.quantity: Input should be",
        ),
        ({"validation": {"patterns": {"order_id": "C(?"}}}, "is not a regular expression"),
        (
            {"validation": {"duplicate_lines": "drop"}},
            "validation.duplicate_lines: Input should be 'keep' or 'quarantine'",
        ),
        ({"landing": {"late_files_lookback_days": -1}}, "late_files_lookback_days"),
    ],
)
def test_broken_configs_are_refused(change, message):
    with pytest.raises(DatasetConfigError, match=message):
        parse_dataset_config({**MINIMAL, **change})


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DatasetConfigError, match="shipped: online_retail, store_item, synthetic"):
        load_dataset_config("nope")


def test_validation_and_classification_are_read_from_the_config():
    config = parse_dataset_config(
        {
            **MINIMAL,
            "validation": {
                "ranges": {"quantity": {"min": 0}, "unit_price": {"max": 1000}},
                "allowed_values": {"location": ["1", "2"]},
                "patterns": {"product_id": "SKU-\\d+"},
                "duplicate_lines": "quarantine",
            },
            "classification": {
                "return_order_prefix": "R",
                "non_product_codes": {"SHIP": "postage"},
                "non_product_patterns": [{"pattern": "GIFT-.*", "category": "gift_voucher"}],
            },
        }
    )
    ranges = config.validation.ranges
    assert (ranges["quantity"].min, ranges["quantity"].max, ranges["unit_price"].max) == (0.0, None, 1000.0)
    assert config.validation.allowed_values == {"location": ("1", "2")}
    assert config.validation.quarantine_duplicate_lines
    assert config.classification.return_order_prefix == "R"
    assert config.classification.non_product_patterns == (("GIFT-.*", "gift_voucher"),)
    assert config.late_files_lookback_days == 14


def test_forecasting_section_defaults_and_search_expansion():
    default = parse_dataset_config(MINIMAL).forecasting
    assert [c["name"] for c in default.candidates] == ["seasonal_naive", "prophet"]
    assert default.retrain == "weekly" and default.is_retrain_day(dt.date(2024, 3, 31))  # a Sunday
    assert not default.is_retrain_day(dt.date(2024, 4, 1))

    config = parse_dataset_config(
        {
            **MINIMAL,
            "forecasting": {
                "candidates": [
                    "auto_ets",
                    {"model": "prophet", "seasonality_mode": "search", "regressors": ["closed"]},
                ],
                "backtest": {"folds": 4, "horizon": 14, "step": 7},
                "selection_metric": "smape",
                "ensemble_top": 2,
                "promotion_margin": 0.05,
                "retrain": "monthly",
                "time_limit_seconds": 30,
            },
        }
    ).forecasting
    assert [(c["name"], c["params"].get("seasonality_mode")) for c in config.candidates] == [
        ("auto_ets", None),
        ("prophet", "additive"),
        ("prophet", "multiplicative"),
    ]
    assert config.is_retrain_day(dt.date(2024, 5, 1)) and not config.is_retrain_day(dt.date(2024, 5, 2))
    options = config.options(horizon=28)
    assert (options.folds, options.bt_horizon, options.bt_step, options.metric) == (4, 14, 7, "smape")
    assert options.ensemble_top == 2 and options.time_limit_seconds == 30.0


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
        ({"candidates": ["arima_deluxe"]}, "unknown model"),
        ({"candidates": [{"model": "auto_ets", "season_length": 7}]}, "does not take"),
        ({"retrain": "hourly"}, r"forecasting\.retrain: Input should be 'daily', 'weekly' or 'monthly'"),
        ({"selection_metric": "mape"}, "selection_metric"),
        (
            {"backtest": {"folds": 0}},
            "forecasting.backtest.folds: Input should be greater than or equal to 1",
        ),
        (
            {"promotion": 0.1},
            "unknown key `forecasting.promotion`; allowed in forecasting: candidates, backtest",
        ),
    ],
)
def test_a_broken_forecasting_section_is_refused(section, message):
    with pytest.raises(DatasetConfigError, match=message):
        parse_dataset_config({**MINIMAL, "forecasting": section})


def test_shipped_forecasting_sections():
    synthetic = load_dataset_config("synthetic").forecasting
    assert {c["name"] for c in synthetic.candidates} == {"seasonal_naive", "prophet", "auto_ets", "theta"}
    store_item = load_dataset_config("store_item").forecasting
    assert any(c["params"].get("transform") == "log1p" for c in store_item.candidates)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"algorithm": "dbscan"}, "segmentation.algorithm"),
        ({"min_segments": 5, "max_segments": 3}, "min_segments must not exceed max_segments"),
        ({"retrain": "hourly"}, "segmentation.retrain"),
        ({"retrain_weekday": 7}, "retrain_weekday"),
        (
            {"features": ["recency_days"], "log_features": ["monetary"]},
            r"segmentation: log_features \['monetary'\] are not among features",
        ),
        ({"features": ["customer_id", "monetary"], "log_features": []}, "distinct feature columns"),
        ({"min_stability": 1.5}, "min_stability"),
    ],
)
def test_broken_segmentation_sections_are_refused(section, message):
    with pytest.raises(DatasetConfigError, match=message):
        parse_dataset_config({**MINIMAL, "segmentation": {"enabled": True, **section}})
