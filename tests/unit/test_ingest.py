"""Ingest: mapping onto canonical lines, the quarantine rules, and the missing/empty/duplicate export cases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from daybreak.datasets import load_dataset_config
from daybreak.settings import Settings
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
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
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
    result = ingest.to_canonical(raw, config, source_file="sales.csv", business_date=DAY)

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
        ingest.to_canonical(raw, config, source_file="sales.csv", business_date=DAY)


def test_float_customer_ids_and_constants_for_sources_without_prices():
    config = load_dataset_config("store_item")
    raw = pd.DataFrame({"date": ["2024-03-05"], "store": ["1"], "item": ["7"], "sales": ["13"]})
    result = ingest.to_canonical(raw, config, source_file="s.csv", business_date=DAY)
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
        ingest.to_canonical(raw, retail, source_file="r.csv", business_date=DAY).loaded["customer_id"][0]
        == "17850"
    )


def test_run_lands_an_immutable_partition_and_accounts_for_every_row(settings):
    land(settings, DAY, HEADER + GOOD_ROWS + "100003,2024-03-05 11:00:00,C0002,SKU-3,Bowl,Germany,x,2.00\n")

    summary = ingest.run(DAY, "run-1", settings)

    assert (summary["rows_in"], summary["rows_loaded"], summary["rows_quarantined"]) == (4, 3, 1)
    partition = ingest.partition_dir(settings, DAY) / "part-0.parquet"
    assert partition.exists()
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
    with pytest.raises(ingest.IngestError, match="immutable"):
        ingest.run(DAY, "run-2", settings)


def test_missing_export_names_the_expected_path_and_date_and_writes_nothing(settings):
    with pytest.raises(ingest.IngestError) as error:
        ingest.run(DAY, "run-1", settings)
    message = str(error.value)
    assert "2024-03-05" in message
    assert str(settings.landing_dir / "2024-03-05" / "*.csv") in message
    assert not ingest.partition_dir(settings, DAY).exists()
    assert not settings.warehouse_path.exists()


def test_empty_export_on_an_open_day_fails(settings):
    path = land(settings, DAY, HEADER)
    with pytest.raises(ingest.IngestError, match=f"{path}.*is empty"):
        ingest.run(DAY, "run-1", settings)
    assert not ingest.partition_dir(settings, DAY).exists()


def test_empty_or_missing_export_on_a_closed_day_is_fine(settings):
    christmas = dt.date(2024, 12, 25)  # closed in the synthetic calendar
    land(settings, christmas, HEADER)
    assert ingest.run(christmas, "run-1", settings)["rows_loaded"] == 0
    assert ingest.run(dt.date(2025, 1, 1), "run-1", settings)["files"] == 0
