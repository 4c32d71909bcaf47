"""The dashboards' read-only window on the data: nothing in this package writes.

`serving` opens the published serving copy of the warehouse read-only and runs every query; `relations` names each
relation the pages read (dbt's views and marts wherever one exposes what a page shows, else the Python jobs'
declared tables); one module per page holds that page's queries (`overview`, `forecast`, `segments`,
`model_health`, `pipeline`, `review`), `series` the forecasts and actuals several pages share, `artefacts` the
files the night leaves beside the warehouse, and `nights` what Airflow says of the night in progress. Who may read customer-level rows is checked in `identity`; the one
write the app makes, a planner's override, is `planner_overrides`, outside this package.
"""
