"""Peak memory of ingesting one large export: a 5-million-line day file through the validated ingest job.

A synthetic shop's export for one open day (`--lines` lines, about 85 bytes each: descriptions with commas,
missing customers, and one line in a thousand breaking a rule, so the quarantine has work) is written once; then
`jobs.ingest.run` ingests it into a fresh data home in a child process, which reports its own peak resident
memory (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), its wall and CPU time (its own and any worker's), and the
day's accounting read back from the warehouse: rows in = loaded + quarantined, the lake's line count, and revenue
in = loaded + quarantined to the cent. `--whole` also ingests it the way every file was before (read and mapped
whole: the batch size set above the file's size), the baseline measured in the same run. `--duplicates
quarantine` checks repeated lines as Online Retail's config does (their first rows are kept across batches).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAY = dt.date(2024, 3, 5)
CHUNK = 500_000


def write_export(path: Path, lines: int, seed: int = 42) -> int:
    """The day's export, written a chunk at a time; returns its size in bytes."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    countries = np.array(["United Kingdom", "France", "Germany", "Netherlands", "EIRE", "Spain", "Portugal"])
    names = np.array([f"Ceramic item {i}, glazed" for i in range(300)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("invoice_no,invoice_ts,customer_ref,sku,description,country,qty,unit_price\n")
        for start in range(0, lines, CHUNK):
            n = min(CHUNK, lines - start)
            rows = np.arange(start, start + n)
            seconds = rng.integers(0, 86_400, n)
            customers = np.char.add("C", np.char.zfill(rng.integers(1, 50_000, n).astype(str), 5))
            customers[rng.random(n) < 0.05] = ""
            product = rng.integers(0, 300, n)
            qty = rng.integers(-2, 12, n).astype(str)
            qty[rows % 1000 == 7] = "two"  # quantity_not_numeric, one line in a thousand
            frame = pd.DataFrame(
                {
                    "invoice_no": (1_000_000 + rows // 4).astype(str),
                    "invoice_ts": (pd.Timestamp(DAY) + pd.to_timedelta(seconds, unit="s")).strftime(
                        "%Y-%m-%d %H:%M:%S"
                    ),
                    "customer_ref": customers,
                    "sku": np.char.add("SKU-", product.astype(str)),
                    "description": names[product],
                    "country": countries[rng.integers(0, len(countries), n)],
                    "qty": qty,
                    "unit_price": np.round(rng.uniform(0.1, 40, n), 2).astype(str),
                }
            )
            frame.to_csv(out, header=False, index=False)
    return path.stat().st_size


def child(home: Path, landing: Path, whole: bool, duplicates: str, batch_mib: int | None) -> dict:
    """Ingest the day into `home` (this process), and report what it cost and what the warehouse holds."""
    os.environ["DAYBREAK_HOME"] = str(home)
    os.environ["DAYBREAK_DATASET"] = "synthetic"
    import duckdb

    from daybreak.core.settings import get_settings
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest import lake, streaming
    from daybreak.privacy.local_keys import ensure_local_keys
    from jobs import ingest

    settings = get_settings()
    ensure_local_keys(settings)
    settings.landing_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.landing_dir.symlink_to(landing, target_is_directory=True)
    config = load_dataset_config("synthetic")
    config = dataclasses.replace(
        config, validation=dataclasses.replace(config.validation, duplicate_lines=duplicates)
    )
    ingest.load_dataset_config = lambda name: config
    if batch_mib:
        streaming.BATCH_BYTES = batch_mib << 20
    if whole:
        streaming.BATCH_BYTES = 1 << 62
    began = time.perf_counter()
    summary = ingest.run(DAY, "bench", settings)
    seconds = time.perf_counter() - began
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime
    peak = own.ru_maxrss * 1024
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        rows_in, loaded, quarantined, revenue_in, revenue_loaded, revenue_quarantined = connection.execute(
            "select rows_in, rows_loaded, rows_quarantined, revenue_in, revenue_loaded, revenue_quarantined "
            "from monitoring.ingest_runs where status = 'loaded'"
        ).fetchone()
        lake_lines = connection.execute(
            "select count(*) from read_parquet(?)", [str(lake.partition_dir(settings, DAY) / "*.parquet")]
        ).fetchone()[0]
        quarantine_rows = connection.execute("select count(*) from monitoring.quarantine").fetchone()[0]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_bytes": peak,
        "rows_in": rows_in,
        "rows_loaded": loaded,
        "rows_quarantined": quarantined,
        "lake_lines": lake_lines,
        "quarantine_rows": quarantine_rows,
        "summary_rows_in": summary["rows_in"],
        "revenue_balances": round(revenue_in, 2) == round(revenue_loaded + revenue_quarantined, 2),
        "revenue_in": revenue_in,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench ingest_memory", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--home", help="folder for the export and the data homes (default: a new temporary one)"
    )
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument(
        "--whole", action="store_true", help="also ingest it read whole, as before (about 7 GB)"
    )
    parser.add_argument("--duplicates", choices=["keep", "quarantine"], default="keep")
    parser.add_argument("--batch-mib", type=int, help="batch size in MiB (default: daybreak's)")
    parser.add_argument("--child", nargs=2, metavar=("HOME", "LANDING"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        home, landing = (Path(arg) for arg in args.child)
        print(json.dumps(child(home, landing, args.whole, args.duplicates, args.batch_mib)))
        return 0

    base = Path(args.home or tempfile.mkdtemp(prefix="daybreak-bench-memory-"))
    landing = base / "landing"
    export = landing / DAY.isoformat() / "sales.csv"
    began = time.perf_counter()
    if (base / "lines").is_file() and (base / "lines").read_text() == str(args.lines):
        size, how = export.stat().st_size, "kept from an earlier run"
    else:
        size = write_export(export, args.lines)
        (base / "lines").write_text(str(args.lines))
        how = f"written in {time.perf_counter() - began:.0f} s"
    print(f"export: {args.lines:,} lines, {size / 1e6:.0f} MB ({how})")
    print(
        f"{'mode':8} {'seconds':>8} {'CPU s':>7} {'peak MiB':>9} {'rows in':>10} {'loaded':>10} {'quarantined':>11} "
        "balances"
    )
    for mode in ["batches"] + (["whole"] if args.whole else []):
        command = [sys.executable, "-m", "bench", "ingest_memory", "--duplicates", args.duplicates]
        command += ["--whole"] if mode == "whole" else []
        command += ["--batch-mib", str(args.batch_mib)] if args.batch_mib else []
        shutil.rmtree(base / mode, ignore_errors=True)
        command += ["--child", str(base / mode), str(landing)]
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        balances = (
            result["rows_in"] == result["rows_loaded"] + result["rows_quarantined"] == args.lines
            and result["lake_lines"] == result["rows_loaded"]
            and result["quarantine_rows"] == result["rows_quarantined"]
            and result["revenue_balances"]
        )
        print(
            f"{mode:8} {result['seconds']:8.1f} {result['cpu_seconds']:7.1f} {result['peak_bytes'] / 2**20:9.0f} "
            f"{result['rows_in']:10,} "
            f"{result['rows_loaded']:10,} {result['rows_quarantined']:11,} {'yes' if balances else 'NO'}"
        )
    print(f"folder: {base}")
    return 0
