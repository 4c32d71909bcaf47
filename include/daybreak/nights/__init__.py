"""The nightly steps around the pure models: what each night reads, decides and writes.

Forecasts (`forecast`), segments (`segment`), customer value (`customer_value`), drift (`drift`) and the
monitoring that decides retraining (`monitoring`, `retraining`, `references`); a trained version's promotion recorded
once and in history order (`decisions`); dbt run in the job's process (`dbt_invocation`); the planners' overrides
(`overrides`); the privacy step that carries out erasures and retention (`erasure`, `scrub`, `retention`); and the
same work on Spark (`spark`, `spark_models`).
`jobs/` call these; the models they call are `daybreak.models`, the tables they write `daybreak.warehouse`.
"""
