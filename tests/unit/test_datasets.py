"""Dataset configs: the three shipped ones load, and a broken config is refused with the rule it breaks."""

from __future__ import annotations

import datetime as dt

import pytest

from daybreak.core.settings import available_datasets, dataset_path
from daybreak.datasets import DatasetConfigError, load_dataset_config, parse_dataset_config
from daybreak.datasets.calendar import BusinessCalendar

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
    assert retail.segmentation_enabled
    store_item = load_dataset_config("store_item")
    assert store_item.series.keys == ("location", "product_id")
    assert not store_item.segmentation_enabled
    assert store_item.constants == {"unit_price": 1.0}


def test_calendar_closed_days():
    retail = BusinessCalendar.from_config(load_dataset_config("online_retail"))
    assert not retail.is_open(dt.date(2011, 2, 26))  # a Saturday
    assert not retail.is_open(dt.date(2011, 4, 29))  # the royal wedding bank holiday
    assert retail.is_open(dt.date(2011, 2, 27))
    synthetic = BusinessCalendar.from_config(load_dataset_config("synthetic"))
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
        ({"series": {"keys": [], "include_total": False}}, "unknown key `series.include_total`"),
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
        ({"landing": {"corrections": "merge"}}, "landing.corrections: Input should be 'add' or 'replace'"),
        (
            {"classification": {"negative_quantities": "never"}},
            "classification.negative_quantities: Input should be 'by_order', 'by_price' or 'all_returns'",
        ),
        ({"columns": {**MINIMAL["columns"], "location": []}}, "columns.location: a list of distinct names"),
        (
            {"columns": {**MINIMAL["columns"], "location": ["a", "a"]}},
            "columns.location: a list of distinct names",
        ),
    ],
)
def test_broken_configs_are_refused(change, message):
    with pytest.raises(DatasetConfigError, match=message):
        parse_dataset_config({**MINIMAL, **change})


def test_a_column_may_have_several_names_and_is_read_by_its_first():
    config = parse_dataset_config(
        {**MINIMAL, "columns": {**MINIMAL["columns"], "location": ["country", "Country"]}}
    )
    assert config.mapped_columns["location"] == "country"
    assert config.other_names == {"country": ("Country",)}
    assert "country" in config.export_columns and "Country" not in config.export_columns
    assert parse_dataset_config(MINIMAL).other_names == {}
    assert (config.landing.corrections, config.classification.negative_quantities) == ("add", "by_order")


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
    assert [c.name for c in default.candidates] == ["seasonal_naive", "prophet"]
    assert default.retrain == "weekly" and default.is_retrain_day(dt.date(2024, 3, 31))  # a Sunday
    assert not default.is_retrain_day(dt.date(2024, 4, 1))

    config = parse_dataset_config(
        {
            **MINIMAL,
            "forecasting": {
                "candidates": [
                    "auto_ets",
                    {"model": "prophet", "seasonality_mode": "search", "regressors": ["closed"]},
                    {"model": "global_lgbm", "n_estimators": 200, "transform": "log1p"},
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
    assert [(c.name, c.params.get("seasonality_mode")) for c in config.candidates] == [
        ("auto_ets", None),
        ("prophet", "additive"),
        ("prophet", "multiplicative"),
        ("global_lgbm", None),
    ]
    assert config.candidates[-1].params == {"n_estimators": 200, "transform": "log1p"}
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
        ({"candidates": [{"model": "global_lgbm", "conformal_windows": 1}]}, "at least 2"),
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
    assert {c.name for c in synthetic.candidates} == {"seasonal_naive", "prophet", "auto_ets", "theta"}
    store_item = load_dataset_config("store_item").forecasting
    assert any(c.params.get("transform") == "log1p" for c in store_item.candidates)


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


SHOP_YAML = """\
name: shop
columns: {ordered_at: ts, product_id: sku, location: store, quantity: qty, unit_price: p}
series: {keys: [location]}
"""


def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text)
    return path


def test_a_config_anywhere_loads_by_its_path(tmp_path):
    path = _write(tmp_path, "shop.yml", SHOP_YAML)
    config = load_dataset_config(path)
    assert (config.name, config.landing.delimiter, config.derived) == ("shop", None, {})
    assert dataset_path(str(path)) == path.resolve()
    assert dataset_path("synthetic").name == "synthetic.yml"


def test_a_name_other_than_the_files_is_refused(tmp_path):
    path = _write(tmp_path, "mine.yml", SHOP_YAML)
    with pytest.raises(DatasetConfigError) as error:
        load_dataset_config(path)
    assert (
        str(error.value) == f"{path}: name 'shop' differs from the file's name 'mine'; they must be the same"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            SHOP_YAML + "segmentaton: {enabled: true}\n",
            "unknown key `segmentaton`; allowed: name, description, currency, source, landing, grain, columns, "
            "constants, derived, ignore_columns, validation, classification, calendar, series, segmentation, "
            "customer_value, drift, monitoring, retraining, simulation, forecasting",
        ),
        (
            SHOP_YAML + "segmentation: {enabled: true, retrain_wekday: 2}\n",
            "unknown key `segmentation.retrain_wekday`; allowed in segmentation: enabled, features, log_features, "
            "algorithm, min_segments, max_segments, selection_sample, minibatch_above, score_batch_size, retrain, "
            "retrain_weekday, match_max_distance, min_silhouette, min_stability, promotion_margin",
        ),
        (
            SHOP_YAML.replace("keys:", "key:"),
            "unknown key `series.key`; allowed in series: keys, target, frequency, horizon, week_ends_on, include, "
            "holidays_country",
        ),
        (
            SHOP_YAML + "landing: {delimiter: ab}\n",
            "landing.delimiter: delimiter is `whitespace`, `tab` or one character (not a quote), got 'ab'",
        ),
        (
            SHOP_YAML + "landing: {timestamp_format: YYYYMMDD}\n",
            "landing.timestamp_format: a strftime format",
        ),
        (SHOP_YAML + "source: {kind: file}\n", "source of kind file needs default_path or path_env"),
        (
            SHOP_YAML + "calendar: {closed_weekdays: [7]}\n",
            "calendar.closed_weekdays.0: Input should be less",
        ),
        (SHOP_YAML.replace("name: shop", "name: ../shop"), "name: String should match pattern"),
        ("- a list\n", "a dataset config is a mapping of sections, got list"),
        (SHOP_YAML + "  bad indent: [\n", "not readable as YAML"),
    ],
)
def test_every_problem_is_one_line_naming_the_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, "shop.yml", text)
    with pytest.raises(DatasetConfigError) as error:
        load_dataset_config(path)
    assert str(error.value).startswith(f"{path}: {message}") and "\n" not in str(error.value)


def test_config_check_prints_one_line_and_exits_2_when_broken(tmp_path, capsys):
    from jobs.cli import main

    good = _write(tmp_path, "shop.yml", SHOP_YAML)
    assert main(["config", "check", str(good)]) == 0
    assert capsys.readouterr().out == f"OK shop: {good}\n"
    broken = _write(
        tmp_path / "..", "shop2.yml", SHOP_YAML.replace("name: shop", "name: shop2") + "segmentaton: {}\n"
    )
    assert main(["config", "check", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{broken.resolve()}: unknown key `segmentaton`") and err.count("\n") == 1


@pytest.mark.parametrize("name", ["online_retail", "store_item", "synthetic"])
def test_shipped_configs_pass_the_check(name, capsys):
    from jobs.cli import main

    assert main(["config", "check", name]) == 0


def test_the_reference_page_is_generated_from_the_schema():
    from daybreak.datasets import reference

    assert reference.PAGE.read_text(encoding="utf-8") == reference.render(), (
        "docs/config-reference.md is out of date: run .venv/bin/python -m daybreak.datasets.reference"
    )
    for key in ("`retrain_weekday`", "`timestamp_format`", "`expression`", "`template`", "`path_env`"):
        assert key in reference.render()


def test_your_own_configs_relative_data_file_is_beside_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PURCHASES_PATH", raising=False)
    source = "source: {kind: file, path_env: PURCHASES_PATH, default_path: data/p.txt}\n"
    config = load_dataset_config(_write(tmp_path, "shop.yml", SHOP_YAML + source))
    assert config.source_location() == str(tmp_path / "data" / "p.txt")
    monkeypatch.setenv("PURCHASES_PATH", "/elsewhere/p.txt")
    assert config.source_location() == "/elsewhere/p.txt"
    assert load_dataset_config("online_retail").source["default_path"].startswith("../shared/data/")


def test_the_reference_command_checks_the_committed_page(monkeypatch, tmp_path):
    from daybreak.datasets import reference

    assert reference.main(["--check"]) == 0
    monkeypatch.setattr(reference, "PAGE", tmp_path / "config-reference.md")
    assert reference.main(["--check"]) == 1
    assert reference.main([]) == 0 and reference.main(["--check"]) == 0
