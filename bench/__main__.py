"""`python -m bench NAME [options]`: run one benchmark and print its table."""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = {
    "demo_stages": "bench.demo_stages",
    "drift_report": "bench.drift_report",
    "monitoring_detection": "bench.monitoring_detection",
    "monitoring_night": "bench.monitoring_night",
    "incremental": "bench.incremental",
    "pages": "bench.pages",
    "pseudonyms": "bench.pseudonyms",
    "segmentation": "bench.segmentation",
    "throughput": "bench.throughput",
    "ingest_memory": "bench.ingest_memory",
    "forecast_store_item": "bench.forecast_store_item",
    "forecast_hourly": "bench.forecast_hourly",
    "forecast_scale": "bench.forecast_scale",
    "dbt_tasks": "bench.dbt_tasks",
    "dbt_night": "bench.dbt_night",
    "engines": "bench.engines",
    "task_imports": "bench.task_imports",
    "night_parts": "bench.night_parts",
    "customer_value_retail": "bench.customer_value_retail",
    "customer_value_scale": "bench.customer_value_scale",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    args, rest = parser.parse_known_args(argv)
    module = importlib.import_module(BENCHMARKS[args.name])
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
