"""The same history load and night on DuckDB and on Spark local, stage by stage, side by side.

The synthetic shop is simulated once (`bench.throughput.simulate_history`, `--orders-per-day` scales the lines);
each engine then gets its own data home whose landing folder is a link to those files, and runs, in a process of
its own (so that its environment, Spark sessions and resource counters are its own): the history load up to the
day before the night (`jobs.pipeline.load_history`'s steps, one by one so each is measured), then the night
(`jobs.pipeline.STEPS` through `step_function`). The default night, 2024-12-29, is a Sunday: the forecasts'
scheduled retrain, so the night retrains every series, as the history load does (no champion yet).

Every stage is measured for wall seconds, CPU seconds and peak memory of the whole process tree, because on Spark
most of the work is not in this process: dbt runs as a subprocess with its own Spark driver (a JVM), and the model
steps' SparkSession is a JVM child of this process with Python workers under it. CPU seconds are this process's
plus its descendants': the larger of `getrusage(RUSAGE_CHILDREN)` (descendants reaped, with everything they
reaped) and a sampler's sum over live descendants (every 0.2 s, `psutil`; a JVM outliving the stage or orphaned
by its parent is only seen this way). Peak memory is the sampled maximum of the tree's summed RSS (pages shared
after a fork are counted in each process, so it overstates Spark's forked Python workers). CPU seconds are the
steadier figure on a shared machine: wall seconds move with the other processes' load, recorded with each stage.

Per-line cost: the history's transform (and ingest) CPU seconds per line. Per-series cost: the retrain's CPU
seconds per series retrained, and the per-series fit time the forecast job measures (`fit_seconds`). The two
engines' outputs are compared at the end: row counts and sums of the daily sales mart, and the forecasts row for
row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENGINES = ("duckdb", "spark")
SAMPLE_SECONDS = 0.2
YHAT_TOLERANCE = 1e-6
"""Largest relative difference between the engines' forecasts still called equal (floating-point order only)."""


class TreeSampler:
    """Samples this process's descendants: their CPU seconds (user + system, each process's own) and the tree's
    summed RSS, every `SAMPLE_SECONDS` in a daemon thread; `peak_rss` is the maximum since the last `reset`."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self._cpu: dict[tuple[int, float], float] = {}
        self._lock = threading.Lock()
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> None:
        import psutil

        rss = self._me.memory_info().rss
        for child in self._me.children(recursive=True):
            try:
                with child.oneshot():
                    times = child.cpu_times()
                    key = (child.pid, child.create_time())
                    rss += child.memory_info().rss
            except psutil.Error:  # ended between listing and reading
                continue
            with self._lock:
                self._cpu[key] = times.user + times.system
        with self._lock:
            self.peak_rss = max(self.peak_rss, rss)

    def descendants_cpu(self) -> dict[tuple[int, float], float]:
        self.sample()
        with self._lock:
            return dict(self._cpu)

    def reset_peak(self) -> None:
        with self._lock:
            self.peak_rss = 0
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def measure(sampler: TreeSampler, stage: str, call) -> dict:
    """Run `call()` and return the stage's wall and CPU seconds, peak tree RSS, load average and the result."""
    sampler.reset_peak()
    own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    seen = sampler.descendants_cpu()
    began = time.perf_counter()
    try:
        result = call()
    except Exception as error:  # noqa: BLE001 - a failed stage is a measurement too; the next stages still run
        result = {"error": f"{type(error).__name__}: {error}"[:300]}
    wall = time.perf_counter() - began
    now = sampler.descendants_cpu()
    sampled = sum(seconds - seen.get(key, 0.0) for key, seconds in now.items())
    reaped_delta = cpu_seconds(resource.getrusage(resource.RUSAGE_CHILDREN)) - cpu_seconds(reaped)
    own_delta = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - cpu_seconds(own)
    row = {
        "stage": stage,
        "wall": round(wall, 2),
        "cpu": round(own_delta + max(sampled, reaped_delta), 2),
        "peak_mb": round(sampler.peak_rss / 2**20),
        "load": round(os.getloadavg()[0], 1),
        "result": json.loads(json.dumps(result, default=str)),
    }
    print(
        f"  {stage:20} wall {row['wall']:8.1f} s  cpu {row['cpu']:8.1f} s  peak {row['peak_mb']:6,} MB  "
        f"load {row['load']}" + (f"  FAILED {result['error']}" if "error" in result else ""),
        flush=True,
    )
    return row


def run_engine(night: dt.date, out: Path) -> None:
    """In an engine's own process (its DAYBREAK_* set by the parent): the history load up to the day before
    `night`, then `night`; every stage's measurement to `out` as JSON."""
    from daybreak.core.settings import get_settings
    from daybreak.privacy.local_keys import ensure_local_keys
    from jobs import ingest
    from jobs.pipeline import STEPS, landed_days, step_function

    settings = get_settings()
    ensure_local_keys(settings)
    until = night - dt.timedelta(days=1)
    days = [day for day in landed_days(settings) if day <= until]
    history_run, night_run = f"history__{until.isoformat()}", f"bench__{night.isoformat()}"
    sampler = TreeSampler()
    rows = [
        measure(
            sampler,
            "history ingest",
            lambda: {
                "rows_loaded": sum(s["rows_loaded"] for s in ingest.run_days(days, history_run, settings))
            },
        )
    ]
    for name in STEPS[
        1:
    ]:  # load_history's order: privacy, transform (full refresh), then the rest as at night
        options = {"full_refresh": True} if name == "transform" else {}
        rows.append(
            measure(
                sampler,
                f"history {name}",
                lambda name=name, options=options: step_function(name)(
                    until, history_run, settings, **options
                ),
            )
        )
    for name in STEPS:
        rows.append(
            measure(
                sampler, f"night {name}", lambda name=name: step_function(name)(night, night_run, settings)
            )
        )
    sampler.stop()
    out.write_text(json.dumps({"engine": settings.engine, "master": settings.spark_master, "stages": rows}))


def engine_home(root: Path, engine: str, landing: Path) -> Path:
    """`root/engine`, a data home whose synthetic landing folder links to the shared simulated files."""
    home = root / engine
    target = home / "landing" / "synthetic"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(landing, target_is_directory=True)
    return home


def start_engine(engine: str, home: Path, night: dt.date, master: str, *, reuse: bool = False) -> dict:
    """Run `run_engine` in a new process with the engine's settings; returns its stages and the whole process
    tree's CPU seconds as reaped. With `reuse`, an engine already measured in `home` is read back instead."""
    out = home / "bench-engines.json"
    if reuse and out.exists():
        print(f"{engine}: reusing the measurements in {out}", flush=True)
        return json.loads(out.read_text())
    env = {
        **os.environ,
        "DAYBREAK_HOME": str(home),
        "DAYBREAK_DATASET": "synthetic",
        "DAYBREAK_ENGINE": engine,
        "DAYBREAK_SPARK_MASTER": master,
    }
    command = [sys.executable, "-m", "bench", "engines", "--child", str(out), "--night", night.isoformat()]
    print(f"{engine}: data home {home}", flush=True)
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{engine} run failed with {process.returncode}")
    measured = json.loads(out.read_text())
    measured["total_wall"] = time.perf_counter() - began
    measured["total_cpu"] = cpu_seconds(usage)
    out.write_text(json.dumps(measured))
    return measured


def compare(homes: dict[str, Path]) -> list[str]:
    """The engines' outputs side by side: the daily sales mart's rows and revenue, the forecasts row for row."""
    import duckdb

    from daybreak.core.settings import Settings

    lines = []
    with duckdb.connect() as connection:
        for engine, home in homes.items():
            path = Settings(home=home, engine=engine).warehouse_path
            connection.execute(f"attach '{path}' as on_{engine} (read_only)")  # the bench's own folder
        sales = {
            engine: connection.execute(
                f"select count(*), round(sum(revenue), 2) from on_{engine}.marts.fct_daily_sales"  # noqa: S608
            ).fetchone()
            for engine in homes
        }
        forecasts = {
            engine: connection.execute(
                f"select count(*) from on_{engine}.predictions.forecasts"  # noqa: S608
            ).fetchone()[0]
            for engine in homes
        }
        matched, worst = connection.execute(
            "select count(*), max(abs(d.yhat - s.yhat) / greatest(abs(d.yhat), 1)) "
            "from on_duckdb.predictions.forecasts d join on_spark.predictions.forecasts s "
            "using (as_of_date, series_id, target_date)"
        ).fetchone()
    same_sales = len(set(sales.values())) == 1
    same_forecasts = (
        len(set(forecasts.values())) == 1
        and matched == forecasts["duckdb"]
        and (worst or 0.0) <= YHAT_TOLERANCE
    )
    lines.append(
        "marts.fct_daily_sales rows, revenue: "
        + ", ".join(f"{engine} {rows:,} / {revenue:,.2f}" for engine, (rows, revenue) in sales.items())
        + (" -> equal" if same_sales else " -> DIFFER")
    )
    lines.append(
        "predictions.forecasts rows: "
        + ", ".join(f"{engine} {rows:,}" for engine, rows in forecasts.items())
        + f"; {matched:,} matched on (as_of_date, series_id, target_date), largest relative yhat difference "
        + f"{worst or 0.0:.2e}"
        + (" -> equal" if same_forecasts else " -> DIFFER")
    )
    return lines


def ratio(spark: float, duckdb: float) -> str:
    return f"{spark / duckdb:7.1f}" if duckdb > 0.05 else f"{'-':>7}"


def report(results: dict[str, dict]) -> None:
    duck, spark = results["duckdb"]["stages"], results["spark"]["stages"]
    print(f"{'':22}{'DuckDB':>26}  {'Spark ' + results['spark']['master']:>26}  {'Spark/DuckDB':>15}  load")
    print(
        f"{'stage':22}{'wall s':>9}{'cpu s':>9}{'peak MB':>8}  {'wall s':>9}{'cpu s':>9}{'peak MB':>8}  "
        f"{'wall':>7} {'cpu':>7}  d/s"
    )
    for d, s in zip(duck, spark, strict=True):
        print(
            f"{d['stage']:22}{d['wall']:9.1f}{d['cpu']:9.1f}{d['peak_mb']:8,}  {s['wall']:9.1f}{s['cpu']:9.1f}"
            f"{s['peak_mb']:8,}  {ratio(s['wall'], d['wall'])} {ratio(s['cpu'], d['cpu'])}  "
            f"{d['load']}/{s['load']}"
        )
    (dw, dc), (sw, sc) = (
        [sum(row[key] for row in rows) for key in ("wall", "cpu")] for rows in (duck, spark)
    )
    print(
        f"{'all stages':22}{dw:9.1f}{dc:9.1f}{'':8}  {sw:9.1f}{sc:9.1f}{'':8}  {ratio(sw, dw)} {ratio(sc, dc)}"
    )
    for engine, result in results.items():
        stages = {row["stage"]: row for row in result["stages"]}
        transform, ingest = stages["history transform"], stages["history ingest"]
        lines = ingest["result"]["rows_loaded"]
        print(
            f"{engine}: per line (history, {lines:,} lines): transform {transform['cpu'] / lines * 1e6:.1f} us CPU "
            f"({transform['wall'] / lines * 1e6:.1f} us wall), ingest {ingest['cpu'] / lines * 1e6:.1f} us CPU"
        )
        for stage in ("history forecast", "night forecast"):
            row = stages[stage]
            retrained = row["result"].get("retrained", 0)
            if retrained:
                print(
                    f"{engine}: per series ({stage}, {retrained} retrained): {row['cpu'] / retrained:.1f} s CPU, "
                    f"{row['wall'] / retrained:.1f} s wall, fit {row['result']['fit_seconds'] / retrained:.1f} s "
                    "(the forecast job's per-series fit time)"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench engines", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="the benchmark's folder (default: a new temporary folder)")
    parser.add_argument("--orders-per-day", type=float, default=124.0, help="124 gives about 1 million lines")
    parser.add_argument("--start", default="2023-01-01")
    parser.add_argument(
        "--night", default="2024-12-29", help="the night after the history (a Sunday: retrain)"
    )
    parser.add_argument("--master", default="local[2]", help="Spark's master (DAYBREAK_SPARK_MASTER)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="in an existing --home, reuse its simulated exports and every engine already measured there",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # an engine's process: where to write its stages
    args = parser.parse_args(argv)
    night = dt.date.fromisoformat(args.night)
    if args.child:
        run_engine(night, Path(args.child))
        return 0

    from bench.throughput import simulate_history

    root = Path(args.home or tempfile.mkdtemp(prefix="daybreak-bench-engines-"))
    landing = root / "landing"
    if args.reuse and landing.exists():
        print(f"reusing the simulated exports in {landing}", flush=True)
    else:
        start = dt.date.fromisoformat(args.start)
        summary, seconds = simulate_history(landing, start, night, args.orders_per_day)
        print(f"simulated {summary.lines_written:,} lines, {start}..{night}, in {seconds:.1f} s", flush=True)
    homes = {engine: engine_home(root, engine, landing) for engine in ENGINES}
    results = {
        engine: start_engine(engine, homes[engine], night, args.master, reuse=args.reuse)
        for engine in ENGINES
    }
    (root / "bench-engines.json").write_text(json.dumps(results, indent=1))
    print(
        f"history {args.start}..{night - dt.timedelta(days=1)}, night {night}; load average 1 min at each stage's "
        "end (DuckDB/Spark)"
    )
    report(results)
    for line in compare(homes):
        print(line)
    print(f"benchmark folder: {root}")
    return 0
