"""Pseudonyms, the encrypted link store and the demo's generated keys (daybreak.privacy)."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pandas as pd
import pytest

from daybreak.core.settings import Settings, SettingsError, pseudonym_key
from daybreak.datasets import load_dataset_config
from daybreak.ingest import canonical
from daybreak.ingest.pseudonymise import pseudonymise
from daybreak.privacy import local_keys
from daybreak.privacy.links import LinkStore, LinkStoreError, lookup, store_path
from daybreak.privacy.pseudonyms import pseudonym

DAY = dt.date(2024, 3, 5)


def test_a_pseudonym_is_a_deterministic_keyed_hash():
    first = pseudonym("17850", b"key one")
    assert first == pseudonym("17850", b"key one") and first.startswith("c_") and len(first) == 22
    assert pseudonym("17850", b"key two") != first, "another key, another pseudonym"
    assert pseudonym("17851", b"key one") != first


def test_a_missing_key_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.delenv("DAYBREAK_PSEUDONYM_KEY")
    with pytest.raises(SettingsError, match=r"^DAYBREAK_PSEUDONYM_KEY is not set: [^\n]*$"):
        pseudonym_key()


def test_ingest_mapping_pseudonymises_lines_and_quarantined_raw_values_and_keeps_missing_ids_missing():
    config = load_dataset_config("synthetic")
    raw = pd.DataFrame(
        {
            "invoice_no": ["1", "2", "3"],
            "invoice_ts": ["2024-03-05 09:00:00"] * 3,
            "customer_ref": ["C0001", "", "C0002"],
            "sku": ["A", "B", ""],
            "description": ["x"] * 3,
            "country": ["UK"] * 3,
            "qty": ["1"] * 3,
            "unit_price": ["2.5"] * 3,
        }
    )
    result = canonical.to_canonical(raw, config, source_file="s.csv", business_date=DAY)
    hidden, links = pseudonymise(result, config, b"k")
    assert hidden.loaded["customer_id"].iloc[0] == pseudonym("C0001", b"k")
    assert pd.isna(hidden.loaded["customer_id"].iloc[1])
    assert json.loads(hidden.quarantined["raw_values"].iloc[0])["customer_ref"] == pseudonym("C0002", b"k")
    assert links == {"C0001": pseudonym("C0001", b"k"), "C0002": pseudonym("C0002", b"k")}


def test_the_link_store_is_encrypted_private_and_unreadable_without_its_key(tmp_path, monkeypatch):
    settings = Settings(home=tmp_path)
    store = LinkStore.open(settings)
    store.add({"C0001": pseudonym("C0001", pseudonym_key())}, DAY)
    store.save()
    path = store_path(settings)
    assert b"C0001" not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert lookup(settings, "C0001") == {
        "pseudonym": pseudonym("C0001", pseudonym_key()),
        "first_seen": "2024-03-05",
    }
    assert lookup(settings, "C9999") is None
    with pytest.raises(LinkStoreError, match="cannot decrypt"):
        LinkStore.open(settings, key=b"ZGF5YnJlYWstb3RoZXIta2V5LW9mLTMyLWJ5dGVzLi4=")
    monkeypatch.delenv("DAYBREAK_LINK_STORE_KEY")
    with pytest.raises(SettingsError, match="DAYBREAK_LINK_STORE_KEY"):
        LinkStore.open(settings)


def test_the_demo_generates_keys_for_a_fresh_home_only(tmp_path, monkeypatch):
    monkeypatch.delenv("DAYBREAK_PSEUDONYM_KEY")
    monkeypatch.delenv("DAYBREAK_LINK_STORE_KEY")
    settings = Settings(home=tmp_path / "home")
    origin = local_keys.ensure_local_keys(settings)
    assert set(origin.values()) == {"generated"}
    for variable in local_keys.GENERATORS:
        path = local_keys.key_file(settings, variable)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = pseudonym_key()
    monkeypatch.delenv("DAYBREAK_PSEUDONYM_KEY")
    assert local_keys.ensure_local_keys(settings)["DAYBREAK_PSEUDONYM_KEY"].endswith("daybreak_pseudonym_key")
    assert pseudonym_key() == key, "the same home keeps its key"
    monkeypatch.delenv("DAYBREAK_PSEUDONYM_KEY")
    local_keys.key_file(settings, "DAYBREAK_PSEUDONYM_KEY").unlink()
    settings.lake_dir.mkdir(parents=True)
    with pytest.raises(SettingsError, match="second pseudonym"):
        local_keys.ensure_local_keys(settings)


def test_scrubbing_an_export_blanks_the_ids_fields_only_and_is_deterministic(tmp_path):
    from daybreak.nights.scrub import scrub_export

    text = 'order,customer,sku\n1,C0001,C00011\n2,"C0001",X\n3,C0001.0,C0001-B\n'
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (first, second):
        path.write_text(text)
        path.chmod(0o444)
        assert scrub_export(path, "csv", "C0001") == 3
    assert first.read_text() == 'order,customer,sku\n1,,C00011\n2,"",X\n3,,C0001-B\n'
    assert first.read_bytes() == second.read_bytes() and stat.S_IMODE(first.stat().st_mode) == 0o444
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(
        '{"customer": "17850.0", "qty": 1}\n{"customer": 17850, "qty": 2}\n{"customer": 178501}\n'
    )
    assert scrub_export(jsonl, "jsonl", "17850") == 2
    assert (
        jsonl.read_text()
        == '{"customer": "", "qty": 1}\n{"customer": null, "qty": 2}\n{"customer": 178501}\n'
    )


@pytest.mark.parametrize("packed", ["gzip", "utf-16"])
def test_scrubbing_a_compressed_or_utf16_export_keeps_its_form(tmp_path, packed):
    import gzip

    from daybreak.ingest.exports.decoding import decode, uncompressed
    from daybreak.nights.scrub import scrub_export

    text = "order\tcustomer\n1\tC0001\n2\tC0002\n"
    pack = (lambda t: gzip.compress(t.encode())) if packed == "gzip" else (lambda t: t.encode("utf-16"))
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (first, second):
        path.write_bytes(pack(text))
        assert scrub_export(path, "csv", "C0001") == 1
    assert decode(uncompressed(first.read_bytes())) == (
        text.replace("C0001", ""),
        packed.replace("gzip", "utf-8"),
    )
    assert first.read_bytes() == second.read_bytes(), (
        "deterministic: a landed copy scrubbed apart stays equal"
    )


def test_retention_removes_files_before_the_cutoff_as_of_the_business_date(tmp_path):
    from daybreak.ingest import lake
    from daybreak.nights.retention import remove_expired
    from daybreak.warehouse.connection import connect
    from jobs import ingest

    settings = Settings(home=tmp_path)
    header = "invoice_no,invoice_ts,customer_ref,sku,description,country,qty,unit_price\n"
    days = [dt.date(2024, 3, d) for d in (1, 2, 3, 4)]
    for day in days:
        folder = settings.landing_dir / day.isoformat()
        folder.mkdir(parents=True)
        (folder / "sales.csv").write_text(header + f"1,{day} 09:00:00,C0001,SKU-1,Mug,UK,1,2.50\n")
        ingest.run(day, "r", settings)
    with connect(settings.warehouse_path) as connection:
        assert remove_expired(connection, settings, days[-1], None, "r") == []
        rows = remove_expired(connection, settings, days[-1], 2, "r")  # keeps 03-02 on: removes 03-01
        again = remove_expired(connection, settings, days[-1], 2, "r")
        (accounted,) = connection.execute("select count(*) from monitoring.ingest_runs").fetchone()
    assert sorted(target.split("/")[0] for _, _, _, target, *_ in rows) == ["lake", "landing"]
    assert again == [] and accounted == 4
    assert not (settings.landing_dir / "2024-03-01" / "sales.csv").exists()
    assert (settings.landing_dir / "2024-03-01").is_dir(), (
        "the day folder stays: the schedule knows it landed"
    )
    assert (settings.landing_dir / "2024-03-02" / "sales.csv").exists()
    assert len(list(lake.partition_dir(settings, days[0]).glob("*.parquet"))) == 1, "the validated lines stay"


def test_the_cli_records_a_request_for_a_linked_customer_only(tmp_path, monkeypatch, act_as, capsys):
    from daybreak.nights.erasure import pending, read_requests
    from jobs import cli

    act_as("admin")
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path))
    settings = Settings(home=tmp_path)
    store = LinkStore.open(settings)
    store.add({"C0001": pseudonym("C0001", pseudonym_key())}, DAY)
    store.save()
    assert cli.main(["privacy", "erase", "--customer", "C0002", "--reason", "asked"]) == 2
    assert "no customer 'C0002' is linked" in capsys.readouterr().err
    assert cli.main(["privacy", "erase", "--customer", "C0001", "--reason", "asked"]) == 0
    assert cli.main(["privacy", "erase", "--customer", "C0001", "--reason", "again"]) == 0
    (request,) = read_requests(settings)
    assert request["pseudonym"] == pseudonym("C0001", pseudonym_key()) and "C0001" not in json.dumps(request)
    assert pending(settings, DAY) == [request], "made before any night: the next night carries it out"
    monkeypatch.delenv("DAYBREAK_LINK_STORE_KEY")
    assert cli.main(["privacy", "lookup", "--customer", "C0001"]) == 2
    assert capsys.readouterr().err.strip().startswith("daybreak privacy: DAYBREAK_LINK_STORE_KEY is not set")


def test_the_text_scrub_replaces_whole_values_only(tmp_path):
    from daybreak.nights.scrub import scrub_text

    report = tmp_path / "report.html"
    report.write_text(
        "<td>mediumvioletred:13047173</td><td>mediumvioletred:13047</td> 113047 13047.5 0.13047 "
        '{"customer": "13047.0", "other": 130470} customer 13047, c_0f3a9 c_0f3a9b'
    )
    assert scrub_text(report, ["13047", "c_0f3a9"]) == 4
    assert report.read_text() == (
        "<td>mediumvioletred:13047173</td><td>mediumvioletred:[erased]</td> 113047 13047.5 0.13047 "
        '{"customer": "[erased]", "other": 130470} customer [erased], [erased] c_0f3a9b'
    )
    untouched = tmp_path / "other.log"
    untouched.write_text("invoice 130471 of 2024-03-05\n")
    before = untouched.stat().st_mtime_ns
    assert scrub_text(untouched, ["13047"]) == 0
    assert untouched.stat().st_mtime_ns == before, (
        "a file holding the id only inside longer numbers stays as is"
    )


def test_what_daybreak_writes_under_the_data_home_is_its_users_only(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    from daybreak.core.files import PRIVATE_UMASK
    from tests.conftest import CAST, PROJECT_ROOT, write_roles_file

    # Given a day's export, delivered world-readable as a source system may
    home = tmp_path / "home"
    folder = home / "landing" / "synthetic" / "2024-03-05"
    folder.mkdir(parents=True)
    (folder / "sales.csv").write_text(
        "invoice_no,invoice_ts,customer_ref,sku,description,country,qty,unit_price\n"
        "1,2024-03-05 09:00:00,17850.0,SKU-1,Mug,UK,1,2.50\n"
    )
    env = {
        **os.environ,
        "DAYBREAK_HOME": str(home),
        "DAYBREAK_DATASET": "synthetic",
        "DAYBREAK_ROLES_FILE": str(write_roles_file(tmp_path / "roles.yml")),
        "DAYBREAK_USER": CAST["admin"],
    }
    daybreak = [sys.executable, "-c", "import sys; from jobs.cli import main; sys.exit(main())"]

    # When daybreak ingests it, records an erasure and runs the privacy step (which compacts the warehouse)
    for command in (
        ["ingest", "--date", "2024-03-05"],
        ["privacy", "erase", "--customer", "17850", "--reason", "asked"],
        ["privacy", "run", "--date", "2024-03-06"],
    ):
        done = subprocess.run(daybreak + command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    # Then every file and folder it made is its user's only (the delivered export keeps its own mode)
    made = [p for p in home.rglob("*") if "landing" not in p.relative_to(home).parts]
    assert {"warehouse", "lake", "privacy"} <= {p.relative_to(home).parts[0] for p in made}
    exposed = [f"{p.relative_to(home)} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in made
               if stat.S_IMODE(p.stat().st_mode) & PRIVATE_UMASK]  # fmt: skip
    assert exposed == []
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert f"umask {PRIVATE_UMASK:03o} && exec" in dockerfile, "the image's processes use the same mask"


def test_the_quarantine_loses_the_customer_as_a_whole_field_only(tmp_path):
    from daybreak.nights.erasure import _scrub_quarantine
    from daybreak.warehouse import tables
    from daybreak.warehouse.connection import connect
    from daybreak.warehouse.schemas.monitoring import QUARANTINE

    code = pseudonym("17016", b"k")
    raw = {
        1: json.dumps({"line_number": 3, "raw_text": "8817016,2024-03-05 10:00:00,17016.0,SKU-X"}),
        2: json.dumps({"customer_ref": code, "qty": "two"}),
        3: json.dumps({"line_number": 9, "raw_text": "170161,2024-03-05 11:00:00,170160,SKU-Y"}),
    }
    with connect(tmp_path / "w.duckdb") as connection:
        tables.ensure(connection, QUARANTINE)
        for row, values in raw.items():
            connection.execute(
                "insert into monitoring.quarantine (business_date, source_file, file_sha256, source_row, rule, "
                "raw_values) values (?, 's.csv', 'abc', ?, 'r', ?)",
                [DAY, row, values],
            )
        assert _scrub_quarantine(connection, code, "17016") == [("unlink_lines", "monitoring.quarantine", 2)]
        kept = dict(connection.execute("select source_row, raw_values from monitoring.quarantine").fetchall())
    assert json.loads(kept[1])["raw_text"] == "8817016,2024-03-05 10:00:00,,SKU-X", (
        "the invoice 8817016 stays"
    )
    assert json.loads(kept[2]) == {"customer_ref": None, "qty": "two"}
    assert kept[3] == raw[3], "another customer's row is untouched"
