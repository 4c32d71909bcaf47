"""Ingest's logic: the lake layout (`lake`), the monitoring accounting (`accounting`) and one day's ingest (`day`).

The mapping of an export onto canonical sales lines and its row rules are `daybreak.ingest.canonical`; `jobs.ingest`
is the entry point that opens the warehouse and runs nights through `day.ingest_days`.
"""
