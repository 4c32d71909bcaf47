"""The source simulator: deterministic synthetic exports shaped like the real data, and replay of real datasets."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from daybreak.datasets import DatasetConfigError, load_dataset_config
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.ingest.simulation.day_files import SimulationSummary, day_file
from daybreak.ingest.simulation.replay import replay_dataset
from daybreak.ingest.simulation.seasonality import demand_multiplier
from daybreak.ingest.simulation.synthetic import SYNTHETIC_COLUMNS, simulate_synthetic
from tests.conftest import SHARED_DATA
from tests.conftest import require as require_prerequisite

ONLINE_RETAIL = SHARED_DATA / "online_retail" / "online_retail.parquet"
STORE_ITEM = SHARED_DATA / "store_item_demand" / "demand-forecasting-kernels-only.zip"

# a small shop over two months: enough invoices for the shares to be stable, fast to simulate
SMALL = {"seed": 42, "customers": 200, "products": 60, "locations": 5, "orders_per_day": 30.0}
SMALL_START, SMALL_END = dt.date(2023, 3, 1), dt.date(2023, 4, 29)


def read_landing(landing: Path, start: dt.date, end: dt.date) -> pd.DataFrame:
    """All data rows of the day files in the range, as text, with the day they were filed under."""
    frames = []
    day = start
    while day <= end:
        frame = pd.read_csv(day_file(landing, day), dtype=str, keep_default_na=False)
        frames.append(frame.assign(day=day))
        day += dt.timedelta(days=1)
    return pd.concat(frames, ignore_index=True)


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_shop(tmp_path_factory) -> tuple[Path, SimulationSummary, pd.DataFrame]:
    landing = tmp_path_factory.mktemp("small") / "landing"
    summary = simulate_synthetic(landing, start=SMALL_START, end=SMALL_END, **SMALL)
    return landing, summary, read_landing(landing, SMALL_START, SMALL_END)


# --------------------------------------------------------------------------------------------------------------
# synthetic: files, determinism, reruns


def test_same_arguments_give_byte_identical_files(tmp_path):
    args = {
        "start": dt.date(2023, 12, 20),
        "end": dt.date(2024, 1, 3),
        "seed": 7,
        "customers": 80,
        "products": 30,
    }
    first = simulate_synthetic(tmp_path / "a", **args)
    second = simulate_synthetic(tmp_path / "b", **args)

    assert first.days_written == second.days_written == 15
    assert first.lines_written == second.lines_written > 0
    a, b = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert a == b
    assert "_truth/customers.csv" in a and "2023-12-20/sales_2023-12-20.csv" in a
    assert not [name for name in a if name.endswith(".tmp")]

    # a day is a pure function of the seed: simulating it alone gives the same bytes
    simulate_synthetic(tmp_path / "c", start=dt.date(2023, 12, 28), end=dt.date(2023, 12, 28), seed=7,
                       customers=80, products=30)  # fmt: skip
    assert (tmp_path / "c" / "2023-12-28" / "sales_2023-12-28.csv").read_bytes() == a[
        "2023-12-28/sales_2023-12-28.csv"
    ]
    # another seed gives other data
    simulate_synthetic(tmp_path / "d", start=dt.date(2023, 12, 28), end=dt.date(2023, 12, 28), seed=8,
                       customers=80, products=30)  # fmt: skip
    assert (tmp_path / "d" / "2023-12-28" / "sales_2023-12-28.csv").read_bytes() != a[
        "2023-12-28/sales_2023-12-28.csv"
    ]


def test_rerun_skips_existing_days_and_overwrite_rewrites_them(tmp_path):
    args = {"start": dt.date(2024, 2, 1), "end": dt.date(2024, 2, 4), "customers": 50, "products": 20}
    simulate_synthetic(tmp_path, **args)
    path = day_file(tmp_path, dt.date(2024, 2, 2))
    before = path.read_bytes()
    os.utime(path, (1_000_000_000, 1_000_000_000))

    again = simulate_synthetic(tmp_path, **args)
    assert (again.days_written, again.days_skipped, again.lines_written) == (0, 4, 0)
    assert path.stat().st_mtime == 1_000_000_000

    extended = simulate_synthetic(tmp_path, **{**args, "end": dt.date(2024, 2, 6)})
    assert (extended.days_written, extended.days_skipped) == (2, 4)

    forced = simulate_synthetic(tmp_path, **args, overwrite=True)
    assert (forced.days_written, forced.days_skipped) == (4, 0)
    assert path.stat().st_mtime != 1_000_000_000
    assert path.read_bytes() == before


def test_refuses_to_mix_two_populations_in_one_folder(tmp_path):
    day = dt.date(2024, 2, 1)
    simulate_synthetic(tmp_path, start=day, end=day, customers=50, products=20)
    with pytest.raises(ValueError, match="holds a simulation"):
        simulate_synthetic(tmp_path, start=day, end=day, customers=60, products=20)


def test_closed_days_are_header_only_and_open_days_have_lines(tmp_path):
    calendar = BusinessCalendar.from_config(load_dataset_config("synthetic"))
    start, end = dt.date(2023, 12, 22), dt.date(2024, 1, 2)
    simulate_synthetic(tmp_path, start=start, end=end, customers=100, products=30, orders_per_day=30)
    header = ",".join(SYNTHETIC_COLUMNS)
    for offset in range((end - start).days + 1):
        day = start + dt.timedelta(days=offset)
        lines = day_file(tmp_path, day).read_text(encoding="utf-8").splitlines()
        assert lines[0] == header
        if calendar.is_open(day):
            assert len(lines) > 1, day
        else:
            assert len(lines) == 1, day
    assert not calendar.is_open(dt.date(2023, 12, 25)) and not calendar.is_open(dt.date(2024, 1, 1))


def test_header_is_the_synthetic_configs_source_columns(small_shop):
    _, _, lines = small_shop
    config = load_dataset_config("synthetic")
    assert tuple(config.columns.values()) == SYNTHETIC_COLUMNS
    assert tuple(lines.columns[:-1]) == SYNTHETIC_COLUMNS


# --------------------------------------------------------------------------------------------------------------
# synthetic: shape of the data


def test_summary_counts_what_was_written(small_shop):
    landing, summary, lines = small_shop
    assert summary == SimulationSummary(60, 0, len(lines), SMALL_START, SMALL_END, landing)


def test_lines_look_like_online_retail(small_shop):
    _, _, lines = small_shop
    qty = lines["qty"].astype(int)
    price = lines["unit_price"].astype(float)
    invoices = lines.drop_duplicates("invoice_no")
    cancelled = invoices["invoice_no"].str.startswith("C")

    assert 0.17 <= (lines["customer_ref"] == "").mean() <= 0.33
    assert 0.005 <= cancelled.mean() <= 0.035
    assert (qty < 0).any() and (qty[lines["invoice_no"].str.startswith("C")] < 0).all()
    assert (qty[~lines["invoice_no"].str.startswith("C")] > 0).all()
    assert 8 <= len(lines) / len(invoices) <= 25
    assert (price > 0).all()
    assert lines["unit_price"].str.fullmatch(r"\d+\.\d\d").all()
    assert lines["invoice_ts"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert (pd.to_datetime(lines["invoice_ts"]).dt.date == lines["day"]).all()
    assert (lines["country"] == "United Kingdom").mean() > 0.6
    assert lines["country"].nunique() == SMALL["locations"]
    # heavy-tailed product popularity: the top tenth of products sells far more than its share
    counts = lines["sku"].value_counts()
    assert counts.head(len(counts) // 10).sum() / counts.sum() > 0.2


def test_invoice_numbers_increase_across_days_and_cancellations_follow_their_order(small_shop):
    _, _, lines = small_shop
    numbers = lines["invoice_no"].str.lstrip("C").astype(np.int64).to_numpy()
    assert (np.diff(numbers) >= 0).all()
    # every cancelled line negates part of an earlier line of the same customer, same day, same product
    regular = lines[~lines["invoice_no"].str.startswith("C")]
    cancels = lines[lines["invoice_no"].str.startswith("C")]
    assert (cancels["customer_ref"] != "").all()
    bought = (
        regular.assign(qty=regular["qty"].astype(int)).groupby(["day", "customer_ref", "sku"])["qty"].max()
    )
    for row in cancels.itertuples():
        assert bought[(row.day, row.customer_ref, row.sku)] >= -int(row.qty)


def test_customers_in_transactions_are_in_the_truth_table(small_shop):
    landing, _, lines = small_shop
    truth = pd.read_csv(landing / "_truth" / "customers.csv", dtype=str, keep_default_na=False)
    assert list(truth.columns) == ["customer_ref", "customer_type", "home_country"]
    assert len(truth) == SMALL["customers"] and truth["customer_ref"].is_unique
    assert set(truth["customer_type"]) == {"champion", "loyal", "occasional", "new_then_lapsed"}
    named = lines[lines["customer_ref"] != ""]
    assert set(named["customer_ref"]) <= set(truth["customer_ref"])
    # a customer buys from home
    home = truth.set_index("customer_ref")["home_country"]
    assert (named["country"].to_numpy() == home[named["customer_ref"]].to_numpy()).all()


def test_customer_types_differ_in_frequency_and_spend(small_shop):
    landing, _, lines = small_shop
    truth = pd.read_csv(landing / "_truth" / "customers.csv", dtype=str, keep_default_na=False)
    named = lines[(lines["customer_ref"] != "") & ~lines["invoice_no"].str.startswith("C")]
    named = named.assign(revenue=named["qty"].astype(int) * named["unit_price"].astype(float))
    per_customer = named.groupby("customer_ref").agg(
        orders=("invoice_no", "nunique"), spend=("revenue", "sum")
    )
    per_type = (
        truth.set_index("customer_ref")
        .join(per_customer)
        .fillna(0)
        .groupby("customer_type")[["orders", "spend"]]
    ).mean()
    assert per_type.loc["champion", "orders"] > 2 * per_type.loc["loyal", "orders"]
    assert per_type.loc["loyal", "orders"] > 2 * per_type.loc["occasional", "orders"]
    assert per_type.loc["champion", "spend"] > 5 * per_type.loc["loyal", "spend"]
    assert per_type.loc["loyal", "spend"] > 5 * per_type.loc["occasional", "spend"]


def test_lapsed_customers_stop_buying(tmp_path):
    start, end = dt.date(2023, 1, 1), dt.date(2023, 12, 31)
    simulate_synthetic(tmp_path, start=start, end=end, customers=150, products=20, locations=2)
    lines = read_landing(tmp_path, start, end)
    truth = pd.read_csv(tmp_path / "_truth" / "customers.csv", dtype=str, keep_default_na=False)
    lapsed = set(truth.loc[truth["customer_type"] == "new_then_lapsed", "customer_ref"])
    active_late = set(lines.loc[lines["day"] >= dt.date(2023, 11, 1), "customer_ref"])
    active_early = set(lines.loc[lines["day"] < dt.date(2023, 6, 1), "customer_ref"])
    assert lapsed and not (lapsed & active_late)
    assert len(lapsed & active_early) > 0.7 * len(lapsed)

    # and the yearly seasonality shows in the files: November is busier than March
    per_day = lines.groupby("day").size()
    november = per_day[[d for d in per_day.index if d.month == 11]].mean()
    march = per_day[[d for d in per_day.index if d.month == 3]].mean()
    assert november > 1.3 * march


# --------------------------------------------------------------------------------------------------------------
# seasonality as a pure function


def mean_multiplier(first: dt.date, days: int) -> float:
    return float(np.mean([demand_multiplier(first + dt.timedelta(days=i)) for i in range(days)]))


def test_november_peak_weekends_holidays_and_trend():
    assert mean_multiplier(dt.date(2023, 11, 1), 30) > 1.4 * mean_multiplier(dt.date(2023, 3, 1), 31)
    assert mean_multiplier(dt.date(2024, 11, 1), 30) > 1.4 * mean_multiplier(dt.date(2024, 3, 1), 31)
    # weekend lower than weekdays (a week in May without holidays)
    week = [demand_multiplier(dt.date(2023, 5, 15) + dt.timedelta(days=i)) for i in range(7)]
    assert max(week[5:]) < min(week[:5])
    # the late May bank holiday (Monday 29 May 2023) is quieter than the Monday before
    assert demand_multiplier(dt.date(2023, 5, 29)) < 0.5 * demand_multiplier(dt.date(2023, 5, 22))
    # a mild upward trend: the same season a year later is busier
    assert 1.0 < mean_multiplier(dt.date(2024, 3, 4), 28) / mean_multiplier(dt.date(2023, 3, 6), 28) < 1.3


# --------------------------------------------------------------------------------------------------------------
# replay of real datasets


def require(path: Path) -> None:
    require_prerequisite(path.is_file(), f"real data set not found at {path} (set DAYBREAK_SHARED_DATA)")


def test_replay_online_retail_keeps_every_line_per_calendar_day(tmp_path):
    require(ONLINE_RETAIL)
    config = load_dataset_config("online_retail")
    start, end = dt.date(2010, 12, 1), dt.date(2010, 12, 5)
    summary = replay_dataset(config, tmp_path, source=str(ONLINE_RETAIL), start=start, end=end)

    source = pd.read_parquet(ONLINE_RETAIL)
    source = source[(source["InvoiceDate"].dt.date >= start) & (source["InvoiceDate"].dt.date <= end)]
    expected = source.groupby(source["InvoiceDate"].dt.date).size()
    assert summary == SimulationSummary(5, 0, len(source), start, end, tmp_path)

    landed = read_landing(tmp_path, start, end)
    assert list(landed.columns[:-1]) == list(pd.read_parquet(ONLINE_RETAIL).columns)
    got = landed.groupby("day").size()
    assert got.to_dict() == expected.to_dict()
    assert dt.date(2010, 12, 4) not in got.index  # a Saturday: the shop was closed
    assert day_file(tmp_path, dt.date(2010, 12, 4)).read_text().splitlines() == [
        ",".join(landed.columns[:-1])
    ]

    # values survive: revenue to the cent, integral floats as integers, missing customers empty, row order kept
    revenue = (landed["Quantity"].astype(float) * landed["UnitPrice"].astype(float)).sum()
    assert round(revenue, 2) == round(float((source["Quantity"] * source["UnitPrice"]).sum()), 2)
    assert landed["Quantity"].str.fullmatch(r"-?\d+").all()
    assert landed.loc[0, "CustomerID"] == "17850"
    assert (landed["CustomerID"] == "").sum() == source["CustomerID"].isna().sum()
    assert landed["InvoiceNo"].tolist() == source["InvoiceNo"].tolist()
    assert landed.loc[0, "InvoiceDate"] == "2010-12-01 08:26:00"

    # a rerun of the same range does not even read the source
    again = replay_dataset(config, tmp_path, source=str(tmp_path / "missing.parquet"), start=start, end=end)
    assert (again.days_written, again.days_skipped) == (0, 5)


def test_replay_store_item_from_the_zip(tmp_path):
    require(STORE_ITEM)
    config = load_dataset_config("store_item")
    start, end = dt.date(2013, 1, 1), dt.date(2013, 1, 2)
    summary = replay_dataset(config, tmp_path, source=str(STORE_ITEM), start=start, end=end)
    assert (summary.days_written, summary.lines_written) == (2, 1000)
    for day in (start, end):
        frame = pd.read_csv(day_file(tmp_path, day), dtype=str)
        assert list(frame.columns) == ["date", "store", "item", "sales"]
        assert len(frame) == 500
        assert (frame["date"] == day.isoformat()).all()
        assert len(frame.drop_duplicates(["store", "item"])) == 500


# replay of a user's own file: any delimiter, a date format, the format from the suffix or source.format

OWN_YAML = """\
name: purchases
source: {{kind: file, path_env: PURCHASES_PATH{extra}}}
landing: {{delimiter: whitespace, timestamp_format: "%Y%m%d"}}
columns: {{customer_id: customer, ordered_at: date, quantity: units}}
constants: {{location: online, product_id: any}}
derived: {{unit_price: {{expression: amount / units}}}}
series: {{keys: [location]}}
"""
OWN_ROWS = [
    ("00001", "20240305", "2", "19.98"),
    ("Ann Lee", "20240305", "4", "58.00"),
    ("00002", "20240306", "1", "4"),
]


def own_config(tmp_path, extra: str = ""):
    path = tmp_path / "purchases.yml"
    path.write_text(OWN_YAML.format(extra=extra))
    return load_dataset_config(path)


OWN_HEADER = ["customer", "date", "units", "amount"]


def delimited(delimiter: str, quote_first: bool = False):
    def write(rows) -> str:
        lines = [OWN_HEADER] + [[f'"{r[0]}"' if quote_first else r[0], *r[1:]] for r in rows]
        return "".join(delimiter.join(line) + "\n" for line in lines)

    return write


def json_lines(rows) -> str:
    return "".join(json.dumps(dict(zip(OWN_HEADER, r, strict=True))) + "\n" for r in rows)


@pytest.mark.parametrize(
    ("name", "extra", "write"),
    [
        ("p.txt", "", delimited("  \t ", quote_first=True)),
        ("p.tsv", ", delimiter: tab", delimited("\t")),
        ("p.csv", ", delimiter: ','", delimited(",")),
        ("p.jsonl", "", json_lines),
        ("renamed", ", format: jsonl", json_lines),
    ],
)
def test_replay_reads_any_delimiter_and_format_and_writes_the_landings_delimiter(
    tmp_path, name, extra, write
):
    config = own_config(tmp_path, extra)
    source = tmp_path / name
    source.write_text(write(OWN_ROWS))
    summary = replay_dataset(config, tmp_path / "landing", source=str(source))
    assert (summary.first_day, summary.last_day, summary.lines_written) == (
        dt.date(2024, 3, 5),
        dt.date(2024, 3, 6),
        3,
    )
    assert day_file(tmp_path / "landing", dt.date(2024, 3, 5)).read_text().splitlines() == [
        "customer date units amount",
        "00001 20240305 2 19.98",
        '"Ann Lee" 20240305 4 58.00',
    ]


def test_replay_of_a_parquet_source_with_integer_dates(tmp_path):
    config = own_config(tmp_path)
    frame = pd.DataFrame(
        {"customer": ["1", "2"], "date": [20240305, 20240306], "units": [1, 2], "amount": [2.5, 3.0]}
    )
    frame.to_parquet(tmp_path / "p.parquet")
    summary = replay_dataset(config, tmp_path / "landing", source=str(tmp_path / "p.parquet"))
    assert (summary.days_written, summary.lines_written) == (2, 2)
    assert (
        day_file(tmp_path / "landing", dt.date(2024, 3, 6)).read_text()
        == "customer date units amount\n2 20240306 2 3.0\n"
    )


def test_replay_names_the_file_and_the_missing_column(tmp_path):
    config = own_config(tmp_path)
    source = tmp_path / "p.txt"
    source.write_text("customer day units amount\n1 20240305 1 2\n")
    with pytest.raises(DatasetConfigError) as error:
        replay_dataset(config, tmp_path / "landing", source=str(source))
    assert str(error.value) == (
        f"{source}: no column 'date', which the dataset 'purchases' reads (the file has customer, day, units, amount)"
    )


def test_replay_refuses_an_unknown_suffix_and_an_undatable_row(tmp_path):
    config = own_config(tmp_path)
    with pytest.raises(
        DatasetConfigError, match=r"p\.xml: cannot tell the format from '\.xml'.*set source\.format"
    ):
        replay_dataset(config, tmp_path / "landing", source=str(tmp_path / "p.xml"))
    source = tmp_path / "p.txt"
    source.write_text("customer date units amount\n1 20240305 1 2\n2 2024-03-05 1 2\n")
    with pytest.raises(
        DatasetConfigError, match=r"p\.txt: 1 rows cannot be dated \(%Y%m%d\), e\.g\. row 2: '2024-03-05'"
    ):
        replay_dataset(config, tmp_path / "landing", source=str(source))


def test_the_cli_takes_a_dataset_by_path_and_writes_inside_the_home(tmp_path, monkeypatch, capsys):
    from jobs.cli import main

    monkeypatch.setenv(
        "DAYBREAK_HOME", "unused"
    )  # main() sets both from its options; restored after the test
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    config = own_config(tmp_path)
    source = tmp_path / "p.txt"
    source.write_text(delimited(" ", quote_first=True)(OWN_ROWS))
    home = tmp_path / "home"
    assert (
        main(
            [
                "--home",
                str(home),
                "--dataset",
                str(tmp_path / "purchases.yml"),
                "simulate",
                "--source",
                str(source),
            ]
        )
        == 0
    )
    written = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file())
    assert written == [
        "landing/purchases/2024-03-05/sales_2024-03-05.csv",
        "landing/purchases/2024-03-06/sales_2024-03-06.csv",
    ]
    assert config.name == "purchases"
    assert main(["--home", str(home), "--dataset", "/some/path/evil", "simulate"]) == 2
    assert capsys.readouterr().err.startswith(
        "daybreak simulate: DAYBREAK_DATASET: dataset '/some/path/evil': no such YAML file"
    )
