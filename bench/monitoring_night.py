"""Where a demo night's monitoring step (`jobs.drift.run`) spends its time, part by part, in one run.

Builds the demo shop (the default synthetic dataset, seed 42) and loads its history up to 2024-12-23, then runs the
nights 2024-12-24 (open) and 2024-12-25 (Christmas, closed: no lines) and prepares 2024-12-26 (open), unless
`--home` names a data home this benchmark built before. Then, for the open and the closed night:

- the whole step, `jobs.drift.run`, in this process (Evidently already imported) and in a fresh process (as an
  Airflow task runs it, the import included);
- its parts: importing Evidently, each Evidently `Report.run` in the step (which computes the statistics and also
  builds every chart of the report), the HTML strings and files, and the warehouse and reference reads;
- the models' checks' reports rendered on demand (`monitoring.write_reports`), which the step no longer runs: its
  rows come from the distance tests directly (`daybreak.models.drift_distances`).

Ratios are to the whole step in process.

    python -m bench monitoring_night [--home /tmp/bench-monitoring-night] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HISTORY_END = dt.date(2024, 12, 23)
OPEN, CLOSED, PREPARED = dt.date(2024, 12, 26), dt.date(2024, 12, 25), dt.date(2024, 12, 26)


def build(home: Path) -> None:
    """The demo shop loaded to HISTORY_END, nights run to Christmas, the day after ingested and transformed."""
    from daybreak.core.settings import get_settings
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs import ingest, privacy, transform
    from jobs.pipeline import load_history, run_night

    settings = get_settings()
    simulate_synthetic(settings.landing_dir, start=dt.date(2023, 1, 1), end=dt.date(2024, 12, 31), seed=42)
    load_history(HISTORY_END, settings)
    for day in (HISTORY_END + dt.timedelta(days=1), CLOSED):
        run_night(day, settings=settings)
    for step in (ingest, privacy, transform):
        step.run(PREPARED, "bench", settings)
    (home / ".bench-monitoring-night").write_text("built\n", encoding="utf-8")


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def parts(day: dt.date) -> dict[str, float | list[float]]:
    """The step's parts for `day`, each timed on its own (the sum is close to, not exactly, the whole step)."""
    import evidently.core.report as report_module

    from daybreak.core.settings import get_settings
    from daybreak.datasets import load_dataset_config
    from daybreak.nights import monitoring
    from daybreak.nights.drift import compare
    from daybreak.warehouse.connection import connect

    settings = get_settings()
    config = load_dataset_config(settings.dataset)
    runs: list[float] = []
    original = report_module.Report.run

    def counting(self, *args, **kwargs):
        seconds, snapshot = timed(original, self, *args, **kwargs)
        runs.append(seconds)
        return snapshot

    report_module.Report.run = counting
    try:
        whole_compare, (_, snapshot) = timed(
            compare, settings.warehouse_path, day, config.drift_reference_days, config.drift_current_days
        )
        with connect(settings.warehouse_path, read_only=True) as connection:
            whole_nightly, night = timed(monitoring.nightly, connection, config, day)
    finally:
        report_module.Report.run = original
    html = 0.0
    if snapshot is not None:
        html += timed(snapshot.get_html_str, as_iframe=False)[0]
    checks = whole_compare + whole_nightly
    with connect(settings.warehouse_path, read_only=True) as connection:
        reading = timed(read_references, connection, day)[0]
    on_demand = timed(monitoring.write_reports, settings, config, day)[0]
    return {
        "Evidently Report.run (every check)": sum(runs),
        "reports run": runs,
        "the rest of the checks (reads, samples, rows)": checks - sum(runs),
        "of which the champions' references (rows and samples)": reading,
        "HTML strings": html,
        "the checks' reports on demand (write_reports, not in the step)": on_demand,
    }


def read_references(connection, day: dt.date) -> None:
    """What every night reads of the champions' references: their rows and stored samples, both kinds."""
    from daybreak.nights import forecast, references, segment
    from daybreak.warehouse import registry

    as_of = day - dt.timedelta(days=1)
    champion = registry.champion(connection, segment.MODEL_KIND, segment.MODEL_ID, as_of=as_of)
    if champion is not None:
        references.load(connection, segment.MODEL_KIND, {segment.MODEL_ID: champion["version"]})
    champions = registry.champions(connection, forecast.MODEL_KIND, as_of=as_of)
    references.load(connection, forecast.MODEL_KIND, {k: v["version"] for k, v in champions.items()})


def fresh_process(day: dt.date) -> float:
    """`jobs.drift.run` in a new interpreter, as an Airflow task runs it (imports included), wall seconds."""
    code = (
        "import datetime as dt, time; t = time.perf_counter(); from jobs import drift; "
        f"drift.run(dt.date.fromisoformat('{day}'), 'bench'); print(time.perf_counter() - t)"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=os.environ.copy())
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench monitoring_night", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--home", default="/tmp/bench-monitoring-night")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    home = Path(args.home)
    os.environ["DAYBREAK_HOME"] = str(home)
    os.environ["DAYBREAK_DATASET"] = "synthetic"
    if not (home / ".bench-monitoring-night").exists():
        build(home)

    importing = timed(subprocess.run, [sys.executable, "-c", "import evidently.presets"], check=True)[0]
    bare = timed(subprocess.run, [sys.executable, "-c", "pass"], check=True)[0]
    print(f"import evidently.presets in a fresh process: {importing - bare:.2f} s")
    from jobs import drift

    for label, day in (("open", OPEN), ("closed", CLOSED)):
        drift.run(day, "bench")  # warm: Evidently imported, files cached by the OS
        whole = [timed(drift.run, day, "bench")[0] for _ in range(args.repeat)]
        fresh = [fresh_process(day) for _ in range(args.repeat)]
        step = statistics.median(whole)
        runs = ", ".join(f"{w:.2f}" for w in whole)
        print(f"\n{label} night {day}: drift.run in process {step:.2f} s (runs {runs})")
        print(f"  in a fresh process (as an Airflow task): {statistics.median(fresh):.2f} s")
        for name, seconds in parts(day).items():
            if name == "reports run":
                print(f"  {name}: {len(seconds)}, seconds each {', '.join(f'{s:.2f}' for s in seconds)}")
                continue
            print(f"  {name}: {seconds:.3f} s ({seconds / step:.0%} of the step)")
    return 0
