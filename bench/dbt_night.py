"""A demo night's transform and drift in process, this checkout against a baseline checkout, alternating in one run.

The default synthetic shop is simulated and its history loaded up to three days before its last day, once (a
base data home). Each variant then runs on a fresh copy of it, in its own process with its checkout first on the
path: ingest and transform of two nights in a row. The first night warms dbt's state (a copied home has a new
warehouse path, which dbt counts as a new profile and re-parses for); the second is the figure, as every night of
a real deployment after its first: `jobs.transform.run`'s wall time, and from dbt's own log and run_results.json
dbt's start, its parse (from the adapter's registration to "Found ... models"), the models, data tests and unit
tests (summed execution times) and whether dbt re-parsed, and why; then the night's monitoring step,
`jobs.drift.run`'s wall time (the first night's run imported what it needs). Variants, `--repeats` times each, alternating:
  baseline  the `--baseline` checkout (e.g. `git worktree add /tmp/base <previous commit>`);
  current   this checkout;
  threads   this checkout with dbt's `--threads 4`: dbt-duckdb opens the file once per process and gives each
            thread a cursor of that connection, so threads are allowed; on 2 cores they did not pay (benchmarks.md).
Medians are printed, with ratios to the baseline, and whether every variant's warehouse ends equal to the
baseline's (bench.dbt_tasks' `rounded_checksums`: `table_checksums` with doubles rounded), `monitoring.ingest_runs`
aside (it records each home's own landing path).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

VARIANTS = ("baseline", "current", "threads")


def dbt_figures(log_text: str, run_results: dict) -> dict:
    """Seconds of dbt's start, parse and nodes by kind, from one invocation's log and its run_results.json."""

    def at(pattern: str) -> float:
        match = re.search(r"(\d\d):(\d\d):(\d\d\.\d+) \[\w+ ?\] \[MainThread\]: " + pattern, log_text)
        hours, minutes, seconds = match.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)

    began, adapter, found = at("Running with dbt"), at("Registered adapter"), at(r"Found \d+ models")
    ended = at("Command `dbt build` succeeded")
    kinds: dict[str, float] = {}
    for result in run_results["results"]:
        kind = result["unique_id"].split(".")[0]
        kinds[kind] = kinds.get(kind, 0.0) + result["execution_time"]
    reparse = re.search(r"Unable to do partial parsing because ([^\n]+)", log_text)
    return {
        "dbt_command": ended - began,
        "dbt_start": adapter - began,
        "dbt_parse": found - adapter,
        "dbt_execute": run_results["elapsed_time"],
        "models": kinds.get("model", 0.0),
        "data_tests": kinds.get("test", 0.0),
        "unit_tests": kinds.get("unit_test", 0.0),
        "nodes": len(run_results["results"]),
        "reparse": reparse.group(1).strip() if reparse else "",
    }


def child(home: Path, last: dt.date, threads: int | None) -> dict:
    """In the variant's process: ingest and transform the two nights before `last` + 1, figures of the second."""
    import time

    from daybreak.core.settings import get_settings
    from jobs import drift, ingest, transform

    if threads:
        command = transform.dbt_command

        def with_threads(*args, **kwargs):
            line, env = command(*args, **kwargs)
            return [*line, "--threads", str(threads)], env

        transform.dbt_command = with_threads
    settings = get_settings()
    log_file = settings.dbt_target_dir.parent / "logs" / "dbt.log"
    figures = {}
    for night in (last - dt.timedelta(days=1), last):
        ingest.run(night, f"bench__{night}", settings)
        log_start = log_file.stat().st_size if log_file.exists() else 0
        started = time.perf_counter()
        transform.run(night, f"bench__{night}", settings)
        figures = {"transform": time.perf_counter() - started}
        log_text = log_file.read_bytes()[log_start:].decode(errors="replace")
        run_results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
        figures |= dbt_figures(log_text, run_results)
        started = time.perf_counter()
        drift.run(night, f"bench__{night}", settings)
        figures["drift"] = time.perf_counter() - started
    figures["transform_and_drift"] = figures["transform"] + figures["drift"]
    return figures


MEDIAN_KEYS = (
    "transform_and_drift",
    "transform",
    "dbt_command",
    "dbt_start",
    "dbt_parse",
    "dbt_execute",
    "models",
    "data_tests",
    "unit_tests",
    "drift",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dbt_night", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="a checkout of the commit to compare with")
    parser.add_argument("--home", help="folder for the data homes (default: a new temporary folder)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant, alternating (medians)")
    parser.add_argument("--reuse-base", action="store_true", help="reuse the base data home in --home/base")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--last", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(Path(args.child), dt.date.fromisoformat(args.last), args.threads)
        print("RESULT " + json.dumps(result))
        return 0

    root = Path(args.home or tempfile.mkdtemp(prefix="daybreak-bench-dbt-night-")).resolve()
    base = root / "base"
    os.environ.update(DAYBREAK_HOME=str(base), DAYBREAK_DATASET="synthetic")
    # ingest pseudonymises customers: throwaway keys, the same for every variant
    os.environ.setdefault("DAYBREAK_PSEUDONYM_KEY", "bench-dbt-night-pseudonym-key")
    os.environ.setdefault("DAYBREAK_LINK_STORE_KEY", "ZGF5YnJlYWstdGVzdHMtbGluay1zdG9yZS1rZXktMzI=")

    import duckdb

    from bench.dbt_tasks import rounded_checksums
    from daybreak.core.settings import PROJECT_ROOT, Settings, get_settings
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs.pipeline import load_history

    simulation = load_dataset_config("synthetic").simulation
    start, end = (
        dt.date.fromisoformat(str(simulation["start"])),
        dt.date.fromisoformat(str(simulation["end"])),
    )
    last = end - dt.timedelta(days=1)
    if not (args.reuse_base and (base / "warehouse").exists()):
        shutil.rmtree(base, ignore_errors=True)
        simulate_synthetic(get_settings().landing_dir, start=start, end=end, seed=42)
        load_history(last - dt.timedelta(days=2), get_settings())

    trees = {"baseline": Path(args.baseline).resolve(), "current": PROJECT_ROOT, "threads": PROJECT_ROOT}
    runs: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    checksums: dict[str, dict] = {}
    loads = []
    for _ in range(args.repeats):
        for variant in VARIANTS:
            home = root / variant
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(base, home)
            tree = trees[variant]
            env = {
                **os.environ,
                "DAYBREAK_HOME": str(home),
                "PYTHONPATH": os.pathsep.join([str(tree), str(tree / "include"), str(PROJECT_ROOT)]),
            }
            # this file as a script, so that `jobs` and `daybreak` come from the variant's checkout
            command = [sys.executable, __file__, "--baseline", args.baseline]
            command += ["--child", str(home), "--last", last.isoformat()]
            command += ["--threads", "4"] if variant == "threads" else []
            loads.append(os.getloadavg()[0])
            process = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
            if process.returncode != 0 or not lines:
                print(f"{variant}: failed (exit {process.returncode})\n{process.stderr[-3000:]}")
                return 1
            runs[variant].append(json.loads(lines[-1][len("RESULT ") :]))
            warehouse = Settings(home=home, dataset="synthetic").warehouse_path
            with duckdb.connect(str(warehouse), read_only=True) as connection:
                checksums[variant] = rounded_checksums(connection, home=str(home))

    medians = {v: {k: statistics.median(run[k] for run in runs[v]) for k in MEDIAN_KEYS} for v in VARIANTS}
    print(
        f"demo night {last} after the night before it, in process; medians of {args.repeats} runs each, "
        f"alternating; 1-minute load average at the runs' starts {min(loads):.1f}..{max(loads):.1f}"
    )
    print(f"{'seconds':34} " + " ".join(f"{v:>10}" for v in VARIANTS) + "   x baseline")
    for key in MEDIAN_KEYS:
        row = " ".join(f"{medians[v][key]:10.2f}" for v in VARIANTS)
        ratios = ", ".join(
            f"{medians[v][key] / medians['baseline'][key]:.2f}"
            for v in VARIANTS[1:]
            if medians["baseline"][key]
        )
        print(f"{key:34} {row}   {ratios}")
    for variant in VARIANTS:
        reasons = sorted({run["reparse"] or "none (partial parsing)" for run in runs[variant]})
        print(
            f"{variant}: {runs[variant][-1]['nodes']} dbt nodes; full re-parse because: {'; '.join(reasons)}"
        )
    for variant in VARIANTS[1:]:
        differ = sorted(
            name
            for name in checksums["baseline"].keys() | checksums[variant].keys()
            # ingest's log names each home's own landing path: it differs between any two homes
            if checksums["baseline"].get(name) != checksums[variant].get(name)
            and name != "monitoring.ingest_runs"
        )
        print(
            f"warehouse, {variant} against baseline: "
            + (f"differ: {', '.join(differ)}" if differ else "equal")
        )
    print(f"data homes: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
