"""Erasure and retention through the real jobs: ingest, the privacy step, dbt, segmentation, publish.

Given a small synthetic shop built night by night, segmented and published, its customers numbered as Online
Retail numbers them (`17042.0`), when a customer's erasure is requested through the CLI and the next night runs
(its export holding a malformed line that names the customer, and delivered twice; a report and a log naming
them), then no table (every column as text), no Parquet file, no retained landed file or duplicate delivery and no
other file under DAYBREAK_HOME holds the customer's source id or pseudonym, down to the raw bytes of the warehouse
and the serving copy, while numbers that only begin with the id stay as they were; the day's
revenue still reconciles with ingest to the cent (dbt's tests in the transform, and here), the audit says what was
done without naming the customer, and a rerun of the night changes nothing. The same nights remove the landed
files past `landing.retention_days`, once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import re
import shutil

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import Settings, pseudonym_key
from daybreak.datasets import load_dataset_config
from daybreak.privacy.pseudonyms import pseudonym
from tests.conftest import CAST, write_roles_file

pytestmark = pytest.mark.integration

START, FIRST_NIGHT, NIGHT = dt.date(2024, 1, 1), dt.date(2024, 2, 27), dt.date(2024, 2, 28)
RETENTION_DAYS = 30
NUMBERED = 17000
"""The simulated customer `CU042` becomes `17042.0`: a numeric id, exported as a float as Online Retail's are."""


def number_the_customers(landing_dir) -> None:
    for path in landing_dir.rglob("*.csv"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"\bCU(\d+)\b", lambda m: f"{NUMBERED + int(m.group(1))}.0", text))


def night(day: dt.date, settings: Settings, *, full_refresh: bool = False) -> dict:
    from jobs import privacy, publish, segment, transform

    run_id = f"night-{day}"
    done = {"privacy": privacy.run(day, run_id, settings)}
    done["transform"] = transform.run(day, run_id, settings, full_refresh=full_refresh)
    done["segment"] = segment.run(day, run_id, settings)
    done["publish"] = publish.run(day, run_id, settings)
    return done


@pytest.fixture(scope="module")
def erased(tmp_path_factory):
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs import cli, ingest, privacy

    home = tmp_path_factory.mktemp("privacy")
    patch = pytest.MonkeyPatch()
    patch.setenv("DAYBREAK_HOME", str(home))
    patch.setenv("DAYBREAK_DATASET", "synthetic")
    # looking a customer up and requesting an erasure are an admin's (daybreak.core.roles)
    patch.setenv("DAYBREAK_ROLES_FILE", str(write_roles_file(home / "roles.yml")))
    patch.setenv("DAYBREAK_USER", CAST["admin"])
    config = load_dataset_config("synthetic")
    kept = dataclasses.replace(
        config, landing=dataclasses.replace(config.landing, retention_days=RETENTION_DAYS)
    )
    patch.setattr(privacy, "load_dataset_config", lambda name: kept)
    settings = Settings(home=home, dataset="synthetic")
    try:
        simulate_synthetic(
            settings.landing_dir,
            start=START,
            end=NIGHT,
            seed=5,
            customers=200,
            products=40,
            locations=3,
            orders_per_day=25,
        )
        number_the_customers(settings.landing_dir)
        days = [START + dt.timedelta(days=i) for i in range((FIRST_NIGHT - START).days + 1)]
        ingest.run_days(days, "history", settings)
        first = night(FIRST_NIGHT, settings, full_refresh=True)
        # the customer: one who buys tonight and bought before (segmented, with lines in earlier files)
        tonight = pd.read_csv(settings.landing_dir / NIGHT.isoformat() / f"sales_{NIGHT}.csv", dtype=str)
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
            segmented = {
                c
                for (c,) in connection.execute(
                    "select customer_id from predictions.customer_segments"
                ).fetchall()
            }
        key = pseudonym_key()
        customer = sorted(
            c
            for c in tonight["customer_ref"].dropna().str.removesuffix(".0")
            if pseudonym(c, key) in segmented
        )[0]
        # tonight's export also holds a malformed line naming the customer (kept as raw text in the quarantine),
        # and is delivered a second time, byte for byte, under another name (recorded as a duplicate)
        export = settings.landing_dir / NIGHT.isoformat() / f"sales_{NIGHT}.csv"
        with export.open("a", encoding="utf-8") as file:
            file.write(f"999999,{NIGHT} 10:00:00,{customer}.0,SKU-X\n")
        shutil.copyfile(export, export.with_name(f"sales_{NIGHT}_resent.csv"))
        # a report and a log that name the customer, beside numbers that only begin with its id
        report, log = (
            settings.reports_dir / "customers" / f"{FIRST_NIGHT}.html",
            settings.home / "logs" / "night.log",
        )
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            f"<td>{pseudonym(customer, key)}</td><td>{customer}.0</td><td>mediumvioletred:{customer}173</td>"
        )
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"looked up customer {customer} (order {customer}42)\n")
        assert cli.main(["privacy", "lookup", "--customer", customer]) == 0
        assert cli.main(["privacy", "erase", "--customer", customer, "--reason", "data subject request"]) == 0
        ingest.run(NIGHT, f"night-{NIGHT}", settings)
        second = night(NIGHT, settings)
        # a rerun of the night: ingest takes the scrubbed export for the one it landed (its landed copy, scrubbed
        # alike), and nothing is left to erase or remove
        assert ingest.run(NIGHT, "rerun", settings)["new_files"] == []
        rerun = privacy.run(NIGHT, "rerun", settings)
        assert cli.main(["privacy", "lookup", "--customer", customer]) == 2, "the link is gone"
    finally:
        patch.undo()
    return settings, customer, first, second, rerun


def texts_holding(connection, needles: list[str]) -> dict[str, int]:
    """Every base table's rows (all columns cast to text) that contain a needle as a whole value (17042 and
    17042.0, not 8817042 or a hash's ...a17042f...), by table."""
    found = {}
    for schema, name in connection.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_type = 'BASE TABLE'"
    ).fetchall():
        for needle in needles:
            (count,) = connection.execute(
                f'select count(*) from "{schema}"."{name}" t where regexp_matches(t::varchar, ?)',  # noqa: S608
                [f"(^|[^0-9A-Za-z]){re.escape(needle)}([^0-9A-Za-z]|$)"],
            ).fetchone()
            if count:
                found[f"{schema}.{name} {needle}"] = count
    return found


def files_holding(home, needles: list[re.Pattern[bytes]]) -> list[str]:
    """Every file under `home` whose raw bytes hold a needle; a Parquet or gzip file's decompressed content too."""
    held = []
    with duckdb.connect() as connection:
        for path in sorted(home.rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            readable = [data]
            if path.suffix == ".parquet":
                readable += [
                    str(row).encode()
                    for row in connection.execute(
                        "select t::varchar from read_parquet(?) t", [str(path)]
                    ).fetchall()
                ]
            if data.startswith(b"\x1f\x8b"):
                readable.append(gzip.decompress(data))
            held += [
                f"{path.relative_to(home)} {n.pattern!r}"
                for n in needles
                if any(n.search(r) for r in readable)
            ]
    return held


def test_nothing_under_the_data_home_holds_the_erased_customer(erased):
    settings, customer, *_ = erased
    needles = [customer, pseudonym(customer, pseudonym_key())]
    assert customer.isdigit(), "a numeric id, as Online Retail's"
    for database in (settings.warehouse_path, settings.serving_path):
        with duckdb.connect(str(database), read_only=True) as connection:
            assert texts_holding(connection, needles) == {}, database
    # the bytes of every file: the warehouse and its serving copy, the lake, the landing folder (the duplicate
    # delivery included), reports, logs; the id as a whole number (17042, not inside 170421)
    as_bytes = [
        re.compile(rb"(?<![0-9])" + customer.encode() + rb"(?![0-9])"),
        re.compile(needles[1].encode()),
    ]
    assert files_holding(settings.home, as_bytes) == []


def test_reports_and_logs_lose_the_customer_and_keep_the_numbers_that_only_begin_with_its_id(erased):
    settings, customer, *_ = erased
    report = settings.reports_dir / "customers" / f"{FIRST_NIGHT}.html"
    assert report.read_text() == f"<td>[erased]</td><td>[erased]</td><td>mediumvioletred:{customer}173</td>"
    assert (
        settings.home / "logs" / "night.log"
    ).read_text() == f"looked up customer [erased] (order {customer}42)\n"


def test_the_bytes_search_finds_what_an_erasure_left(tmp_path):
    """The search above is not blind: it finds a number in a DuckDB file's freed blocks, in Parquet, and gzip."""
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create table t as select 'x' || i as id from range(2000) t(i)")
        connection.execute("insert into t values ('row 17042.0')")
        connection.execute("checkpoint")
        connection.execute("delete from t where id like 'row%'")
        connection.execute("checkpoint")
        connection.execute(
            "copy (select 17042 as customer_id) to ? (format parquet, compression zstd)",
            [str(tmp_path / "a.parquet")],
        )
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(b"a,17042\n"))
    (tmp_path / "c.txt").write_text("17042173 and 117042 are other numbers")
    found = files_holding(tmp_path, [re.compile(rb"(?<![0-9A-Za-z])17042(?![0-9A-Za-z])")])
    assert [f.split()[0] for f in found] == ["a.parquet", "b.csv.gz", "w.duckdb"]


def test_the_lines_stay_unlinked_and_the_revenue_still_reconciles(erased):
    settings, customer, _, second, _ = erased
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        marts, ingested = connection.execute(
            """
            select
                (select round(sum(revenue), 2) from marts.fct_sales_lines where business_date = ?),
                (select round(sum(revenue_loaded), 2) from monitoring.ingest_runs
                 where business_date = ? and status = 'loaded')
            """,
            [NIGHT, NIGHT],
        ).fetchone()
        (unlinked,) = connection.execute(
            "select count(*) from marts.fct_sales_lines where customer_id is null and business_date = ?",
            [NIGHT],
        ).fetchone()
        audit = connection.execute(
            "select action, count(*) from monitoring.privacy_audit where request_id <> 'retention' group by 1"
        ).fetchall()
    assert marts == ingested
    assert unlinked >= 1, "tonight's lines of the erased customer remain, without a customer"
    actions = dict(audit)
    assert {"unlink_lines", "delete_rows", "rewrite_landed_file", "remove_link"} <= set(actions)
    assert [e["request_id"] for e in second["privacy"]["erasures"]] != []
    assert second["transform"] is not None


def test_landed_files_past_retention_are_removed_once_with_their_accounting_kept(erased):
    settings, _, first, second, rerun = erased
    cutoff = NIGHT - dt.timedelta(days=RETENTION_DAYS)
    remaining = sorted(p.parent.name for p in settings.landing_dir.glob("*/*.csv"))
    assert remaining and min(remaining) >= cutoff.isoformat()
    assert first["privacy"]["landed_files_removed"] > 0 and second["privacy"]["landed_files_removed"] == 2
    assert rerun == {"erasures": [], "landed_files_removed": 0, "warehouse_compacted": True}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        (accounted,) = connection.execute(
            "select count(*) from monitoring.ingest_runs where business_date < ?", [cutoff]
        ).fetchone()
        (audited,) = connection.execute(
            "select count(*) from monitoring.privacy_audit where action = 'remove_landed_file'"
        ).fetchone()
    assert accounted >= (cutoff - START).days, "the removed files' accounting stays"
    assert audited == 2 * accounted, "one audit row per removed file: the landing export and the landed copy"
