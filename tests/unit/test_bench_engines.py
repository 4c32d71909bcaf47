"""bench.engines measures a stage's CPU in the processes it starts too: on Spark most of the work is in a JVM."""

from __future__ import annotations

import subprocess
import sys

from bench.engines import TreeSampler, engine_home, measure

BURN = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass"


def test_measure_counts_a_child_process_cpu_and_returns_the_result():
    sampler = TreeSampler()
    try:
        row = measure(
            sampler, "burn", lambda: {"code": subprocess.run([sys.executable, "-c", BURN]).returncode}
        )
    finally:
        sampler.stop()
    assert row["stage"] == "burn"
    assert row["result"] == {"code": 0}
    assert row["cpu"] >= 0.6
    assert row["peak_mb"] > 0


def test_engine_home_links_the_shared_landing_folder(tmp_path):
    landing = tmp_path / "landing"
    (landing / "2024-01-01").mkdir(parents=True)
    home = engine_home(tmp_path, "spark", landing)
    assert home == tmp_path / "spark"
    assert (home / "landing" / "synthetic" / "2024-01-01").is_dir()
    assert engine_home(tmp_path, "spark", landing) == home  # a second run reuses the link
