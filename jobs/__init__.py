"""Daybreak's job entry points: one module per pipeline step, each runnable without Airflow.

Every job exposes `run(business_date, run_id, settings=None) -> dict`, the single call an Airflow task makes, and
is reachable from the `daybreak` command line (`jobs.cli`). Jobs are the I/O edges: they read the lake or the
warehouse, call pure functions in `daybreak`, and write one partition in one transaction.
"""
