"""Ingest: mapping onto canonical lines, the quarantine rules, and the missing/empty/duplicate export cases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from daybreak.core.failures import PermanentError
from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config
from daybreak.ingest import canonical, lake, preparation, quarantine_rules
from daybreak.warehouse.connection import connect
from jobs import ingest

DAY = dt.date(2024, 3, 5)
HEADER = "invoice_no,invoice_ts,customer_ref,sku,description,country,qty,unit_price\n"
GOOD_ROWS = (
    "100001,2024-03-05 09:15:00,C0001,SKU-1,Mug,United Kingdom,2,3.50\n"
    '100001,2024-03-05 09:15:00,C0001,SKU-2,"Plate, large",United Kingdom,1,12.00\n'
    "100002,2024-03-05 10:00:00,,SKU-1,Mug,France,-1,3.50\n"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", dataset="synthetic")


def land(settings: Settings, day: dt.date, text: str, name: str = "sales.csv") -> Path:
    folder = settings.landing_dir / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def warehouse_rows(settings: Settings, sql: str) -> list[tuple]:
    with connect(settings.warehouse_path, read_only=True) as connection:  # reads the lake from the data home
        return connection.execute(sql).fetchall()


def test_maps_columns_and_quarantines_each_broken_rule():
    config = load_dataset_config("synthetic")
    raw = pd.read_csv(
        pd.io.common.StringIO(
            HEADER
            + GOOD_ROWS
            + "100003,not a time,C0002,SKU-3,Bowl,Germany,1,2.00\n"
            + "100003,2024-03-05 11:00:00,C0002,SKU-3,Bowl,Germany,two,2.00\n"
            + "100003,2024-03-05 11:00:00,C0002,,Bowl,Germany,1,2.00\n"
            + "100004,2024-03-04 23:59:00,C0002,SKU-3,Bowl,Germany,1,2.00\n"
        ),
        dtype=str,
        keep_default_na=False,
    )
    result = canonical.to_canonical(raw, config, source_file="sales.csv", business_date=DAY)

    assert result.rows_in == 7 == len(result.loaded) + len(result.quarantined)
    assert result.quarantined["rule"].tolist() == [
        "ordered_at_unparseable",
        "quantity_not_numeric",
        "product_id_missing",
        "ordered_at_not_on_business_date",
    ]
    assert result.quarantined["source_row"].tolist() == [4, 5, 6, 7]
    assert json.loads(result.quarantined["raw_values"][1])["qty"] == "two"
    first = result.loaded.iloc[0]
    assert (first["order_id"], first["customer_id"], first["location"], first["quantity"]) == (
        "100001",
        "C0001",
        "United Kingdom",
        2.0,
    )
    assert result.loaded["product_name"].tolist()[1] == "Plate, large"
    assert pd.isna(result.loaded["customer_id"].iloc[2]), "an empty customer field is a missing customer"


def test_missing_column_names_file_and_column():
    config = load_dataset_config("synthetic")
    raw = pd.DataFrame({"invoice_no": ["1"], "invoice_ts": ["2024-03-05 09:00:00"]})
    with pytest.raises(
        ingest.IngestError, match=r"sales\.csv: missing required column\(s\) \['customer_ref'"
    ):
        canonical.to_canonical(raw, config, source_file="sales.csv", business_date=DAY)


def test_float_customer_ids_and_constants_for_sources_without_prices():
    config = load_dataset_config("store_item")
    raw = pd.DataFrame({"date": ["2024-03-05"], "store": ["1"], "item": ["7"], "sales": ["13"]})
    result = canonical.to_canonical(raw, config, source_file="s.csv", business_date=DAY)
    line = result.loaded.iloc[0]
    assert (line["unit_price"], line["quantity"], line["order_id"]) == (1.0, 13.0, "s.csv:1")

    retail = load_dataset_config("online_retail")
    raw = pd.DataFrame(
        {
            "InvoiceNo": ["536365"],
            "StockCode": ["85123A"],
            "Description": ["HEART"],
            "Quantity": ["6"],
            "InvoiceDate": ["2024-03-05 08:26:00"],
            "UnitPrice": ["2.55"],
            "CustomerID": ["17850.0"],
            "Country": ["United Kingdom"],
        }
    )
    assert (
        canonical.to_canonical(raw, retail, source_file="r.csv", business_date=DAY).loaded["customer_id"][0]
        == "17850"
    )


def test_run_lands_an_immutable_partition_and_accounts_for_every_row(settings):
    land(settings, DAY, HEADER + GOOD_ROWS + "100003,2024-03-05 11:00:00,C0002,SKU-3,Bowl,Germany,x,2.00\n")

    summary = ingest.run(DAY, "run-1", settings)

    assert (summary["rows_in"], summary["rows_loaded"], summary["rows_quarantined"]) == (4, 3, 1)
    (partition,) = lake_files(settings)
    checksum = lake.sha256_of(settings.landing_dir / DAY.isoformat() / "sales.csv")
    assert partition.name == f"{checksum}.parquet", "one lake file per landed file, named by its checksum"
    kept = lake.landed_copy(settings, DAY, checksum, "sales.csv")
    assert kept.read_bytes() == (settings.landing_dir / DAY.isoformat() / "sales.csv").read_bytes()
    assert warehouse_rows(settings, "select count(*) from raw.sales_lines") == [(3,)]
    assert warehouse_rows(
        settings, "select rows_in, rows_loaded, rows_quarantined from monitoring.ingest_runs"
    ) == [(4, 3, 1)]
    assert warehouse_rows(settings, "select source_row, rule from monitoring.quarantine") == [
        (4, "quantity_not_numeric")
    ]

    before = partition.stat().st_mtime_ns
    ingest.run(DAY, "run-2", settings)
    assert partition.stat().st_mtime_ns == before, "a rerun with the same files must not rewrite the lake"
    assert warehouse_rows(settings, "select count(*) from monitoring.ingest_runs") == [(1,)]


def test_changed_files_for_a_landed_day_are_refused(settings):
    path = land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run-1", settings)
    path.write_text(HEADER + GOOD_ROWS.replace("3.50", "4.50"))
    with pytest.raises(ingest.IngestError, match="immutable") as error:
        ingest.run(DAY, "run-2", settings)
    assert isinstance(error.value, canonical.RefusedExportError), "a refusal fails the night without retries"
    assert warehouse_rows(settings, "select status from monitoring.ingest_runs order by status") == [
        ("loaded",),
        ("refused",),
    ]


def test_a_refused_file_is_recorded_with_its_reason_and_a_fixed_one_then_loads(settings):
    # given an empty export for an open day
    path = land(settings, DAY, HEADER)

    # when it is ingested, then the night fails and the file is recorded as refused, with the reason
    with pytest.raises(ingest.IngestError, match="is empty") as error:
        ingest.run(DAY, "run-1", settings)
    assert warehouse_rows(
        settings, "select source_file, status, reason, rows_in, file_sha256 from monitoring.ingest_runs"
    ) == [("sales.csv", "refused", str(error.value), 0, lake.sha256_of(path))]
    assert isinstance(error.value, canonical.RefusedExportError), "the same file is refused on every retry"
    assert not lake.partition_dir(settings, DAY).exists(), "nothing lands"

    # and a rerun refuses it again without a second row
    with pytest.raises(ingest.IngestError):
        ingest.run(DAY, "run-2", settings)
    assert warehouse_rows(settings, "select count(*) from monitoring.ingest_runs") == [(1,)]

    # and the corrected file loads beside the refusal
    path.write_text(HEADER + GOOD_ROWS)
    assert ingest.run(DAY, "run-3", settings)["rows_loaded"] == 3
    assert warehouse_rows(settings, "select status from monitoring.ingest_runs order by status") == [
        ("loaded",),
        ("refused",),
    ]


def test_missing_export_names_the_expected_path_and_date_and_writes_nothing(settings):
    with pytest.raises(ingest.IngestError) as error:
        ingest.run(DAY, "run-1", settings)
    message = str(error.value)
    assert "2024-03-05" in message
    assert str(settings.landing_dir / "2024-03-05" / "*.csv") in message
    # an export that has not landed yet may land before the task's next try: this one is retried
    assert not isinstance(error.value, canonical.RefusedExportError)
    assert not lake.partition_dir(settings, DAY).exists()
    assert not settings.warehouse_path.exists()


def test_empty_export_on_an_open_day_fails(settings):
    path = land(settings, DAY, HEADER)
    with pytest.raises(ingest.IngestError, match=f"{path}.*is empty"):
        ingest.run(DAY, "run-1", settings)
    assert not lake.partition_dir(settings, DAY).exists()


def test_empty_or_missing_export_on_a_closed_day_is_fine(settings):
    christmas = dt.date(2024, 12, 25)  # closed in the synthetic calendar
    land(settings, christmas, HEADER)
    assert ingest.run(christmas, "run-1", settings)["rows_loaded"] == 0
    assert ingest.run(dt.date(2025, 1, 1), "run-1", settings)["files"] == 0


# --- the bad-export corpus: tests/data/bad_exports/README.md documents each file's outcome ---

BAD_EXPORTS = Path(__file__).resolve().parents[1] / "data" / "bad_exports"


@dataclass(frozen=True)
class Outcome:
    """What ingesting one corpus file does: the data rows loaded, the (row, rule) quarantined, or the error."""

    loaded_rows: tuple[int, ...] = ()
    quarantined: tuple[tuple[int, str], ...] = ()
    error: str | None = None
    # line numbers (in the file) of the malformed rows, in quarantine order
    malformed_lines: tuple[int, ...] = ()
    unexpected_columns: tuple[str, ...] = ()
    # land this corpus file beside the named one (ingested in the same run), for the duplicate delivery
    beside: str | None = None
    # read with this corpus config instead of the synthetic dataset's
    config: str | None = None
    # a corpus file landed and ingested on a night before this one arrives for the same day, which this one
    # replaces (`landing.corrections: replace`): its rows are counted as replaced
    replaces: str | None = None
    replaced_rows: int = 0


BAD_EXPORT_OUTCOMES = {
    "good.csv": Outcome(loaded_rows=(1, 2, 3, 4)),
    "good.parquet": Outcome(loaded_rows=(1, 2, 3, 4)),
    "good.jsonl": Outcome(loaded_rows=(1, 2, 3, 4)),
    "malformed_rows.csv": Outcome(
        loaded_rows=(1, 4, 5),
        quarantined=((2, "malformed_row"), (3, "malformed_row")),
        malformed_lines=(3, 4),
    ),
    "wrong_types.csv": Outcome(
        loaded_rows=(9, 10),
        quarantined=(
            (1, "ordered_at_unparseable"),
            (2, "ordered_at_not_on_business_date"),
            (3, "quantity_not_numeric"),
            (4, "quantity_not_finite"),
            (5, "unit_price_not_numeric"),
            (6, "unit_price_not_finite"),
            (7, "product_id_missing"),
            (8, "location_missing"),
            (11, "unit_price_below_min"),
        ),
    ),
    "config_rules.csv": Outcome(
        loaded_rows=(1, 7),
        quarantined=(
            (2, "quantity_above_max"),
            (3, "quantity_below_min"),
            (4, "unit_price_below_min"),
            (5, "order_id_pattern_mismatch"),
            (6, "duplicate_line"),
        ),
    ),
    "duplicate_file.csv": Outcome(beside="good.csv", loaded_rows=(1, 2, 3, 4)),
    "missing_column.csv": Outcome(error=r"missing_column\.csv: missing required column\(s\) \['country'\]"),
    "extra_column.csv": Outcome(loaded_rows=(1, 2), unexpected_columns=("promo_code",)),
    "empty.csv": Outcome(error=r"empty\.csv for business date 2024-03-05 is empty \(the shop was open\)"),
    "latin1.csv": Outcome(loaded_rows=(1, 2)),
    "semicolon.csv": Outcome(loaded_rows=(1, 2)),
    "utf16_tabs.csv": Outcome(loaded_rows=(1, 2, 3, 4)),
    "gzipped.csv": Outcome(loaded_rows=(1, 2, 3, 4)),
    "padded_header.csv": Outcome(loaded_rows=(1, 2, 3, 4)),
    "time_zones.csv": Outcome(loaded_rows=(1, 2, 3, 4, 5)),
    "preamble.csv": Outcome(loaded_rows=(1, 2, 3, 4)),
    "excel_sep.csv": Outcome(loaded_rows=(1, 2, 3, 4)),
    "json_array.jsonl": Outcome(loaded_rows=(1, 2, 3, 4)),
    "truncated_last_line.csv": Outcome(
        loaded_rows=(1, 2, 3), quarantined=((4, "malformed_row"),), malformed_lines=(5,)
    ),
    "truncated_last_line.jsonl": Outcome(
        loaded_rows=(1, 2, 3), quarantined=((4, "malformed_row"),), malformed_lines=(4,)
    ),
    "unclosed_quote.csv": Outcome(
        loaded_rows=(1, 3, 4), quarantined=((2, "malformed_row"),), malformed_lines=(3,)
    ),
    "corrected_redelivery.csv": Outcome(
        loaded_rows=(1, 2, 3, 4), replaces="good.csv", replaced_rows=4, config="corrected_redelivery.yml"
    ),
    "day_first_dates.csv": Outcome(loaded_rows=(1, 2, 3, 4)),
    "ambiguous_dates.csv": Outcome(
        error=r"ambiguous_dates\.csv for business date 2024-03-05: its dates \('invoice_ts', e\.g\. "
        r"'05/03/2024 09:15:00'\) read both as day/month and as month/day, and neither the file's values nor its "
        r"business date settle which; set landing\.timestamp_format"
    ),
    "all_quarantined.csv": Outcome(
        error=r"2024-03-05 .* hold no valid line, and the shop was open: all_quarantined\.csv: all 4 row\(s\) "
        r"quarantined: ordered_at_not_on_business_date \(4\); row 1: ordered_at '2024-03-04 09:15:00'"
    ),
    "renamed_column.csv": Outcome(loaded_rows=(1, 2, 3, 4), config="renamed_column.yml"),
    "negative_not_return.csv": Outcome(loaded_rows=(1, 2, 3, 4)),
    "mixed_encodings.csv": Outcome(loaded_rows=(1, 2, 3)),
    "control_characters.csv": Outcome(
        loaded_rows=(1, 4),
        quarantined=((2, "customer_id_control_character"), (3, "product_id_control_character")),
    ),
    "decimal_comma.csv": Outcome(
        loaded_rows=(1, 2, 4), quarantined=((3, "unit_price_not_numeric"),), config="decimal_comma.yml"
    ),
    "own_format.txt": Outcome(
        loaded_rows=(1, 7),
        quarantined=(
            (2, "unit_price_not_derivable"),
            (3, "unit_price_not_derivable"),
            (4, "ordered_at_unparseable"),
            (5, "ordered_at_not_on_business_date"),
            (6, "malformed_row"),
        ),
        malformed_lines=(7,),
        config="own_format.yml",
    ),
}


def use_config(monkeypatch, fmt: str = "csv", *, quarantine_duplicate_lines: bool = False) -> None:
    """Land the synthetic dataset in another format (the configs all land CSV today), or with duplicate lines
    quarantined (the synthetic shop keeps them: its orders can repeat a line)."""
    config = load_dataset_config("synthetic")
    validation = dataclasses.replace(
        config.validation, duplicate_lines="quarantine" if quarantine_duplicate_lines else "keep"
    )
    landing = dataclasses.replace(config.landing, format=fmt, glob=f"*.{fmt}")
    changed = dataclasses.replace(config, landing=landing, validation=validation)
    monkeypatch.setattr(ingest, "load_dataset_config", lambda name: changed)


def use_landing_format(monkeypatch, fmt: str) -> None:
    use_config(monkeypatch, fmt)


def lake_files(settings: Settings, day: dt.date = DAY) -> list[Path]:
    return sorted(lake.partition_dir(settings, day).glob("*.parquet"))


def lake_rows(settings: Settings, day: dt.date = DAY) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(path) for path in lake_files(settings, day)], ignore_index=True)


def test_every_bad_export_in_the_corpus_is_documented_and_tested():
    files = {p.name for p in BAD_EXPORTS.iterdir() if p.name != "README.md" and p.suffix != ".yml"}
    assert files == set(BAD_EXPORT_OUTCOMES)
    readme = (BAD_EXPORTS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in files)


@pytest.mark.parametrize("name", sorted(BAD_EXPORT_OUTCOMES))
def test_bad_export_outcome(name, settings, monkeypatch):
    # given one corpus file landed for an open business day
    expected = BAD_EXPORT_OUTCOMES[name]
    if expected.config:
        own = load_dataset_config(BAD_EXPORTS / expected.config)
        monkeypatch.setattr(ingest, "load_dataset_config", lambda name: own)
    else:
        use_config(monkeypatch, name.rsplit(".", 1)[1], quarantine_duplicate_lines=True)
    folder = settings.landing_dir / DAY.isoformat()
    folder.mkdir(parents=True)
    if expected.replaces:  # delivered and ingested first, on an earlier night
        shutil.copy(BAD_EXPORTS / expected.replaces, folder / expected.replaces)
        ingest.run(DAY, "run-0", settings)
    shutil.copy(BAD_EXPORTS / name, folder / name)
    if expected.beside:
        shutil.copy(BAD_EXPORTS / expected.beside, folder / expected.beside)

    # when it is ingested
    if expected.error:
        with pytest.raises(ingest.IngestError, match=expected.error) as error:
            ingest.run(DAY, "run-1", settings)
        assert isinstance(error.value, PermanentError), "the same file fails the same way on every try"
        assert not lake.partition_dir(settings, DAY).exists(), "a failed day writes nothing"
        assert_accounting_balances(settings)
        return
    summary = ingest.run(DAY, "run-1", settings)

    # then exactly the documented rows load, the rest are quarantined under their rule, and every row is counted
    file_rows_in = len(expected.loaded_rows) + len(expected.quarantined)
    assert (
        summary["rows_in"], summary["rows_loaded"], summary["rows_quarantined"], summary["rows_replaced"]
    ) == (
        file_rows_in + expected.replaced_rows,
        len(expected.loaded_rows),
        len(expected.quarantined),
        expected.replaced_rows,
    )  # fmt: skip
    assert_accounting_balances(settings)
    loaded_file = min(name, expected.beside or name)  # files are read in name order
    assert warehouse_rows(
        settings,
        "select source_file, rows_in, rows_loaded, rows_quarantined from monitoring.ingest_runs "
        "where status = 'loaded'",
    ) == [(loaded_file, file_rows_in, len(expected.loaded_rows), len(expected.quarantined))]
    if expected.replaces:
        assert warehouse_rows(
            settings,
            "select source_file, status, rows_replaced, replaced_by from monitoring.ingest_runs "
            "where status = 'replaced'",
        ) == [(expected.replaces, "replaced", expected.replaced_rows, f"{DAY}/{name}")]
    if expected.beside:  # the file sorted second is the duplicate delivery: recorded, not loaded
        assert warehouse_rows(
            settings,
            "select source_file, duplicate_of, rows_in from monitoring.ingest_runs where status = 'duplicate'",
        ) == [(max(name, expected.beside), f"{DAY}/{min(name, expected.beside)}", 0)]
    assert tuple(lake_rows(settings)["source_row"]) == expected.loaded_rows
    quarantine = warehouse_rows(
        settings, "select source_row, rule, raw_values from monitoring.quarantine order by source_row"
    )
    assert tuple((row, rule) for row, rule, _ in quarantine) == expected.quarantined
    malformed = [json.loads(raw) for _, rule, raw in quarantine if rule == "malformed_row"]
    assert tuple(m["line_number"] for m in malformed) == expected.malformed_lines
    assert all(m["raw_text"] for m in malformed)
    assert summary["unexpected_columns"] == (
        {name: list(expected.unexpected_columns)} if expected.unexpected_columns else {}
    )


def assert_accounting_balances(settings: Settings) -> None:
    """Every accounted file: rows in = loaded + quarantined + replaced, and the same for revenue (to the cent)."""
    if not settings.warehouse_path.exists():
        return
    unbalanced = warehouse_rows(
        settings,
        "select source_file, status from monitoring.ingest_runs "
        "where rows_in <> rows_loaded + rows_quarantined + rows_replaced "
        "or abs(revenue_in - revenue_loaded - revenue_quarantined - revenue_replaced) >= 0.005",
    )
    assert unbalanced == []
    lines = warehouse_rows(
        settings,
        "select count(*) from monitoring.quarantine q join monitoring.ingest_runs r using (business_date, file_sha256)"
        " where r.status in ('loaded', 'replaced') group by r.source_file, r.rows_quarantined "
        "having count(*) <> r.rows_quarantined",
    )
    assert lines == [], "each file's quarantined rows are in monitoring.quarantine"


def test_the_same_lines_load_from_csv_parquet_and_jsonl(tmp_path, monkeypatch):
    # and from the same CSV as Excel's UTF-16 "Unicode text", gzip-compressed, with a padded header, below a
    # report's title lines or below Excel's sep= line; and from the JSON lines as one JSON array
    loaded = {}
    for name in (
        "good.csv",
        "good.parquet",
        "good.jsonl",
        "utf16_tabs.csv",
        "gzipped.csv",
        "padded_header.csv",
        "preamble.csv",
        "excel_sep.csv",
        "json_array.jsonl",
        "day_first_dates.csv",
    ):
        fmt = name.rsplit(".", 1)[1]
        settings = Settings(home=tmp_path / name, dataset="synthetic")
        with monkeypatch.context() as patch:
            use_landing_format(patch, fmt)
            land(settings, DAY, "", name=name)
            shutil.copy(BAD_EXPORTS / name, settings.landing_dir / DAY.isoformat() / name)
            summary = ingest.run(DAY, "run-1", settings)
        if fmt == "csv":
            assert summary["encodings"] == {name: "utf-16" if name.startswith("utf16") else "utf-8"}
        skipped = {"preamble.csv": 3, "excel_sep.csv": 1}
        assert summary["preamble_lines"] == ({name: skipped[name]} if name in skipped else {})
        loaded[name] = lake_rows(settings).drop(columns=["source_file", "file_sha256"])
    for name, lines in loaded.items():
        pd.testing.assert_frame_equal(loaded["good.csv"], lines, obj=name)
    lines = loaded["good.csv"]
    assert lines["customer_id"].isna().tolist() == [False, False, True, False]
    assert (lines["quantity"].tolist(), lines["unit_price"].tolist()) == (
        [2, 1, -1, 1],
        [3.5, 12.0, 3.5, 0.0],
    )


def test_wrong_types_keep_returns_and_zero_prices_and_say_what_is_wrong(settings):
    shutil.copy(BAD_EXPORTS / "wrong_types.csv", land(settings, DAY, ""))
    ingest.run(DAY, "run-1", settings)
    lines = lake_rows(settings)
    assert list(zip(lines["quantity"], lines["unit_price"], strict=True)) == [(-3, 3.5), (1, 0.0)]
    raw, detail = warehouse_rows(
        settings, "select raw_values, detail from monitoring.quarantine where source_row = 4"
    )[0]
    assert json.loads(raw)["qty"] == "inf"
    assert detail == "quantity 'inf' is not finite"
    assert warehouse_rows(settings, "select detail from monitoring.quarantine where source_row = 11") == [
        ("unit_price '-2.5' is below the minimum 0",)
    ]


def test_accounting_balances_rows_and_revenue(settings, monkeypatch):
    use_config(monkeypatch, quarantine_duplicate_lines=True)
    shutil.copy(BAD_EXPORTS / "config_rules.csv", land(settings, DAY, ""))
    ingest.run(DAY, "run-1", settings)
    ((rows_in, loaded, quarantined, revenue_in, revenue_loaded, revenue_quarantined),) = warehouse_rows(
        settings,
        "select rows_in, rows_loaded, rows_quarantined, revenue_in, revenue_loaded, revenue_quarantined "
        "from monitoring.ingest_runs",
    )
    assert (rows_in, loaded, quarantined) == (7, 2, 5)
    assert revenue_in == pytest.approx(2 * 3.5 + 20000 * 3.5 - 20000 * 3.5 - 2.5 + 100 + 2 * 3.5 - 3.5)
    assert revenue_loaded == pytest.approx(2 * 3.5 - 3.5)
    assert revenue_in == pytest.approx(revenue_loaded + revenue_quarantined)
    assert warehouse_rows(
        settings, "select detail from monitoring.quarantine where rule = 'duplicate_line'"
    ) == [("repeats row 1",)]


def test_a_file_delivered_again_on_a_later_day_loads_once(settings):
    land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run-1", settings)
    next_day = DAY + dt.timedelta(days=1)
    land(settings, next_day, HEADER + GOOD_ROWS.replace("03-05", "03-06"))
    land(settings, next_day, HEADER + GOOD_ROWS, name="resent.csv")

    summary = ingest.run(next_day, "run-2", settings)

    assert summary["duplicates"] == {f"{next_day}/resent.csv": f"{DAY}/sales.csv"}
    assert warehouse_rows(settings, "select count(*) from raw.sales_lines") == [(6,)]
    assert warehouse_rows(
        settings, "select status, count(*) from monitoring.ingest_runs group by 1 order by 1"
    ) == [("duplicate", 1), ("loaded", 2)]
    ingest.run(next_day, "run-3", settings)
    assert warehouse_rows(settings, "select count(*) from monitoring.ingest_runs") == [(3,)], (
        "rerun adds nothing"
    )


def test_an_open_day_whose_only_export_is_a_duplicate_fails(settings):
    land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run-1", settings)
    next_day = DAY + dt.timedelta(days=1)
    land(settings, next_day, HEADER + GOOD_ROWS)
    with pytest.raises(ingest.IngestError, match=rf"{next_day}.*only duplicates.*{DAY}/sales.csv"):
        ingest.run(next_day, "run-2", settings)
    assert warehouse_rows(settings, "select count(*) from monitoring.ingest_runs") == [(1,)]


def test_a_late_file_lands_in_its_day_and_requests_a_rebuild(settings):
    for offset in range(3):
        day = DAY + dt.timedelta(days=offset)
        land(settings, day, HEADER + GOOD_ROWS.replace("03-05", day.isoformat()[5:]))
        ingest.run(day, f"run-{offset}", settings)
    # a second file for DAY arrives after DAY + 2 landed; DAY + 3 picks it up
    land(settings, DAY, HEADER + GOOD_ROWS.replace("100001", "100101"), name="late.csv")
    day = DAY + dt.timedelta(days=3)
    land(settings, day, HEADER + GOOD_ROWS.replace("03-05", "03-08"))

    summary = ingest.run(day, "run-3", settings)

    assert summary["late_days"] == [DAY.isoformat()]
    assert summary["new_files"] == [f"{DAY}/late.csv", f"{day}/sales.csv"]
    assert len(lake_files(settings, DAY)) == 2, "the late file is a second lake file in its day's partition"
    assert warehouse_rows(
        settings, f"select count(*) from raw.sales_lines where business_date = '{DAY}'"
    ) == [(6,)]
    assert warehouse_rows(
        settings,
        "select business_date, source_file, requested_by_run_date, done_by_run_date from monitoring.rebuild_requests",
    ) == [(DAY, "late.csv", day, None)]
    assert warehouse_rows(
        settings, "select landed_by_run_date from monitoring.ingest_runs where source_file = 'late.csv'"
    ) == [(day,)]
    # a rerun of the night changes nothing
    assert ingest.run(day, "run-4", settings)["new_files"] == []
    assert warehouse_rows(settings, "select count(*) from monitoring.rebuild_requests") == [(1,)]


def test_a_file_later_than_the_lookback_waits_for_its_own_night(settings):
    land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run-1", settings)
    land(settings, DAY, HEADER + GOOD_ROWS.replace("100001", "100101"), name="late.csv")
    much_later = DAY + dt.timedelta(days=15)  # the synthetic config looks back 14 days
    land(settings, much_later, HEADER + GOOD_ROWS.replace("03-05", "03-20"))
    assert ingest.run(much_later, "run-2", settings)["late_days"] == []
    # rerunning the night of DAY lands it (and marks the later days for rebuild)
    summary = ingest.run(DAY, "run-3", settings)
    assert summary["new_files"] == [f"{DAY}/late.csv"]
    assert summary["late_days"] == [DAY.isoformat()]


def test_latin1_export_is_decoded(settings, caplog):
    shutil.copy(BAD_EXPORTS / "latin1.csv", land(settings, DAY, ""))
    with caplog.at_level(logging.WARNING, logger="jobs.ingest"):
        summary = ingest.run(DAY, "run-1", settings)
    assert lake_rows(settings)["product_name"].tolist() == ["Café", "Crème brûlée dish"]
    assert summary["encodings"] == {"sales.csv": "cp1252"}
    assert "not valid UTF-8" in caplog.text


def test_semicolon_export_keeps_commas_in_values(settings):
    shutil.copy(BAD_EXPORTS / "semicolon.csv", land(settings, DAY, ""))
    ingest.run(DAY, "run-1", settings)
    assert lake_rows(settings)["product_name"].tolist() == ["Mug", "Plate, large"]


def test_extra_column_is_kept_in_extra_values_and_reported(settings, caplog):
    shutil.copy(BAD_EXPORTS / "extra_column.csv", land(settings, DAY, ""))
    with caplog.at_level(logging.WARNING, logger="jobs.ingest"):
        summary = ingest.run(DAY, "run-1", settings)
    assert summary["unexpected_columns"] == {"sales.csv": ["promo_code"]}
    assert "sales.csv" in caplog.text and "promo_code" in caplog.text
    lines = lake_rows(settings)
    assert [json.loads(v) for v in lines["extra_values"]] == [{"promo_code": "SPRING10"}, {"promo_code": ""}]
    assert lines["product_name"].tolist() == ["Mug", "Plate"], "mapped by name, not by position"
    assert warehouse_rows(settings, "select count(extra_values) from raw.sales_lines") == [(2,)]


def test_extra_values_is_null_without_unexpected_columns(settings):
    land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run-1", settings)
    assert lake_rows(settings)["extra_values"].isna().all()


def test_raw_view_reads_partitions_landed_before_extra_values(settings):
    # given a partition written with the lake schema before extra_values existed
    land(settings, DAY, HEADER + GOOD_ROWS)
    ingest.run(DAY, "run-1", settings)
    (old,) = lake_files(settings)
    pd.read_parquet(old).drop(columns=["extra_values"]).to_parquet(old, index=False)
    # (the view over such a lake was made over its files: by that Daybreak, or by this one on a restored lake)
    with connect(settings.warehouse_path) as connection:
        connection.execute("drop view raw.sales_lines")

    # when the next day lands with an extra column
    next_day = DAY + dt.timedelta(days=1)
    land(
        settings,
        next_day,
        (HEADER.strip() + ",note\n" + GOOD_ROWS.replace("\n", ",x\n")).replace("03-05", "03-06"),
    )
    ingest.run(next_day, "run-1", settings)

    # then the view reads both days, the old one with a null extra_values
    assert warehouse_rows(
        settings,
        "select business_date, count(*), count(extra_values) from raw.sales_lines group by 1 order by 1",
    ) == [(DAY, 3, 0), (next_day, 3, 3)]


def test_empty_corpus_file_on_a_closed_day_is_fine(settings):
    christmas = dt.date(2024, 12, 25)
    shutil.copy(BAD_EXPORTS / "empty.csv", land(settings, christmas, ""))
    assert ingest.run(christmas, "run-1", settings)["rows_loaded"] == 0


def test_empty_file_without_a_header_on_a_closed_day_is_fine(settings, monkeypatch):
    use_landing_format(monkeypatch, "jsonl")
    christmas = dt.date(2024, 12, 25)
    land(settings, christmas, "", name="sales.jsonl")
    summary = ingest.run(christmas, "run-1", settings)
    assert (summary["files"], summary["rows_in"]) == (1, 0)
    land(settings, DAY, "", name="sales.jsonl")
    with pytest.raises(ingest.IngestError, match="is empty"):
        ingest.run(DAY, "run-1", settings)


def test_every_file_of_a_day_is_read(settings):
    land(settings, DAY, HEADER + GOOD_ROWS, name="a.csv")
    shutil.copy(BAD_EXPORTS / "truncated_last_line.csv", land(settings, DAY, "", name="b.csv"))
    summary = ingest.run(DAY, "run-1", settings)
    assert (summary["files"], summary["rows_in"], summary["rows_loaded"]) == (2, 7, 6)
    assert warehouse_rows(settings, "select source_file, source_row, rule from monitoring.quarantine") == [
        ("b.csv", 4, "malformed_row")
    ]


def test_unreadable_parquet_names_the_file(settings, monkeypatch):
    use_landing_format(monkeypatch, "parquet")
    land(settings, DAY, "not parquet", name="sales.parquet")
    with pytest.raises(
        ingest.IngestError, match=r"sales\.parquet for business date 2024-03-05 cannot be read"
    ):
        ingest.run(DAY, "run-1", settings)


def test_each_rule_is_data_in_one_place():
    names = [rule.name for rule in quarantine_rules.QUARANTINE_RULES]
    assert names == [
        "ordered_at_unparseable",
        "ordered_at_not_on_business_date",
        "quantity_not_numeric",
        "quantity_not_finite",
        "unit_price_not_numeric",
        "unit_price_not_finite",
        "product_id_missing",
        "location_missing",
        "order_id_control_character",
        "customer_id_control_character",
        "product_id_control_character",
        "location_control_character",
    ]


def test_allowed_values_and_patterns_from_the_config_quarantine_with_a_detail():
    config = load_dataset_config("synthetic")
    strict = dataclasses.replace(
        config,
        validation=dataclasses.replace(
            config.validation,
            allowed_values={"location": ("United Kingdom",)},
            patterns={"product_id": r"SKU-\d+"},
        ),
    )
    raw = pd.read_csv(BAD_EXPORTS / "good.csv", dtype=str, keep_default_na=False)
    raw.loc[1, "sku"] = "sku two"
    result = canonical.to_canonical(raw, strict, source_file="good.csv", business_date=DAY)
    assert result.quarantined[["source_row", "rule", "detail"]].values.tolist() == [
        [2, "product_id_pattern_mismatch", r"product_id 'sku two' does not match the pattern SKU-\d+"],
        [3, "location_not_allowed", "location 'France' is not one of United Kingdom"],
        [4, "location_not_allowed", "location 'Germany' is not one of United Kingdom"],
    ]
    assert result.rows_in == len(result.loaded) + len(result.quarantined) == 4


def _bulk_history(settings: Settings) -> list[dt.date]:
    """Five days: wrong rows, a file resent on a later day, and a second file for the first day."""
    days = [DAY + dt.timedelta(days=offset) for offset in range(5)]
    for day in days:
        rows = GOOD_ROWS.replace("03-05", day.isoformat()[5:]).replace("100001", f"1{day.day:02}001")
        land(
            settings,
            day,
            HEADER + rows + f"1{day.day:02}009,{day} 11:00:00,C0002,SKU-3,Bowl,Germany,x,2.00\n",
        )
    land(
        settings,
        days[2],
        (settings.landing_dir / DAY.isoformat() / "sales.csv").read_text(),
        name="resent.csv",
    )
    land(settings, DAY, HEADER + GOOD_ROWS.replace("100001", "100101"), name="second.csv")
    return days


def _outcome(settings: Settings) -> dict:
    return {
        "runs": warehouse_rows(
            settings,
            "select * exclude (source_path, ingested_at, run_id) from monitoring.ingest_runs "
            "order by business_date, source_file",
        ),
        "quarantine": warehouse_rows(
            settings, "select * exclude (run_id) from monitoring.quarantine order by all"
        ),
        "lines": warehouse_rows(settings, "select * from raw.sales_lines order by all"),
    }


def _in_worker_processes(monkeypatch) -> None:
    """Each delivery prepared in a worker process of its own, as a bulk load's large files are."""
    monkeypatch.setattr(preparation, "PREPARE_CHUNK_BYTES", 1)
    monkeypatch.setattr(preparation.os, "cpu_count", lambda: 2)


def _staged_leftovers(settings: Settings) -> list[Path]:
    return [path for path in settings.lake_dir.rglob(".*") if path.is_file()]


@pytest.mark.parametrize("in_workers", [False, True], ids=["here", "in-workers"])
def test_a_bulk_load_ends_as_the_nights_one_by_one(tmp_path, monkeypatch, in_workers):
    one_by_one = Settings(home=tmp_path / "nightly", dataset="synthetic")
    bulk = Settings(home=tmp_path / "bulk", dataset="synthetic")
    days = _bulk_history(one_by_one)
    _bulk_history(bulk)

    nightly = [ingest.run(day, "run", one_by_one) for day in days]
    if in_workers:
        _in_worker_processes(monkeypatch)
    together = ingest.run_days(days, "run", bulk)

    assert together == nightly
    assert together[2]["duplicates"] == {f"{days[2]}/resent.csv": f"{DAY}/sales.csv"}
    assert _outcome(bulk) == _outcome(one_by_one)
    assert _staged_leftovers(bulk) == []  # the duplicate's staged lines were removed


@pytest.mark.parametrize("in_workers", [False, True], ids=["here", "in-workers"])
def test_a_bulk_load_stops_at_the_first_failing_night_with_the_nights_before_it_landed(
    settings, monkeypatch, in_workers
):
    days = _bulk_history(settings)
    land(settings, days[3], HEADER + "100201,2024-03-08 11:00:00,C0002,SKU-3,Bowl,Germany,x,2.00\n")
    monkeypatch.setattr(ingest, "BATCH_BYTES", 1 << 30)  # every night in one batch
    if in_workers:
        _in_worker_processes(monkeypatch)

    with pytest.raises(ingest.IngestError, match=f"{days[3]}.*hold no valid line"):
        ingest.run_days(days, "run", settings)
    assert _staged_leftovers(settings) == []  # the later nights' prepared lines did not stay

    assert warehouse_rows(
        settings, "select distinct business_date from monitoring.ingest_runs order by 1"
    ) == [(day,) for day in days[:3]]
    # a refused file is recorded on its night, after the nights before it landed
    land(settings, days[3], HEADER, name="sales.csv")
    with pytest.raises(ingest.IngestError, match="is empty"):
        ingest.run_days(days[3:], "run", settings)
    assert warehouse_rows(
        settings, "select business_date, status from monitoring.ingest_runs where status = 'refused'"
    ) == [(days[3], "refused")]


def test_lines_a_killed_ingest_staged_are_removed_when_the_file_lands(settings):
    path = land(settings, DAY, HEADER + GOOD_ROWS)
    target = lake.lake_file(settings, DAY, lake.sha256_of(path))
    target.parent.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()  # its process id now names a process that is no more, like a killed worker's
    leftover = target.with_name(f".{target.name}.{gone.pid}.tmp-0123456789ab")
    leftover.write_bytes(b"half a parquet file")

    ingest.run(DAY, "run", settings)

    assert not leftover.exists() and target.exists()
    assert _staged_leftovers(settings) == []


def with_extra_columns(day: dt.date) -> str:
    rows = GOOD_ROWS.replace("2024-03-05", day.isoformat()).replace("\n", ",SPRING10,x\n")
    return HEADER.strip() + ",promo_code,note\n" + rows


def test_an_unmapped_column_is_warned_about_once_per_load_however_many_files_have_it(
    settings, monkeypatch, caplog
):
    days = [DAY + dt.timedelta(days=offset) for offset in range(3)]
    for day in days:
        land(settings, day, with_extra_columns(day))
    monkeypatch.setattr(ingest, "BATCH_BYTES", 1)  # each night its own batch: still one warning per column
    with caplog.at_level(logging.WARNING):
        summaries = ingest.run_days(days, "history", settings)
    warnings = [
        r.getMessage() for r in caplog.records if "is not mapped by the dataset config" in r.getMessage()
    ]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("column 'promo_code' of 1 file(s) (first ")
    assert "list it under ignore_columns to drop it" in warnings[0]
    assert all(s["unexpected_columns"] == {"sales.csv": ["promo_code", "note"]} for s in summaries)


def test_ignored_columns_are_dropped_without_a_warning(settings, monkeypatch, caplog):
    config = dataclasses.replace(load_dataset_config("synthetic"), ignore_columns=("note",))
    monkeypatch.setattr(ingest, "load_dataset_config", lambda name: config)
    land(settings, DAY, with_extra_columns(DAY))
    with caplog.at_level(logging.WARNING):
        summary = ingest.run(DAY, "run-1", settings)
    assert summary["unexpected_columns"] == {"sales.csv": ["promo_code"]}
    assert "'note'" not in caplog.text and "'promo_code'" in caplog.text
    assert [json.loads(v) for v in lake_rows(settings)["extra_values"]] == [{"promo_code": "SPRING10"}] * 3


def test_a_column_the_mapping_reads_cannot_be_ignored():
    with pytest.raises(ValueError, match=r"ignore_columns lists \['qty'\], which the mapping reads"):
        dataclasses.replace(load_dataset_config("synthetic"), ignore_columns=("qty",))
